#!/usr/bin/env bash
# Two builds of hrflow on the same data, stage by stage, interleaved (A B A B ...) so a busy machine
# weighs on both alike: `hrflow sink --once` (embedded log -> file lake), `hrflow sync lake` (lake ->
# raw) and `hrflow build` (models and tests), each from a fresh state, REPS times. Prints each stage's
# median seconds per build and the ratio B/A. For checking that a change leaves the stages' speed alone.
# Usage: bench/tools/compare_builds.sh BUILD_A BUILD_B   Env: USERS (2000), HOURS (12), REPS (3)
set -euo pipefail
A=$(cd "$1" && pwd)/hrflow
B=$(cd "$2" && pwd)/hrflow
USERS=${USERS:-2000}
HOURS=${HOURS:-12}
REPS=${REPS:-3}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# One stream log for every run (not timed): a sample fleet, HOURS hours of readings.
mkdir -p "$WORK/src"
printf 'state_dir: %s/src\n' "$WORK" > "$WORK/src.yml"
"$A" -c "$WORK/src.yml" produce --users "sample:$USERS" --from 2026-01-05 --to "2026-01-05T$(printf %02d "$HOURS"):00" --quiet \
  | tail -1

now() { date +%s.%N; }
declare -A times
for rep in $(seq "$REPS"); do
  for which in A B; do
    bin=$A; [ "$which" = B ] && bin=$B
    d="$WORK/run-$which-$rep"
    mkdir -p "$d"
    cp -r "$WORK/src/stream" "$d/stream"
    printf 'state_dir: %s\noltp:\n  url: postgresql://nobody@127.0.0.1:1/none\n' "$d" > "$d/hrflow.yml"
    t0=$(now); "$bin" -c "$d/hrflow.yml" sink --once > "$d/sink.log" 2>&1; t1=$(now)
    "$bin" -c "$d/hrflow.yml" sync lake -q > "$d/sync.log" 2>&1; t2=$(now)
    "$bin" -c "$d/hrflow.yml" build -s stg_heart_rates > "$d/build.log" 2>&1 || true; t3=$(now)
    times[$which-sink]+="$(echo "$t1 - $t0" | bc) "
    times[$which-sync]+="$(echo "$t2 - $t1" | bc) "
    times[$which-build]+="$(echo "$t3 - $t2" | bc) "
    rm -rf "$d"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-28s %10s %10s %8s\n' "stage ($REPS runs, median s)" "A" "B" "B/A"
for stage in sink sync build; do
  a=$(echo "${times[A-$stage]}" | median); b=$(echo "${times[B-$stage]}" | median)
  printf '%-28s %10.2f %10.2f %8.2f\n' "$stage" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
echo "A = $A"
echo "B = $B"
