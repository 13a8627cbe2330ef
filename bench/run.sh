#!/usr/bin/env bash
# Run every benchmark under bench/ (each a script bench/<name>.sh taking the build dir) and print its
# figures. Benchmarks compare hrflow with the tool a user would otherwise use, in the same run.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
shopt -s nullglob
benches=(bench/*.sh)
found=0
for b in "${benches[@]}"; do
  [ "$(basename "$b")" = run.sh ] && continue
  found=1
  echo "== $(basename "$b" .sh)"
  "$b" "$BUILD"
done
[ $found -eq 1 ] || echo "no benchmarks yet"
