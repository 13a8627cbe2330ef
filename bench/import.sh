#!/usr/bin/env bash
# Benchmark: `hrflow import apple-health` of a generated Apple Health export.xml (default 2 GB; the
# DTD, Me, records grouped by type with 45% of the bytes heart rate, workouts) into the embedded
# stream, against `xmllint --stream --noout` (Debian libxml2-utils) reading the same file in the same
# run: the floor a user would otherwise get from a streaming XML tool that only parses. Each
# repetition imports into a fresh stream and journal (so every reading is sent) as a new participant.
# Prints per repetition and medians: MB/s, readings/s, peak RSS (GNU time) and the ratio of times.
# Target: at least 100 MB/s with RSS under 256 MB.
# Usage: bench/import.sh [build-dir]   (IMPORT_BENCH_MB and IMPORT_BENCH_RUNS override the defaults)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HRFLOW="$BUILD/hrflow"
MB=${IMPORT_BENCH_MB:-2000}
RUNS=${IMPORT_BENCH_RUNS:-3}
WORK=$(mktemp -d /tmp/hrflow-bench-import-XXXXXX)
chmod 755 "$WORK"
cd "$WORK"
PORT=$(( 40000 + RANDOM % 20000 ))
printf 'oltp:\n  port: %s\n' "$PORT" > hrflow.yml
cleanup() { "$HRFLOW" oltp down >/dev/null 2>&1 || true; cd /; rm -rf "$WORK"; }
trap cleanup EXIT

read -r BYTES HR RECORDS < <("$BUILD/bench/import_bench_gen" export.xml "$MB")
echo "input: export.xml $(awk "BEGIN{printf \"%.0f\", $BYTES/1e6}") MB, $HR heart-rate records of $RECORDS"
"$HRFLOW" oltp up >/dev/null
"$HRFLOW" oltp generate --users 10 --as-of 2024-01-01 >/dev/null 2>&1

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
hr_s=(); hr_rss=(); xl_s=(); xl_rss=(); ratios=()
for i in $(seq "$RUNS"); do
  rm -rf .hrflow/stream .hrflow/import
  /usr/bin/time -f '%e %M' -o time.txt "$HRFLOW" import apple-health export.xml --participant "BENCH$i" -q > summary.txt
  read -r s rss < time.txt
  imported=$(awk '/^readings imported/ {gsub(",", "", $3); print $3}' summary.txt)
  [ "$imported" = "$HR" ] || { echo "import $i sent $imported readings, expected $HR" >&2; cat summary.txt >&2; exit 1; }
  /usr/bin/time -f '%e %M' -o time.txt xmllint --stream --noout export.xml
  read -r xs xrss < time.txt
  hr_s+=("$s"); hr_rss+=("$rss"); xl_s+=("$xs"); xl_rss+=("$xrss")
  ratio=$(awk "BEGIN{printf \"%.2f\", $xs/$s}")
  ratios+=("$ratio")
  awk -v i="$i" -v b="$BYTES" -v r="$HR" -v s="$s" -v rss="$rss" -v xs="$xs" -v xrss="$xrss" -v ratio="$ratio" 'BEGIN {
    printf "run %d: hrflow import %.1f s %.0f MB/s %.0f readings/s RSS %.0f MB | xmllint --stream %.1f s %.0f MB/s RSS %.0f MB | %.2fx\n",
      i, s, b/1e6/s, r/s, rss/1024, xs, b/1e6/xs, xrss/1024, ratio }'
done
s=$(printf '%s\n' "${hr_s[@]}" | median); rss=$(printf '%s\n' "${hr_rss[@]}" | sort -g | tail -1)
xs=$(printf '%s\n' "${xl_s[@]}" | median); xrss=$(printf '%s\n' "${xl_rss[@]}" | sort -g | tail -1)
ratio=$(printf '%s\n' "${ratios[@]}" | median)
awk -v b="$BYTES" -v r="$HR" -v s="$s" -v rss="$rss" -v xs="$xs" -v xrss="$xrss" -v ratio="$ratio" 'BEGIN {
  printf "median: hrflow import %.0f MB/s, %.0f readings/s, peak RSS %.0f MB (target >= 100 MB/s, < 256 MB)\n", b/1e6/s, r/s, rss/1024
  printf "median: xmllint --stream %.0f MB/s, peak RSS %.0f MB\n", b/1e6/xs, xrss/1024
  printf "ratio (median of paired xmllint time / hrflow time): %.2fx\n", ratio }'
