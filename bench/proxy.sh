#!/usr/bin/env bash
# Benchmark: wrk straight at the reference backend, and through stormgate (traffic log on, no faults),
# nginx and haproxy (Debian packages, configs generated into a temp dir, loopback ports), interleaved
# and repeated. Prints requests/s, p50/p99 latency and CPU-µs per request of each proxy process
# (from /proc/PID/stat utime+stime before/after, divided by the requests wrk completed).
#
#   bench/proxy.sh [ROUNDS] [SECONDS]      env: STORMGATE=path/to/stormgate CONNS=32 THREADS=1
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${CONNS:-32}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STORMGATE:-$HERE/build/app/stormgate}
PATH_UNDER_TEST=/api/credits/balance/x

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$BIN" ] || { echo "stormgate binary not found at $BIN (build it, or set STORMGATE=)"; exit 69; }

TMP=$(mktemp -d /tmp/stormgate-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_line() {  # FILE PATTERN -> the URL of the first matching "listening" line
  for _ in $(seq 100); do
    if grep -q "$2" "$1" 2>/dev/null; then grep "$2" "$1" | head -1 | awk '{print $3}'; return; fi
    sleep 0.1
  done
  echo "timeout waiting for $2 in $1" >&2; cat "$1" >&2; exit 70
}
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 70; }

# --- the upstream: the reference backend ------------------------------------------------------
"$BIN" backend --listen 127.0.0.1:0 --journal "$TMP/credits.jsonl" --fsync never >"$TMP/backend.out" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
BACKEND_URL=$(wait_line "$TMP/backend.out" "listening backend")
BACKEND_PORT=${BACKEND_URL##*:}

# --- stormgate (traffic log on, no faults) ------------------------------------------------------
"$BIN" proxy --route "bench=127.0.0.1:0->$BACKEND_URL" --admin 127.0.0.1:0 --traffic-log "$TMP/traffic.jsonl" \
  --threads "${THREADS:-1}" >"$TMP/stormgate.out" 2>"$TMP/stormgate.err" &
SG_PID=$!; PIDS+=("$SG_PID")
SG_URL=$(wait_line "$TMP/stormgate.out" "listening route:bench")

# --- nginx (access log on, buffered; one worker) -------------------------------------------------
NGINX_PORT=$(free_port)
cat >"$TMP/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log $TMP/nginx-access.log combined buffer=64k flush=1s;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGX
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
wait_port "$NGINX_PORT"

# --- haproxy (one thread, http mode, keep-alive both sides) -------------------------------------
HAPROXY_PORT=$(free_port)
cat >"$TMP/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$BACKEND_PORT
HAP
"$HAPROXY" -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.out" 2>&1 &
HAPROXY_PID=$!; PIDS+=("$HAPROXY_PID")
wait_port "$HAPROXY_PORT"

cpu_ticks() {  # PIDS... -> utime+stime summed over the processes and their children (nginx workers)
  local total=0 p c
  for p in "$@"; do
    for c in "$p" $(pgrep -P "$p" || true); do
      [ -r "/proc/$c/stat" ] || continue
      total=$((total + $(awk '{print $14 + $15}' "/proc/$c/stat")))
    done
  done
  echo "$total"
}
TCK=$(getconf CLK_TCK)

to_ms() {  # wrk latency "812.00us" / "1.20ms" / "1.01s" -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

declare -A URL=( [direct]="$BACKEND_URL" [stormgate]="$SG_URL" [nginx]="http://127.0.0.1:$NGINX_PORT" [haproxy]="http://127.0.0.1:$HAPROXY_PORT" )
declare -A WATCH=( [direct]="$BACKEND_PID" [stormgate]="$SG_PID" [nginx]="$NGINX_PID" [haproxy]="$HAPROXY_PID" )
ORDER=(direct stormgate nginx haproxy)
RESULTS="$TMP/results.tsv"
: >"$RESULTS"

for name in "${ORDER[@]}"; do wrk -t1 -c"$CONNS" -d1s "${URL[$name]}$PATH_UNDER_TEST" >/dev/null; done  # warm-up
echo "wrk -t1 -c$CONNS -d${SECS}s --latency URL$PATH_UNDER_TEST; $ROUNDS rounds, interleaved; $(nproc) cores"
for round in $(seq "$ROUNDS"); do
  for name in "${ORDER[@]}"; do
    before=$(cpu_ticks ${WATCH[$name]})
    out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "${URL[$name]}$PATH_UNDER_TEST")
    after=$(cpu_ticks ${WATCH[$name]})
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
    p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    cpu_us=$(awk -v t=$((after - before)) -v k="$TCK" -v n="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / k / n }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu_us" "$errs" >>"$RESULTS"
    printf '  round %s %-10s %10s req/s  p50 %8s ms  p99 %8s ms  cpu %6s µs/req %s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu_us" "$errs"
  done
done

echo
echo "median over $ROUNDS rounds (cpu: the named process — for 'direct' the backend itself; for the proxies the proxy alone)"
printf '| %-10s | %10s | %8s | %8s | %12s |\n' target "req/s" "p50 ms" "p99 ms" "cpu µs/req"
printf '|%s|%s|%s|%s|%s|\n' ------------ ------------ ---------- ---------- --------------
for name in "${ORDER[@]}"; do
  med() { awk -F'\t' -v n="$name" -v c="$1" '$2 == n {print $c}' "$RESULTS" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  printf '| %-10s | %10s | %8s | %8s | %12s |\n' "$name" "$(med 3)" "$(med 4)" "$(med 5)" "$(med 6)"
done
echo
lines=$(grep -c '"kind":"exchange"' "$TMP/traffic.jsonl" || true)
echo "stormgate traffic log: $lines exchange records, $(du -h "$TMP/traffic.jsonl" | cut -f1)"
