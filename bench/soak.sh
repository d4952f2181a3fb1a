#!/usr/bin/env bash
# The playbook's full run at several soak lengths, one after the other, on this machine: verdict, runtime,
# ops/s, p95, each process's memory slope and peak, bytes written, the checker's time. Peak RSS that is the
# same at 10 and at 30 minutes, and slopes below 0.1 MB/min, show memory bounded whatever the duration.
#   bench/soak.sh [DURATION_S ...]        (default: 600 1800)
# Env: BUILD (build dir, default build), CONCURRENCY (default 100), SEED (default 42),
#      OUT (folder for the runs, default a temporary one, removed at the end unless KEEP=1),
#      DEFECT (a planted --defect for every run; default none).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
bin=$build/app/stormgate
conc=${CONCURRENCY:-100}
seed=${SEED:-42}
durations=("$@")
((${#durations[@]})) || durations=(600 1800)
[ -x "$bin" ] || { echo "bench/soak.sh: $bin missing: run scripts/build first" >&2; exit 69; }
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${OUT:-}" ] || [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT

summaries=()
for d in "${durations[@]}"; do
  dir=$out/soak-$d
  args=(run --full --duration "$d" --concurrency "$conc" --seed "$seed" --out "$dir")
  [ -z "${DEFECT:-}" ] || args+=(--defect "$DEFECT")
  echo "== $bin ${args[*]}" >&2
  start=$(date +%s)
  set +e
  "$bin" "${args[@]}" >"$out/soak-$d.log" 2>&1
  code=$?
  set -e
  wall=$(($(date +%s) - start))
  tail -3 "$out/soak-$d.log" | grep '^logs:' >&2 || true
  summaries+=("$(python3 - "$dir/report.json" "$code" "$wall" "$dir" "$out/soak-$d.log" <<'EOF'
import json, os, re, sys
path, code, wall, folder, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
checked = re.findall(r"checked in ([0-9.]+) s", open(log, errors="replace").read())
r = json.load(open(path))
e = r["gate_results"]["E"]["metrics"]
procs = e.get("memory_processes", {})
mem = " ".join(f"{p}={m['slope_mb_per_min']:.3f}MB/min/peak{m['peak_mb']:.1f}MB" for p, m in sorted(procs.items()))
size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f)))
print(f"{r['overall_status']:<11} exit {code}  wall {wall} s  runtime {e['runtime_s']:.0f} s  {e['throughput']:.0f} ops/s  "
      f"p95 {e['p95_ms']:.1f} ms  unexplained errors {e.get('unexplained_errors', -1):.0f}  written {size / 1e9:.2f} GB  "
      f"check {checked[-1] if checked else '?'} s  {mem}")
EOF
)")
done
echo
echo "concurrency $conc, seed $seed, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
for i in "${!durations[@]}"; do printf '%6s s: %s\n' "${durations[$i]}" "${summaries[$i]}"; done
