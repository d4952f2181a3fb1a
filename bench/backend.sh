#!/usr/bin/env bash
# Drives POST /api/credits/consume at `stormgate backend` (with the KARMA stub) with wrk, for the journal's
# fsync policies never and always, and prints requests/s and p99 for each; then one sequential client
# (1 connection, fsync always), the figure to hold against BRAiN's ~840 sequential consumes/s.
#   bench/backend.sh            DURATION=10s CONNECTIONS=50 bench/backend.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq wrk >/dev/null
fi
bin=${STORMGATE_BIN:-build/app/stormgate}
[ -x "$bin" ] || scripts/build >/dev/null  # STORMGATE_BIN=path uses another build
duration=${DURATION:-10s}
conns=${CONNECTIONS:-50}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# start NAME ARGS...: runs `stormgate NAME ARGS...`, waits for "listening NAME URL", sets $url
start() {
  local name=$1 log=$tmp/$1.$RANDOM
  "$bin" "$@" >"$log.out" 2>"$log.err" &
  pids+=($!)
  url=""
  for _ in $(seq 100); do
    url=$(awk -v n="$name" '$1 == "listening" && $2 == n {print $3}' "$log.out")
    [ -n "$url" ] && return
    sleep 0.1
  done
  echo "$name did not start: $(cat "$log.err")" >&2; exit 1
}

start karma --listen 127.0.0.1:0
karma=$url
run() {  # run POLICY CONNECTIONS THREADS
  local policy=$1 c=$2 t=$3
  start backend --listen 127.0.0.1:0 --journal "$tmp/$policy-$c.jsonl" --fsync "$policy" --karma-url "$karma"
  curl -fsS -XPOST "$url/api/credits/add" -d '{"agent_id":"bench","amount":1e12,"reason":"bench"}' >/dev/null
  wrk -t"$t" -c"$c" -d"$duration" --latency -s bench/consume.lua "$url" >"$tmp/wrk.txt"
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$tmp/wrk.txt" | tr '\n' ' ')
  local events
  events=$(wc -l <"$tmp/$policy-$c.jsonl")
  printf '%-8s %5s conns  %10s req/s  p99 %-9s  journal %s events %s\n' "$policy" "$c" "$rps" "$p99" "$events" "$errors"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}

echo "stormgate backend, POST /api/credits/consume (unique Idempotency-Key, KARMA stub), wrk $duration"
echo "fsync    connections  throughput         latency"
run never "$conns" 2
run always "$conns" 2
run always 1 1
