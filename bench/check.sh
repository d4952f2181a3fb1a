#!/bin/sh
# Benchmark of `stormgate check`: generates a traffic log of N records (default 5 000 000) with
# bench/gen_traffic.cpp, checks it, and prints records/s per core (user+sys CPU time) and peak RSS;
# then the same on that log compressed with zstd -1 (stormgate's default level for *.zst logs): its
# size, and records/s per core with the decompression in the CPU time.
# Beside it, in the same run, a yardstick of the machine's speed: bench/json_yardstick.cpp reads the same
# lines and only validates them with Boost.JSON, keeping nothing and running no gate (the cost of
# reading a line before checks/line_shapes.cpp, which now reads most lines without Boost.JSON).
#   bench/check.sh [N] [BUILD_DIR]
#   ROUNDS=3 BASELINE=old/stormgate bench/check.sh   (runs taking turns; an older binary beside it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
n=${1:-5000000}
build=${2:-$top/build}
rounds=${ROUNDS:-1}
baseline=${BASELINE:-}
command -v g++ >/dev/null || { apt-get install -y g++ >/dev/null; }
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
command -v zstd >/dev/null || apt-get install -y zstd >/dev/null
bin=$build/app/stormgate
[ -x "$bin" ] || { cmake -S "$top" -B "$build" -G Ninja >/dev/null && ninja -C "$build" stormgate; }
work=${TMPDIR:-/tmp}/stormgate-bench-check.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
g++ -O2 -o "$work/gen_traffic" "$here/gen_traffic.cpp"
g++ -O2 -std=c++20 -I"$top" -o "$work/json_yardstick" "$here/json_yardstick.cpp"
"$work/gen_traffic" "$n" "$work/traffic.jsonl"
bytes=$(stat -c %s "$work/traffic.jsonl")
records=$(wc -l < "$work/traffic.jsonl")
zstd -1 -q -o "$work/traffic.jsonl.zst" "$work/traffic.jsonl"
zbytes=$(stat -c %s "$work/traffic.jsonl.zst")
# warm the page cache so the figure is the checker's, not the disk's
cat "$work/traffic.jsonl" "$work/traffic.jsonl.zst" > /dev/null
# one measured run: LABEL, then the command; prints CPU (user+sys), records/s per core, MB/s per
# core of the plain log's bytes, and peak RSS
measure() {
  label=$1
  shift
  set +e
  /usr/bin/time -f "%U %S %e %M" -o "$work/time.txt" "$@" > /dev/null
  rc=$?
  set -e
  read -r user sys wall rss_kb <<EOT
$(tail -n 1 "$work/time.txt")
EOT
  echo "$label $user $sys $rss_kb" >> "$work/rounds.txt"
  awk -v l="$label" -v rc="$rc" -v r="$records" -v b="$bytes" -v u="$user" -v s="$sys" -v w="$wall" -v m="$rss_kb" 'BEGIN {
    cpu = u + s;
    printf "%-10s exit %d  cpu %.2f s (user %.2f + sys %.2f), wall %.2f s  records/s per core: %.0f  MB/s per core: %.0f  peak RSS: %.1f MB\n",
      l, rc, cpu, u, s, w, r / cpu, b / 1048576 / cpu, m / 1024;
  }'
}
echo "records: $records ($((bytes / 1048576)) MB; zstd -1: $((zbytes / 1048576)) MB, $(awk -v b="$bytes" -v z="$zbytes" 'BEGIN { printf "%.1f", b / z }')x smaller, $(awk -v z="$zbytes" -v r="$records" 'BEGIN { printf "%.0f", z / r }') B per record)"
echo "command: $bin check --traffic traffic.jsonl --quiet --report-json report.json"
echo "         (zstd: the same with traffic.jsonl.zst)"
# This machine's speed varies from minute to minute: with ROUNDS > 1 the runs take turns, and a
# BASELINE binary (an older stormgate) is measured in the same rounds.
i=0
while [ "$i" -lt "$rounds" ]; do
  i=$((i + 1))
  [ "$rounds" -gt 1 ] && echo "round $i"
  measure stormgate "$bin" check --traffic "$work/traffic.jsonl" --quiet --report-json "$work/report.json"
  measure zstd "$bin" check --traffic "$work/traffic.jsonl.zst" --quiet --report-json "$work/report-zst.json"
  [ -n "$baseline" ] && measure baseline "$baseline" check --traffic "$work/traffic.jsonl" --quiet --report-json "$work/baseline.json"
  # the yardstick: read + validate with Boost.JSON, nothing kept, no gates
  measure yardstick "$work/json_yardstick" "$work/traffic.jsonl"
done
# with rounds, each binary's best: the round in which the machine ran it fastest
[ "$rounds" -gt 1 ] && awk -v r="$records" -v n="$rounds" '{
    cpu = $2 + $3;
    if (!($1 in best) || cpu < best[$1]) best[$1] = cpu;
    if ($4 > rss[$1]) rss[$1] = $4;
    if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
  } END {
    for (i = 1; i <= k; ++i) {
      l = order[i];
      printf "best of %d  %-10s cpu %.2f s  records/s per core: %.0f  peak RSS: %.1f MB\n", n, l, best[l], r / best[l], rss[l] / 1024;
    }
  }' "$work/rounds.txt"
grep -o '"overall_status":"[A-Z-]*"' "$work/report.json" || true
grep -o '"overall_status":"[A-Z-]*"' "$work/report-zst.json" | sed 's/^/zstd: /' || true
