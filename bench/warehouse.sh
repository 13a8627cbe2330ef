#!/usr/bin/env bash
# Incremental warehouse build against a full rebuild, in one run: `hrflow demo` loads a fleet of USERS
# over DAYS days (10M+ readings by default) into a private state dir; then, RUNS times, one more hour of
# readings is produced, sunk and synced, and the models are built incrementally (`hrflow run`, timed);
# then `hrflow run --full-refresh` is timed RUNS times on the same warehouse. Target: incremental >= 20x
# faster. The data tests (`hrflow build` = run + test) scan whole tables either way; their time is
# printed apart, with the slowest nodes of an incremental build.
# Usage: bench/warehouse.sh [BUILD_DIR]   Env: USERS (1000), DAYS (21), RUNS (3).
set -euo pipefail
BIN=$(realpath "${1:-build}/hrflow")
USERS=${USERS:-1000}
DAYS=${DAYS:-21}
RUNS=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-bench-warehouse.XXXXXX")
chmod 755 "$work"  # the managed PostgreSQL runs as the postgres user, which must reach its data dir
port=$((20000 + RANDOM % 20000))  # the managed PostgreSQL's port, away from a demo's default
cd "$work"
printf 'oltp:\n  port: %s\n' "$port" > hrflow.yml
trap '"$BIN" oltp down >/dev/null 2>&1 || true; cd /; rm -rf "$work"' EXIT

echo "setting up: hrflow demo --users $USERS --days $DAYS (not timed)"
"$BIN" demo --no-serve --users "$USERS" --days "$DAYS" > demo.log 2>&1 || { tail -30 demo.log; exit 1; }
read -r from to < .hrflow/demo/period
readings=$("$BIN" query --sql 'SELECT count(*) FROM serving.fct_heart_rates' --format csv | tail -1)
echo "warehouse: $readings readings in serving.fct_heart_rates"

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > last.log 2>&1 || { tail -30 last.log; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'; }
utc() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

inc=()
for i in $(seq 1 "$RUNS"); do
  a=$((to + (i - 1) * 3600)); b=$((a + 3600))
  "$BIN" produce --quiet --from "$(utc $a)" --to "$(utc $b)" > /dev/null 2>&1
  "$BIN" sink --once > /dev/null 2>&1
  "$BIN" sync --quiet > /dev/null
  inc+=("$(seconds "$BIN" run)")
  grep -q 'ERROR=0' last.log || { echo "incremental run had errors:"; tail -20 last.log; exit 1; }
done
echo "slowest models of the last incremental run:"
grep -E 'OK .* in [0-9.]+s\]' last.log | awk '{t=$NF; gsub(/s\]/, "", t); print t, $0}' | sort -rn | head -5 | cut -d' ' -f2- | sed 's/^/  /'
tests=$(seconds "$BIN" test)
grep -q 'ERROR=0' last.log || { echo "data tests had errors:"; tail -20 last.log; exit 1; }
full=()
for i in $(seq 1 "$RUNS"); do
  full+=("$(seconds "$BIN" run --full-refresh)")
done
mi=$(median "${inc[@]}"); mf=$(median "${full[@]}")
printf 'incremental models after one new hour: median %.2f s  (runs: %s)\n' "$mi" "${inc[*]}"
printf 'full rebuild of the models:           median %.2f s  (runs: %s)\n' "$mf" "${full[*]}"
printf 'data tests (hrflow test, same either way): %.2f s\n' "$tests"
awk -v f="$mf" -v i="$mi" 'BEGIN {printf "ratio full / incremental: %.1fx  (target >= 20x)\n", f / i}'
