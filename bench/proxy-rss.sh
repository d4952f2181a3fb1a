#!/usr/bin/env bash
# Proxy memory over a long run: the reference backend, stormgate in front (traffic log on, as a zstd
# stream; faults configured on the route, one of them firing) and nginx beside it (access log on),
# each under its own wrk at CONNS connections for SECONDS. Samples each proxy's RSS every
# INTERVAL seconds and prints the series, the spread after the first minute (the warm-up: pools,
# buffers and the allocator's arenas reach their size) and a least-squares slope.
#
#   bench/proxy-rss.sh [SECONDS] [CONNS]     env: STORMGATE=path/to/stormgate INTERVAL=10 WARMUP=60
#                                            STORMGATE_IO=epoll: stormgate on epoll (default: auto)
set -euo pipefail
SECS=${1:-600}
CONNS=${2:-300}
INTERVAL=${INTERVAL:-10}
WARMUP=${WARMUP:-60}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STORMGATE:-$HERE/build/app/stormgate}
[ -x "$BIN" ] || { echo "stormgate binary not found at $BIN (build it, or set STORMGATE=)"; exit 69; }
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v zstd >/dev/null || need+=(zstd)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
TMP=$(mktemp -d /tmp/stormgate-rss-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
source "$(dirname "$0")/common.sh"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

"$BIN" backend --listen 127.0.0.1:0 --journal "$TMP/credits.jsonl" --fsync never >"$TMP/backend.out" 2>&1 &
PIDS+=("$!")
BACKEND_URL=$(wait_line "$TMP/backend.out" "listening backend")
BACKEND_PORT=${BACKEND_URL##*:}

cat >"$TMP/faults.toml" <<TOML
[[faults]]
name = "rss-delay"          # fires on one request in a hundred of the benchmark's own path
route = "bench"
probability = 0.01
match = { method = "GET", path = "/api/credits/balance/*" }
action = { delay = { ms = 5 } }

[[faults]]
name = "rss-consume-blackout"
route = "bench"
match = { method = "POST", path = "/api/credits/consume" }
action = { blackout = { status = 503 } }
TOML
"$BIN" proxy --config "$TMP/faults.toml" --route "bench=127.0.0.1:0->$BACKEND_URL" --admin 127.0.0.1:0 \
  --traffic-log "$TMP/traffic.jsonl.zst" >"$TMP/proxy.out" 2>"$TMP/proxy.err" &
SG_PID=$!; PIDS+=("$SG_PID")
SG_URL=$(wait_line "$TMP/proxy.out" "listening route:bench")
SG_IO=$(proxy_io "$TMP/proxy.out")

NGINX_PORT=$(free_port)
write_nginx_conf "$TMP" "$NGINX_PORT" "$BACKEND_PORT"
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
for _ in $(seq 50); do NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1 || true); [ -n "$NGINX_WORKER" ] && break; sleep 0.1; done

wrk -t1 -c"$CONNS" -d"${SECS}s" "$SG_URL/api/credits/balance/x" >"$TMP/wrk-stormgate.out" &
PIDS+=("$!"); WRK1=$!
wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$NGINX_PORT/api/credits/balance/x" >"$TMP/wrk-nginx.out" &
PIDS+=("$!"); WRK2=$!

echo "wrk -t1 -c$CONNS -d${SECS}s at stormgate (io $SG_IO, traffic log .jsonl.zst, 2 faults) and at nginx (access log) at once; RSS every ${INTERVAL}s; $(nproc) cores"
echo "| t s | stormgate RSS KiB | nginx worker RSS KiB |"
echo "|---|---|---|"
: >"$TMP/rss.tsv"
t0=$(date +%s)
while kill -0 "$WRK1" 2>/dev/null; do
  t=$(( $(date +%s) - t0 ))
  a=$(rss_kb "$SG_PID"); b=$(rss_kb "$NGINX_WORKER")
  printf '%s\t%s\t%s\n' "$t" "$a" "$b" >>"$TMP/rss.tsv"
  printf '| %s | %s | %s |\n' "$t" "$a" "$b"
  sleep "$INTERVAL"
done
wait "$WRK1" "$WRK2" || true
for name in stormgate nginx; do
  col=2; [ "$name" = nginx ] && col=3
  awk -F'\t' -v c="$col" -v w="$WARMUP" -v name="$name" '$1 >= w {
      n++; x = $1 / 60; y = $c / 1024; sx += x; sy += y; sxx += x * x; sxy += x * y
      if (min == "" || y < min) min = y; if (y > max) max = y }
    END { if (n < 2) { print name ": too few samples after the warm-up"; exit }
      slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
      printf "%s: after %ds: RSS %.1f..%.1f MiB (spread %.2f MiB), slope %.3f MiB/min over %d samples\n", name, w, min, max, max - min, slope, n }' "$TMP/rss.tsv"
done
echo "stormgate: $(awk '/requests in/ {print $1}' "$TMP/wrk-stormgate.out") requests ($(awk '/Requests\/sec/ {print $2}' "$TMP/wrk-stormgate.out")/s); nginx: $(awk '/requests in/ {print $1}' "$TMP/wrk-nginx.out") requests"
kill -TERM "$SG_PID"; wait "$SG_PID" 2>/dev/null || true
records=$(zstd -dc "$TMP/traffic.jsonl.zst" | grep -c '"kind":"exchange"' || true)
echo "stormgate traffic log: $records exchange records, $(du -h "$TMP/traffic.jsonl.zst" | cut -f1) (zstd)"
