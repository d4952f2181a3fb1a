#!/usr/bin/env bash
# Benchmark: wrk straight at the reference backend, and through stormgate (traffic log on, faults
# configured on the benchmark's own route that are decided per request but never fire), nginx and
# haproxy (Debian packages, configs generated into a temp dir, loopback ports, access logs on),
# interleaved and repeated at each connection count. Prints requests/s, p50/p99 latency and CPU-µs
# per request of each proxy process (utime+stime from /proc/PID/stat before/after, divided by the
# requests wrk completed; user and kernel apart), the medians, stormgate's ratio to nginx and haproxy,
# and, where `perf` can count tracepoints, the system calls each proxy makes per request.
#
#   bench/proxy.sh [ROUNDS] [SECONDS]
#   env: STORMGATE=path/to/stormgate  CONNS="50 200"  THREADS=1 (stormgate's --workers)
#        STORMGATE_B=path/to/another/stormgate: also that build, as "stormgate-b", in the same rounds
#        SCALING=1: also stormgate with 1 and with 2 workers under wrk -t2 -c200 (means something
#        only with cores to spare for wrk and the backend)
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS_LIST=${CONNS:-50 200}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STORMGATE:-$HERE/build/app/stormgate}
PATH_UNDER_TEST=/api/credits/balance/x

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
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

source "$(dirname "$0")/common.sh"

