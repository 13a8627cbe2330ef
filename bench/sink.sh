#!/usr/bin/env bash
# Lake sink benchmark, RUNS runs each (default 3), medians and ratios in one run:
#  1. embedded log -> file lake: `hrflow sink --once` over a log filled beforehand by `hrflow produce`
#     (the fill is not timed), records/s; target >= 1,000,000 records/s.
#  2. Kafka -> file lake: the same kind of records produced into `hrflow dev kafka` (librdkafka's mock
#     cluster), then `hrflow sink --once` against `kcat -C -e -o beginning > file` reading the same topic;
#     target >= 0.8 of kcat's records/s. kcat writes one file, no partitioning, no fsync, no consumer
#     group. Like kcat -C, the sink assigns itself every partition (stream.kafka.assignment: all) and
#     still commits its positions to its group. The sink in its default mode, a member of a balanced
#     consumer group (assignment: group), is timed against `kcat -G`, which joins a group the same way:
#     the broker waits 3 s before the first assignment of a new group.
# Every run starts from a fresh lake and a fresh consumer group, so it reads everything again.
# The fleet is the reference system's size (10,000 users); the windows below give about 2M records for
# the log and 1M for Kafka.
# Usage: bench/sink.sh [build-dir]
#   env: RUNS, SINK_BENCH_USERS (10000), SINK_BENCH_FROM (2025-03-03T00:00),
#        SINK_BENCH_LOG_TO (2025-03-03T16:30), SINK_BENCH_KAFKA_TO (2025-03-03T09:00),
#        SINK_BENCH_KAFKA_PARTITIONS (12: the mock keeps only ~5 MiB per partition and drops older data)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HRFLOW=$BUILD/hrflow
RUNS=${RUNS:-3}
USERS=${SINK_BENCH_USERS:-10000}
FROM=${SINK_BENCH_FROM:-2025-03-03T00:00}
LOG_TO=${SINK_BENCH_LOG_TO:-2025-03-03T16:30}
KAFKA_TO=${SINK_BENCH_KAFKA_TO:-2025-03-03T09:00}
KPARTS=${SINK_BENCH_KAFKA_PARTITIONS:-12}
[ -x "$HRFLOW" ] || { echo "sink: $HRFLOW is missing; build first (cmake --build $BUILD)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-bench-sink.XXXXXX")
KPID=""
cleanup() { if [ -n "$KPID" ]; then kill "$KPID" 2>/dev/null || true; wait "$KPID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%.0f\n", n/(b-a)}'; }
# The record count of the sink's summary line ("sink: 1,234 records (...").
sink_records() { sed -nE 's/.*sink: ([0-9,]+) records.*/\1/p' "$1" | tr -d , | tail -1; }
# Lines in every lake file under topics/ (each record is one line).
lake_lines() { find "$1/topics" -type f -name '*.json' -print0 | xargs -0 cat | wc -l; }
fail() { echo "sink: $*" >&2; exit 1; }
# One timed `hrflow sink --once` in directory $1 (its hrflow.yml written) that must land $2 records;
# label $3. Appends records/s to file $4; on the first run, checks the lake line count and sets
# RUN_FILES / RUN_MB. Extra text for a count mismatch: $5.
timed_sink() {
  local dir=$1 want=$2 label=$3 out=$4 hint=${5:-} t0 t1 got lines
  t0=$(now)
  (cd "$dir" && "$HRFLOW" sink --once) 2> "$dir/sink.err" || fail "hrflow sink failed: $(tail -3 "$dir/sink.err")"
  t1=$(now)
  got=$(sink_records "$dir/sink.err")
  [ "$got" = "$want" ] || fail "$label: the sink reported ${got:-no count} records, expected $want$hint: $(tail -3 "$dir/sink.err")"
  if [ "$(wc -l < "$out")" = 0 ]; then
    lines=$(lake_lines "$dir/lake")
    [ "$lines" = "$want" ] || fail "$label: the lake holds $lines records, expected $want"
    RUN_FILES=$(find "$dir/lake/topics" -type f | wc -l)
    RUN_MB=$(du -sm "$dir/lake/topics" | cut -f1)
  fi
  rate "$want" "$t0" "$t1" >> "$out"
}

echo "sink: $USERS users, $RUNS runs each, medians"

# --- 1. embedded log -> file lake ---------------------------------------------------------------
mkdir -p "$WORK/fill"
(cd "$WORK/fill" && "$HRFLOW" produce --users "sample:$USERS" --from "$FROM" --to "$LOG_TO" --quiet) > "$WORK/fill.out" 2>&1 ||
  fail "filling the log failed: $(tail -3 "$WORK/fill.out")"
N=$(sed -nE 's/^produced ([0-9]+) events.*/\1/p' "$WORK/fill.out")
[ -n "$N" ] || fail "produce did not report a count: $(cat "$WORK/fill.out")"
LOGDIR=$WORK/fill/.hrflow/stream
: > "$WORK/log.txt"
for r in $(seq "$RUNS"); do
  run=$WORK/log-run
  rm -rf "$run" && mkdir -p "$run"
  printf 'stream:\n  consumer_group: bench-log-%s\n  log:\n    dir: %s\nlake:\n  url: file://%s/lake\n' \
    "$r" "$LOGDIR" "$run" > "$run/hrflow.yml"
  timed_sink "$run" "$N" "log run $r" "$WORK/log.txt"
