#!/usr/bin/env bash
# Highest request rate of `stormgate load` (GET balance, closed loop, history on) versus wrk against the same
# endpoint of the reference backend, in one run on this machine.
#   bench/load.sh [DURATION_S=10] [CONNECTIONS=50]
# Env: BUILD (build dir, default build), WRK_THREADS (default 1: the load client runs one io thread),
#      ROUNDS (default 3: wrk and stormgate load alternate; the medians are compared).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
duration=${1:-10}
conns=${2:-50}
wrk_threads=${WRK_THREADS:-1}
rounds=${ROUNDS:-3}

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null || sudo apt-get install -y wrk >/dev/null; }
command -v curl >/dev/null || { apt-get install -y curl >/dev/null || sudo apt-get install -y curl >/dev/null; }
if [ ! -x "$build/app/stormgate" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" stormgate >/dev/null
fi
bin=$build/app/stormgate

work=$(mktemp -d)
backend_pid=
cleanup() { [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" backend --listen 127.0.0.1:0 --journal "$work/credits.jsonl" --fsync never >"$work/backend.out" 2>"$work/backend.err" &
backend_pid=$!
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^listening backend //p' "$work/backend.out")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "backend did not start" >&2; cat "$work/backend.err" >&2; exit 69; }

# The soak's first agent (seed 42), so both tools read the same balance.
agent=soak-s42-01
curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"agent_id\":\"$agent\",\"skill_level\":1.0}" \
  "$url/api/credits/agents" >/dev/null

echo "endpoint: GET $url/api/credits/balance/$agent   duration ${duration}s   connections $conns   rounds $rounds"
# wrk and the load client alternate, so that both see the same background load on a shared machine.
wrk_all=() load_all=()
for round in $(seq "$rounds"); do
  wrk_rps=$(wrk -t"$wrk_threads" -c"$conns" -d"${duration}s" "$url/api/credits/balance/$agent" | awk '/Requests\/sec/ {print $2}')
  "$bin" load --target reference --base-url "$url" --scenario soak --mix read --concurrency "$conns" \
    --duration "$duration" --history "$work/history.jsonl" --quiet
  # The soak's own summary record (its setup writes are a handful of the requests).
  stats=$(grep '"type":"stats","scope":"scenario","scenario":"soak"' "$work/history.jsonl" | tail -1)
  load_rps=$(echo "$stats" | sed -n 's/.*"rps":\([0-9.eE+-]*\).*/\1/p')
  load_p99=$(echo "$stats" | sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p')
  lines=$(wc -l <"$work/history.jsonl")
  printf 'round %s: wrk -t%s -c%s %.0f req/s | stormgate load (history on, %s lines) %.0f req/s, p99 %s us | %.1f %%\n' \
    "$round" "$wrk_threads" "$conns" "$wrk_rps" "$lines" "$load_rps" "$load_p99" "$(awk -v a="$load_rps" -v b="$wrk_rps" 'BEGIN{print 100*a/b}')"
  wrk_all+=("$wrk_rps") load_all+=("$load_rps")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
w=$(median "${wrk_all[@]}") l=$(median "${load_all[@]}")
awk -v a="$l" -v b="$w" 'BEGIN { printf "median: wrk %.0f req/s, stormgate load %.0f req/s: %.1f %% of wrk (goal >= 70 %%)\n", b, a, 100 * a / b }'
