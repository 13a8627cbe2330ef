#!/usr/bin/env bash
# Producer speed, in one run:
#   1. the fleet simulator alone (simulate + format JSON), events/s;
#   2. `hrflow produce` backfill into the embedded local log (fsync per batch), events/s and MB/s;
#   3. the disk's own sequential write speed on the same file system: dd ... conv=fdatasync.
# Prints the median of RUNS runs (default 3) and the ratios; the target is >= 1,000,000 events/s.
set -euo pipefail
BUILD=${1:-build}
BIN=$(realpath "$BUILD/hrflow")
RUNS=${RUNS:-3}
USERS=${USERS:-2000}
DAYS=${DAYS:-7}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-bench-produce.XXXXXX")
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }

sim=() prod=() prod_mb=() disk=()
for i in $(seq "$RUNS"); do
  # 1. simulator alone
  out=$("$BIN" bench simulator --users "$USERS" --days "$DAYS" --quiet)
  sim+=("$(sed -E 's/.*: ([0-9.]+) events\/s.*/\1/' <<<"$out")")

  # 2. backfill into the local log (fresh state directory each run)
  rm -rf "$work/state" && mkdir -p "$work/state"
  t0=$(now)
  out=$(cd "$work/state" && "$BIN" produce --users "sample:$USERS" --from 2025-03-03 --to "$(date -u -d "2025-03-03 + $DAYS days" +%F)" --quiet)
  t1=$(now)
  events=$(sed -E 's/^produced ([0-9]+) events.*/\1/' <<<"$out")
  bytes=$(du -sb "$work/state/.hrflow/stream" | cut -f1)
  prod+=("$(awk -v e="$events" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", e / (b - a)}')")
  prod_mb+=("$(awk -v n="$bytes" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", n / 1e6 / (b - a)}')")

  # 3. the disk: write the same number of bytes sequentially and fdatasync
  mb=$(( (bytes + 1048575) / 1048576 ))
  t0=$(now)
  dd if=/dev/zero of="$work/dd.bin" bs=1M count="$mb" conv=fdatasync status=none
  t1=$(now)
  disk+=("$(awk -v n="$mb" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", n * 1.048576 / (b - a)}')")
  rm -f "$work/dd.bin"
done

m_sim=$(printf '%s\n' "${sim[@]}" | median)
m_prod=$(printf '%s\n' "${prod[@]}" | median)
m_prod_mb=$(printf '%s\n' "${prod_mb[@]}" | median)
m_disk=$(printf '%s\n' "${disk[@]}" | median)
echo "produce: $USERS users x $DAYS days (${events} events, $((bytes / 1000000)) MB in the log), median of $RUNS runs"
printf '  %-44s %14s\n' "simulator alone (simulate + JSON)" "$(printf '%.0f events/s' "$m_sim")"
printf '  %-44s %14s  %8s MB/s\n' "backfill into the local log (fsync/batch)" "$(printf '%.0f events/s' "$m_prod")" "$m_prod_mb"
printf '  %-44s %14s  %8s MB/s\n' "dd conv=fdatasync, same bytes, same disk" "" "$m_disk"
awk -v p="$m_prod" -v s="$m_sim" -v pm="$m_prod_mb" -v d="$m_disk" 'BEGIN {
  printf "  ratios: backfill / simulator alone = %.2f; backfill MB/s / dd MB/s = %.2f; backfill / 1,000,000 target = %.2f\n", p / s, pm / d, p / 1e6 }'
