#!/usr/bin/env bash
# Where the proxy's CPU goes: the reference backend, stormgate in front (traffic log on), wrk at
# CONNS connections, and `perf record` (software clock, DWARF call graphs) on the proxy for SECONDS.
# Writes a flame graph (SVG) and a text summary (kernel / user split, inclusive share per frame).
#
#   bench/flame.sh [SECONDS] [OUT_DIR]       env: STORMGATE=path/to/stormgate CONNS=50
#   → OUT_DIR/proxy-flame.svg, OUT_DIR/proxy-flame.txt   (OUT_DIR defaults to bench/flame)
set -euo pipefail
SECS=${1:-4}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=${2:-$HERE/bench/flame}
CONNS=${CONNS:-50}
BIN=${STORMGATE:-$HERE/build/app/stormgate}
[ -x "$BIN" ] || { echo "stormgate binary not found at $BIN (build it, or set STORMGATE=)"; exit 69; }
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v perf >/dev/null || need+=(linux-perf)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/stormgate-flame-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
source "$(dirname "$0")/common.sh"

"$BIN" backend --listen 127.0.0.1:0 --journal "$TMP/credits.jsonl" --fsync never >"$TMP/backend.out" 2>&1 &
PIDS+=("$!")
BACKEND_URL=$(wait_line "$TMP/backend.out" "listening backend")
"$BIN" proxy --route "bench=127.0.0.1:0->$BACKEND_URL" --admin 127.0.0.1:0 --traffic-log "$TMP/traffic.jsonl" \
  >"$TMP/proxy.out" 2>"$TMP/proxy.err" &
SG_PID=$!; PIDS+=("$SG_PID")
SG_URL=$(wait_line "$TMP/proxy.out" "listening route:bench")

wrk -t1 -c"$CONNS" -d1s "$SG_URL/api/credits/balance/x" >/dev/null  # warm-up
wrk -t1 -c"$CONNS" -d"$((SECS + 2))s" "$SG_URL/api/credits/balance/x" >"$TMP/wrk.out" &
WRK_PID=$!
sleep 1
perf record -q -e cpu-clock -F 2000 --call-graph dwarf,16384 -p "$SG_PID" -o "$TMP/perf.data" -- sleep "$SECS" 2>/dev/null
wait "$WRK_PID"
{
  echo "stormgate proxy, wrk -t1 -c$CONNS, perf record -e cpu-clock -F 2000 --call-graph dwarf for ${SECS}s; $(nproc) cores, $(uname -r)"
  grep -E "Requests/sec" "$TMP/wrk.out"
  perf script -i "$TMP/perf.data" 2>/dev/null |
    python3 "$HERE/bench/flamegraph.py" --title "stormgate proxy, wrk -c$CONNS, traffic log on" "$OUT/proxy-flame.svg" --top 60
} >"$OUT/proxy-flame.txt"
cat "$OUT/proxy-flame.txt"
echo "wrote $OUT/proxy-flame.svg"