# --- the upstream: the reference backend ------------------------------------------------------
"$BIN" backend --listen 127.0.0.1:0 --journal "$TMP/credits.jsonl" --fsync never >"$TMP/backend.out" 2>&1 &
BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
BACKEND_URL=$(wait_line "$TMP/backend.out" "listening backend")
BACKEND_PORT=${BACKEND_URL##*:}

# --- stormgate (traffic log on; faults configured, matched per request, never fired) --------------
cat >"$TMP/faults.toml" <<TOML
[[faults]]
name = "bench-never-delay"      # the benchmark's own route and path, probability 0: decided, not fired
route = "bench"
probability = 0.0
match = { method = "GET", path = "/api/credits/balance/*" }
action = { delay = { ms = 50 } }

[[faults]]
name = "bench-consume-blackout" # a path the benchmark does not send
route = "bench"
match = { method = "POST", path = "/api/credits/consume" }
action = { blackout = { status = 503 } }
TOML
declare -A SG_PIDS
start_stormgate() {  # NAME WORKERS [BINARY [ARGS...]]; sets SG_PIDS[NAME] and SG_URLS[NAME]
  local name=$1 workers=$2 bin=${3:-$BIN}
  shift $(($# < 3 ? $# : 3))
  "$bin" proxy --config "$TMP/faults.toml" --route "bench=127.0.0.1:0->$BACKEND_URL" --admin 127.0.0.1:0 \
    --traffic-log "$TMP/traffic-$name.jsonl" --workers "$workers" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  SG_PIDS[$name]=$!; PIDS+=("$!")
  SG_URLS[$name]=$(wait_line "$TMP/$name.out" "listening route:bench")
  SG_IO[$name]=$(proxy_io "$TMP/$name.out")
}
declare -A SG_IO
declare -A SG_URLS
start_stormgate stormgate "${THREADS:-1}"
SG_URL=${SG_URLS[stormgate]}
SG_PID=${SG_PIDS[stormgate]}
# stormgate runs on io_uring where it can (--io auto); then the same proxy on epoll runs beside it
if [ "${SG_IO[stormgate]}" = io_uring ]; then
  start_stormgate stormgate-epoll "${THREADS:-1}" "$BIN" --io epoll
fi
if [ -n "${STORMGATE_B:-}" ]; then
  [ -x "$STORMGATE_B" ] || { echo "STORMGATE_B=$STORMGATE_B is not an executable"; exit 69; }
  start_stormgate stormgate-b "${THREADS:-1}" "$STORMGATE_B"
fi

# --- nginx (access log on, buffered; one worker) -------------------------------------------------
NGINX_PORT=$(free_port)
write_nginx_conf "$TMP" "$NGINX_PORT" "$BACKEND_PORT"
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

cpu_ticks() {  # PIDS... -> "utime stime" summed over the processes and their children (nginx workers)
  local u=0 k=0 p c cu ck
  for p in "$@"; do
    for c in "$p" $(pgrep -P "$p" || true); do
      [ -r "/proc/$c/stat" ] || continue
      read -r cu ck < <(awk '{print $14, $15}' "/proc/$c/stat")
      u=$((u + cu)); k=$((k + ck))
    done
  done
  echo "$u $k"
}
TCK=$(getconf CLK_TCK)

to_ms() {  # wrk latency "812.00us" / "1.20ms" / "1.01s" -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

declare -A URL=( [direct]="$BACKEND_URL" [stormgate]="$SG_URL" [nginx]="http://127.0.0.1:$NGINX_PORT" [haproxy]="http://127.0.0.1:$HAPROXY_PORT" )
declare -A WATCH=( [direct]="$BACKEND_PID" [stormgate]="$SG_PID" [nginx]="$NGINX_PID" [haproxy]="$HAPROXY_PID" )
ORDER=(direct stormgate)
for extra in stormgate-epoll stormgate-b; do
  [ -n "${SG_PIDS[$extra]:-}" ] || continue
  URL[$extra]=${SG_URLS[$extra]}; WATCH[$extra]=${SG_PIDS[$extra]}; ORDER+=("$extra")
done
ORDER+=(nginx haproxy)
RESULTS="$TMP/results.tsv"
: >"$RESULTS"

measure() {  # CONNS ROUND NAME URL WATCH_PID [WRK_THREADS] -> one line in RESULTS
  local conns=$1 round=$2 name=$3 url=$4 pid=$5 threads=${6:-1} before after out reqs rps p50 p99 errs cpu user sys
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$threads" -c"$conns" -d"${SECS}s" --latency "$url$PATH_UNDER_TEST")
  after=$(cpu_ticks "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  read -r cpu user sys < <(awk -v b="$before" -v a="$after" -v k="$TCK" -v n="$reqs" 'BEGIN {
    split(b, x, " "); split(a, y, " "); u = (y[1] - x[1]) * 1e6 / k / n; s = (y[2] - x[2]) * 1e6 / k / n
    printf "%.1f %.1f %.1f\n", u + s, u, s }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$conns" "$round" "$name" "$rps" "$p50" "$p99" "$cpu" "$user" "$sys" "$errs" >>"$RESULTS"
  printf '  c=%-4s round %s %-15s %10s req/s  p50 %8s ms  p99 %8s ms  cpu %6s µs/req (user %s, kernel %s) %s\n' \
    "$conns" "$round" "$name" "$rps" "$p50" "$p99" "$cpu" "$user" "$sys" "$errs"
}
med() {  # CONNS NAME COLUMN -> the median over the rounds
  awk -F'\t' -v c="$1" -v n="$2" -v k="$3" '$1 == c && $3 == n {print $k}' "$RESULTS" | sort -g |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

for name in "${!SG_IO[@]}"; do echo "$name: io ${SG_IO[$name]:-?}"; done
echo "wrk -t1 -cN -d${SECS}s --latency URL$PATH_UNDER_TEST; N in: $CONNS_LIST; $ROUNDS rounds, interleaved; $(nproc) cores"
for conns in $CONNS_LIST; do
  for name in "${ORDER[@]}"; do wrk -t1 -c"$conns" -d1s "${URL[$name]}$PATH_UNDER_TEST" >/dev/null; done  # warm-up
  for round in $(seq "$ROUNDS"); do
    for name in "${ORDER[@]}"; do measure "$conns" "$round" "$name" "${URL[$name]}" "${WATCH[$name]}"; done
  done
done

echo
echo "medians over $ROUNDS rounds (cpu: the named process alone; for 'direct' the backend itself)"
for conns in $CONNS_LIST; do
  echo
  echo "c=$conns"
  printf '| %-15s | %10s | %8s | %8s | %10s | %9s | %9s | %9s |\n' target "req/s" "p50 ms" "p99 ms" "cpu µs/req" "user µs" "kernel µs" "× nginx"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------------- ------------ ---------- ---------- ------------ ----------- ----------- -----------
  ncpu=$(med "$conns" nginx 7)
  for name in "${ORDER[@]}"; do
    cpu=$(med "$conns" "$name" 7)
    ratio="—"; [ "$name" = direct ] || ratio=$(awk -v a="$cpu" -v b="$ncpu" 'BEGIN { printf "%.2f", a / b }')
    printf '| %-15s | %10s | %8s | %8s | %10s | %9s | %9s | %9s |\n' "$name" "$(med "$conns" "$name" 4)" "$(med "$conns" "$name" 5)" \
      "$(med "$conns" "$name" 6)" "$cpu" "$(med "$conns" "$name" 8)" "$(med "$conns" "$name" 9)" "$ratio"
  done
  for name in "${ORDER[@]}"; do
    case $name in stormgate*) ;; *) continue ;; esac
    awk -v c="$conns" -v name="$name" -v io="${SG_IO[$name]:-?}" -v s="$(med "$conns" "$name" 7)" -v n="$ncpu" -v h="$(med "$conns" haproxy 7)" \
        -v sp="$(med "$conns" "$name" 6)" -v np="$(med "$conns" nginx 6)" -v hp="$(med "$conns" haproxy 6)" 'BEGIN {
      printf "c=%s: %s (%s) CPU per request = %.2f × nginx, %.2f × haproxy; p99 = %.2f × nginx, %.2f × haproxy\n", c, name, io, s / n, s / h, sp / np, sp / hp }'
  done
done

# System calls per request: a separate pass, because tracing makes each call slower.
if command -v perf >/dev/null && perf stat -e 'syscalls:sys_enter_recvfrom' true >/dev/null 2>&1; then
  conns=${CONNS_LIST%% *}
  echo
  echo "system calls per request (perf stat tracepoints, c=$conns, ${SECS}s each)"
  printf '| %-15s | %6s | %6s | %6s | %7s | %9s | %8s | %6s | %6s |\n' proxy recv send writev epoll_w epoll_ctl uring_en futex total
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------------- -------- -------- -------- --------- ----------- ---------- -------- --------
  events=""
  for e in recvfrom recvmsg read readv sendmsg sendto write writev epoll_wait epoll_ctl io_uring_enter futex setsockopt; do events+="${events:+,}syscalls:sys_enter_$e"; done
  for name in "${ORDER[@]:1}"; do
    pids=$(echo "${WATCH[$name]}" $(pgrep -P "${WATCH[$name]}" || true) | tr ' ' ',')
    perf stat -x, -e "$events" -p "$pids" -o "$TMP/perf-$name.csv" -- sleep "$SECS" &
    perf_pid=$!
    sleep 0.2
    reqs=$(wrk -t1 -c"$conns" -d"$((SECS > 1 ? SECS - 1 : 1))s" "${URL[$name]}$PATH_UNDER_TEST" | awk '/requests in/ {print $1}')
    wait "$perf_pid"
    awk -F, -v n="$reqs" -v name="$name" '/syscalls:sys_enter_/ { sub(/syscalls:sys_enter_/, "", $3); c[$3] = $1 / n; t += $1 / n }
      END { printf "| %-15s | %6.2f | %6.2f | %6.2f | %7.2f | %9.2f | %8.2f | %6.2f | %6.2f |\n", name, c["recvfrom"] + c["recvmsg"] + c["read"] + c["readv"],
            c["sendmsg"] + c["sendto"] + c["write"], c["writev"], c["epoll_wait"], c["epoll_ctl"], c["io_uring_enter"], c["futex"], t }' "$TMP/perf-$name.csv"
  done
fi

if [ "${SCALING:-0}" = 1 ]; then
  echo
  echo "workers: stormgate --workers 1 and 2, wrk -t2 -c200 -d${SECS}s, $ROUNDS rounds, $(nproc) cores"
  start_stormgate workers1 1
  start_stormgate workers2 2
  for round in $(seq "$ROUNDS"); do
    measure 200 "$round" workers1 "${SG_URLS[workers1]}" "${SG_PIDS[workers1]}" 2
    measure 200 "$round" workers2 "${SG_URLS[workers2]}" "${SG_PIDS[workers2]}" 2
  done
  awk -v a="$(med 200 workers2 4)" -v b="$(med 200 workers1 4)" 'BEGIN { printf "throughput with 2 workers = %.2f × with 1 (medians)\n", a / b }'
fi

echo
lines=$(cat "$TMP"/traffic-*.jsonl | grep -c '"kind":"exchange"' || true)
echo "stormgate traffic logs: $lines exchange records, $(du -ch "$TMP"/traffic-*.jsonl | tail -1 | cut -f1)"
