#!/bin/sh
# A longer fuzzing run than the suite's (fuzz:short, 25 s a target): every libFuzzer target of
# tests/fuzz/ for SECONDS each (default 600), built with clang in BUILD_DIR (default build-fuzz/).
# Prints each target's runs, executions/s, coverage and corpus growth; a finding's input is kept in
# BUILD_DIR/artifacts/ (add it to tests/fuzz/corpus/<target>/ once it is fixed).
#   bench/fuzz.sh [SECONDS [BUILD_DIR [TARGET…]]]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
build=${2:-$top/build-fuzz}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
exec "$top/tests/fuzz/run" "$seconds" "$build" "$@"
