#!/usr/bin/env bash
# Stream benchmark, three runs each, medians and ratios in one run:
#  1. the embedded log: append N heart-rate records (contract JSON, ~150 bytes, fsync per batch) in
#     events/s, against the disk's own sequential write speed (dd ... conv=fdatasync) measured in the same
#     directory in the same run;
#  2. Kafka: hrflow's producer (idempotent, lz4) against `kcat -P -l file` sending the same records to the
#     same broker (`hrflow dev kafka`, librdkafka's mock cluster).
# Usage: bench/stream.sh [build-dir]   (STREAM_BENCH_RECORDS=N to change the size, default 2,000,000)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${STREAM_BENCH_RECORDS:-2000000}
RUNS=3
BENCH=$BUILD/bench/stream_bench
HRFLOW=$BUILD/hrflow
[ -x "$BENCH" ] || { echo "stream: $BENCH is missing; build first (cmake --build $BUILD)"; exit 1; }
WORK=$(mktemp -d -p "$BUILD" stream-bench.XXXXXX)
KPID=""
cleanup() { [ -n "$KPID" ] && kill "$KPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

echo "records: $N (~150-byte JSON readings keyed by user id), $RUNS runs each, medians"
"$BENCH" file --out "$WORK/records.tsv" --records "$N"
RAW_MB=$(( $(stat -c %s "$WORK/records.tsv") / 1048576 ))

# --- 1. embedded log vs dd --------------------------------------------------------------------------
: > "$WORK/log.txt"; : > "$WORK/dd.txt"; : > "$WORK/disk.txt"
for r in $(seq $RUNS); do
  rm -rf "$WORK/log"
  "$BENCH" local --dir "$WORK/log" --records "$N" | awk '{print $1}' >> "$WORK/log.txt"
  du -sm "$WORK/log" | awk '{print $1}' >> "$WORK/disk.txt"
  rm -rf "$WORK/log"
  dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$RAW_MB" conv=fdatasync 2>&1 \
    | sed -nE 's/.*copied, ([0-9.]+) s.*/\1/p' | awk -v mb="$RAW_MB" '{printf "%.1f\n", mb/$1}' >> "$WORK/dd.txt"
  rm -f "$WORK/dd.bin"
done
LOG_EPS=$(median < "$WORK/log.txt")
DD_MBS=$(median < "$WORK/dd.txt")
DISK_MB=$(median < "$WORK/disk.txt")
BYTES_PER_REC=$(awk -v mb="$RAW_MB" -v n="$N" 'BEGIN {printf "%.0f", mb*1048576/n}')
LOG_MBS=$(awk -v e="$LOG_EPS" -v b="$BYTES_PER_REC" 'BEGIN {printf "%.1f", e*b/1048576}')
DD_EPS=$(awk -v d="$DD_MBS" -v b="$BYTES_PER_REC" 'BEGIN {printf "%.0f", d*1048576/b}')
printf "embedded log   %12.0f events/s  (%s MB/s of records; %s MB on disk for %s MB of records, zstd)\n" \
  "$LOG_EPS" "$LOG_MBS" "$DISK_MB" "$RAW_MB"
printf "dd fdatasync   %12.0f events/s  (%s MB/s sequential write: the disk's speed for uncompressed records)\n" \
  "$DD_EPS" "$DD_MBS"
awk -v l="$LOG_EPS" -v d="$DD_EPS" 'BEGIN {printf "ratio log/dd   %12.2f   (target: >= 1,000,000 events/s: %s)\n", l/d, (l >= 1000000 ? "met" : "NOT met")}'

# --- 2. Kafka: hrflow producer vs kcat --------------------------------------------------------------
if ! command -v kcat >/dev/null; then echo "kafka: kcat not installed, skipped"; exit 0; fi
"$HRFLOW" dev kafka --partitions 6 --topic hr-data-topic > "$WORK/kafka.out" 2> "$WORK/kafka.err" &
KPID=$!
for _ in $(seq 100); do [ -s "$WORK/kafka.out" ] && break; sleep 0.1; done
BOOT=$(head -1 "$WORK/kafka.out")
[ -n "$BOOT" ] || { echo "kafka: hrflow dev kafka did not start: $(cat "$WORK/kafka.err")"; exit 1; }
: > "$WORK/hk.txt"; : > "$WORK/kcat.txt"
for r in $(seq $RUNS); do
  "$BENCH" kafka --bootstrap "$BOOT" --records "$N" | awk '{print $1}' >> "$WORK/hk.txt"
  t0=$(now)
  kcat -P -b "$BOOT" -t hr-data-topic -K $'\t' -l "$WORK/records.tsv"
  t1=$(now)
  awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n/(b-a)}' >> "$WORK/kcat.txt"
done
HK=$(median < "$WORK/hk.txt")
KC=$(median < "$WORK/kcat.txt")
printf "kafka hrflow   %12.0f events/s  (idempotent, lz4, acknowledged)\n" "$HK"
printf "kafka kcat -P  %12.0f events/s  (kcat -P -l file, defaults)\n" "$KC"
awk -v h="$HK" -v k="$KC" 'BEGIN {printf "ratio hrflow/kcat %9.2f   (target: >= 1: %s)\n", h/k, (h >= k ? "met" : "NOT met")}'