done
rm -rf "$WORK/log-run" "$WORK/fill"
LOG_RPS=$(median < "$WORK/log.txt"); FILES=$RUN_FILES; LAKE_MB=$RUN_MB
printf 'embedded log -> file lake  %10.0f records/s  (%s records, %s lake files, %s MB; runs: %s)\n' \
  "$LOG_RPS" "$N" "$FILES" "$LAKE_MB" "$(paste -sd ' ' "$WORK/log.txt")"
awk -v l="$LOG_RPS" 'BEGIN {printf "  ratio to the 1,000,000 records/s target: %.2f (%s)\n", l/1e6, (l >= 1e6 ? "met" : "NOT met")}'

# --- 2. Kafka -> file lake vs kcat ----------------------------------------------------------------
if ! command -v kcat >/dev/null; then echo "kafka: kcat not installed, skipped"; exit 0; fi
"$HRFLOW" dev kafka --partitions "$KPARTS" --topic hr-data-topic > "$WORK/kafka.out" 2> "$WORK/kafka.err" &
KPID=$!
for _ in $(seq 100); do [ -s "$WORK/kafka.out" ] && break; sleep 0.1; done
BOOT=$(head -1 "$WORK/kafka.out")
[ -n "$BOOT" ] || fail "hrflow dev kafka did not start: $(cat "$WORK/kafka.err")"
kconf() {  # hrflow.yml for Kafka mode; $1 = consumer group, $2 = lake directory, $3 = assignment
  printf 'stream:\n  partitions: %s\n  consumer_group: %s\n  kafka:\n    bootstrap_servers: %s\n    assignment: %s\nlake:\n  url: file://%s\n' \
    "$KPARTS" "$1" "$BOOT" "${3:-group}" "$2"
}
mkdir -p "$WORK/kfill"
kconf unused "$WORK/kfill/lake" > "$WORK/kfill/hrflow.yml"
(cd "$WORK/kfill" && "$HRFLOW" produce --users "sample:$USERS" --from "$FROM" --to "$KAFKA_TO" --quiet) > "$WORK/kfill.out" 2>&1 ||
  fail "producing into Kafka failed: $(tail -3 "$WORK/kfill.out")"
KN=$(sed -nE 's/^produced ([0-9]+) events.*/\1/p' "$WORK/kfill.out")
[ -n "$KN" ] || fail "produce into Kafka did not report a count: $(cat "$WORK/kfill.out")"
: > "$WORK/ksink.txt"; : > "$WORK/ksinkg.txt"; : > "$WORK/kcat.txt"; : > "$WORK/kcatg.txt"
for r in $(seq "$RUNS"); do
  run=$WORK/kafka-run
  rm -rf "$run" && mkdir -p "$run"
  kconf "bench-kafka-$r" "$run/lake" all > "$run/hrflow.yml"
  timed_sink "$run" "$KN" "kafka run $r" "$WORK/ksink.txt" \
    " (the mock drops data beyond ~5 MiB per partition: raise SINK_BENCH_KAFKA_PARTITIONS)"
  [ "$r" = 1 ] && KFILES=$RUN_FILES
  rm -rf "$run" && mkdir -p "$run"
  kconf "bench-kafka-group-$r" "$run/lake" group > "$run/hrflow.yml"
  timed_sink "$run" "$KN" "kafka group run $r" "$WORK/ksinkg.txt"
  rm -rf "$run"

  t0=$(now)
  kcat -C -b "$BOOT" -t hr-data-topic -e -o beginning -q > "$WORK/kcat.out"
  t1=$(now)
  got=$(wc -l < "$WORK/kcat.out")
  [ "$got" = "$KN" ] || fail "kafka run $r: kcat -C read $got records, expected $KN"
  rate "$KN" "$t0" "$t1" >> "$WORK/kcat.txt"
  rm -f "$WORK/kcat.out"

  t0=$(now)
  kcat -b "$BOOT" -G "bench-kcat-$r" -X auto.offset.reset=earliest -e -q hr-data-topic > "$WORK/kcat.out"
  t1=$(now)
  got=$(wc -l < "$WORK/kcat.out")
  [ "$got" = "$KN" ] || fail "kafka run $r: kcat -G read $got records, expected $KN"
  rate "$KN" "$t0" "$t1" >> "$WORK/kcatg.txt"
  rm -f "$WORK/kcat.out"
done
KS=$(median < "$WORK/ksink.txt")
KSG=$(median < "$WORK/ksinkg.txt")
KC=$(median < "$WORK/kcat.txt")
KG=$(median < "$WORK/kcatg.txt")
printf 'kafka -> file lake (sink, assignment: all)   %10.0f records/s  (%s records, %s partitions, %s lake files; runs: %s)\n' \
  "$KS" "$KN" "$KPARTS" "$KFILES" "$(paste -sd ' ' "$WORK/ksink.txt")"
printf 'kcat -C -e > file                            %10.0f records/s  (no group, one file, no fsync; runs: %s)\n' \
  "$KC" "$(paste -sd ' ' "$WORK/kcat.txt")"
printf 'kafka -> file lake (sink, assignment: group) %10.0f records/s  (runs: %s)\n' \
  "$KSG" "$(paste -sd ' ' "$WORK/ksinkg.txt")"
printf 'kcat -G -e > file                            %10.0f records/s  (balanced consumer group, one file, no fsync; runs: %s)\n' \
  "$KG" "$(paste -sd ' ' "$WORK/kcatg.txt")"
awk -v s="$KS" -v c="$KC" -v sg="$KSG" -v g="$KG" 'BEGIN {
  printf "  ratio sink / kcat -C: %.2f (target >= 0.8: %s); in a group, sink / kcat -G: %.2f\n", s/c, (s >= 0.8*c ? "met" : "NOT met"), sg/g }'
