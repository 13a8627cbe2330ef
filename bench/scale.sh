#!/usr/bin/env bash
# The whole pipeline at fleet scale: produce -> sink -> sync -> build, at each size given (millions of
# readings; default "20 200"), with each stage's readings/s and peak RSS (from the process, GNU time),
# then one new hour and the incremental build with its tests. Prints, per size, the full build's
# seconds per million readings and the ratio between the sizes (target: the largest within 1.2x of the
# smallest), whether the full build stayed under warehouse.memory_limit (MEMORY_LIMIT, 4GB), the
# incremental build's time (target < 5 s), and a projection for one year of 9,999 users from the
# measured per-stage rates of the largest size.
# Usage: bench/scale.sh [BUILD_DIR] [SIZES...]; env USERS (2000) MEMORY_LIMIT (4GB). Needs ~1.2 GB of disk
# per 10M readings (lake.compression: zstd) and minutes per 10M; everything is removed afterwards.
set -euo pipefail
BUILD=${1:-build}
shift || true
SIZES=${*:-"20 200"}
BIN=$(realpath "$BUILD/hrflow")
USERS=${USERS:-2000}
MEMORY_LIMIT=${MEMORY_LIMIT:-4GB}
PER_USER_DAY=496  # readings per user and day the simulator produces (measured: 59.5M for 2,000 users x 60 days)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-bench-scale.XXXXXX")
chmod 755 "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cleanup() {
  for d in "$work"/*/; do [ -f "$d/hrflow.yml" ] && "$BIN" -c "$d/hrflow.yml" oltp down >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# timed NAME CMD...: runs CMD under GNU time; appends "NAME seconds peak_rss_mb" to $D/times.
timed() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$D/time.$name" "$@" >"$D/log.$name" 2>&1 || { tail -20 "$D/log.$name" >&2; exit 1; }
  read -r secs kb <"$D/time.$name"
  echo "$name $secs $((kb / 1024))" >>"$D/times"
}
sql() { "$BIN" -c "$D/hrflow.yml" query --format csv --sql "$1" | tail -1; }

for size in $SIZES; do
  D="$work/$size"
  mkdir -p "$D"
  days=$(( (size * 1000000 + USERS * PER_USER_DAY - 1) / (USERS * PER_USER_DAY) ))
  cat >"$D/hrflow.yml" <<YML
state_dir: $D/state
oltp:
  port: $(free_port)
lake:
  compression: zstd
warehouse:
  memory_limit: $MEMORY_LIMIT
serve:
  sql:
    port: 0
YML
  H() { "$BIN" -c "$D/hrflow.yml" "$@"; }
  from=$(date -u -d "$days days ago 00:00" +%Y-%m-%d) to=$(date -u -d "today 00:00" +%Y-%m-%d)
  echo "== ${size}M readings: $USERS users x $days days ($from .. $to), warehouse.memory_limit $MEMORY_LIMIT" >&2
  H oltp up >/dev/null
  H oltp generate --users "$USERS" --as-of "$(date -u -d "$((days + 1)) days ago" +%Y-%m-%d)" >/dev/null
  H sync oltp -q >/dev/null
  H oltp mutate --from "$from" --to "$to" >/dev/null
  : >"$D/times"
  timed produce "$BIN" -c "$D/hrflow.yml" produce --from "$from" --to "$to" --quiet
  timed sink "$BIN" -c "$D/hrflow.yml" sink --once
  timed sync "$BIN" -c "$D/hrflow.yml" sync -q
  if ! /usr/bin/time -f "%e %M" -o "$D/time.build" "$BIN" -c "$D/hrflow.yml" build >"$D/log.build" 2>&1; then
    echo "full build FAILED under warehouse.memory_limit $MEMORY_LIMIT:" >&2
    grep -iE "error|memory" "$D/log.build" | head -5 >&2
    echo "build failed 0" >>"$D/times"
  else
    read -r secs kb <"$D/time.build"
    echo "build $secs $((kb / 1024))" >>"$D/times"
  fi
  readings=$(sql "SELECT count(*) FROM raw.heart_rate_stream")
  # One new hour: produced, sunk, synced, then the incremental build with its tests.
  next=$(date -u -d "$to" +%Y-%m-%dT00:00) after=$(date -u -d "$to 01:00" +%Y-%m-%dT%H:%M)
  H oltp mutate --from "$next" --to "$after" >/dev/null 2>&1 || true
  H produce --from "$next" --to "$after" --quiet >/dev/null
  H sink --once >/dev/null 2>&1
  H sync -q >/dev/null
  timed incremental "$BIN" -c "$D/hrflow.yml" build
  echo "$size $readings" >"$D/readings"
  printf '%-12s %9s %14s %12s\n' stage seconds readings/s peak_rss_MB
  while read -r name secs mb; do
    rate=$(awk -v n="$readings" -v s="$secs" 'BEGIN { if (s > 0 && n > 0) printf "%.0f", n / s; else print "-" }')
    [ "$name" = incremental ] && rate="-"
    printf '%-12s %9s %14s %12s\n' "$name" "$secs" "$rate" "$mb"
  done <"$D/times"
  H oltp down >/dev/null
  rm -rf "$D/state"
done

python3 - "$work" $SIZES <<'PY'
import sys, os
work, sizes = sys.argv[1], sys.argv[2:]
rows = {}
for s in sizes:
    t = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(os.path.join(work, s, "times"))}
    n = int(open(os.path.join(work, s, "readings")).read().split()[1])
    rows[s] = (n, t)
print()
for s, (n, t) in rows.items():
    b, rss = t["build"]
    full = "FAILED" if b == 0 else f"{b:.0f}s, {b / (n / 1e6):.2f} s per million readings, peak RSS {rss} MB"
    print(f"{s}M: full build {full}; incremental build after one new hour, tests included: "
          f"{t['incremental'][0]:.1f}s (target < 5s)")
if len(rows) > 1:
    (n0, t0), (n1, t1) = rows[sizes[0]], rows[sizes[-1]]
    if t0["build"][0] > 0 and t1["build"][0] > 0:
        r = (t1["build"][0] / n1) / (t0["build"][0] / n0)
        print(f"seconds per million readings of the full build, {sizes[-1]}M / {sizes[0]}M: {r:.2f}x (target <= 1.2x)")
n, t = rows[sizes[-1]]
year = 9999 * 365 * 496
print(f"projection for one year of 9,999 users ({year / 1e9:.2f} billion readings) from the {sizes[-1]}M rates:")
for stage in ("produce", "sink", "sync", "build"):
    secs = t[stage][0]
    if secs > 0:
        print(f"  {stage:8s} {year / (n / secs) / 3600:6.1f} h")
PY
