#!/usr/bin/env bash
# Runner overhead of `hrflow build` on a project over 10M rows, against the same compiled SQL run
# directly through DuckDB's C API (bench/transform_direct.cpp) in the same run. Target: < 5%.
# Usage: bench/transform.sh [BUILD_DIR] [ROWS] [RUNS]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROWS=${2:-10000000}
RUNS=${3:-3}
HRFLOW=$BUILD/hrflow
DIRECT=$BUILD/bench/transform_direct
[ -x "$HRFLOW" ] && [ -x "$DIRECT" ] || { echo "build first: $HRFLOW and $DIRECT are needed" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
P=$WORK/project
mkdir -p "$P/models"
cat > "$P/dbt_project.yml" <<YML
name: bench
models:
  bench:
    +materialized: table
YML
cat > "$P/models/events.sql" <<SQL
select i as id, i % 5000 as user_id, 40 + (i * 7919) % 160 as heart_rate,
       timestamp '2024-01-01' + to_seconds(i) as ts
from range($ROWS) t(i)
SQL
cat > "$P/models/stg_events.sql" <<'SQL'
select id, user_id, heart_rate, ts, cast(ts as date) as event_date
from {{ ref('events') }}
where heart_rate between 5 and 300
SQL
cat > "$P/models/daily.sql" <<'SQL'
select user_id, event_date, count(*) as n, avg(heart_rate) as avg_hr, max(heart_rate) as max_hr
from {{ ref('stg_events') }}
group by all
SQL
cat > "$P/models/schema.yml" <<'YML'
version: 2
models:
  - name: stg_events
    columns:
      - name: id
        tests: [unique, not_null]
      - name: heart_rate
        tests:
          - dbt_expectations.expect_column_values_to_be_between: {min_value: 5, max_value: 300}
  - name: daily
    tests:
      - dbt_utils.unique_combination_of_columns: {combination_of_columns: [user_id, event_date]}
YML
printf 'transform:\n  project_dir: project\n' > "$WORK/hrflow.yml"
cd "$WORK"
# Compile once, then turn the compiled SQL into the statements the peer runs.
"$HRFLOW" compile >/dev/null
STMTS=$WORK/direct.sql
: > "$STMTS"
for m in events stg_events daily; do
  { echo "create or replace table main.$m as"; cat ".hrflow/target/compiled/bench/models/$m.sql"; echo; echo "-- statement"; } >> "$STMTS"
done
for t in .hrflow/target/compiled/bench/models/schema.yml/*.sql; do
  { echo "select count(*) from ("; cat "$t"; echo ") t"; echo "-- statement"; } >> "$STMTS"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
H=(); D=()
for i in $(seq "$RUNS"); do
  rm -f direct.duckdb direct.duckdb.wal
  s=$(date +%s.%N)
  "$DIRECT" direct.duckdb "$STMTS" >/dev/null
  D+=("$(echo "$(date +%s.%N) - $s" | bc)")  # wall time, process start to exit, as for hrflow
  rm -rf .hrflow/warehouse.duckdb .hrflow/warehouse.duckdb.wal
  s=$(date +%s.%N)
  "$HRFLOW" build >/dev/null
  H+=("$(echo "$(date +%s.%N) - $s" | bc)")
done
HM=$(printf '%s\n' "${H[@]}" | median)
DM=$(printf '%s\n' "${D[@]}" | median)
echo "transform: hrflow build of 3 models + 4 tests over $ROWS rows, $RUNS runs"
printf '  hrflow build   median %.3fs  (runs: %s)\n' "$HM" "${H[*]}"
printf '  direct DuckDB  median %.3fs  (runs: %s)\n' "$DM" "${D[*]}"
echo "$HM $DM" | awk '{printf "  ratio %.3f, runner overhead %.1f%% (target < 5%%)\n", $1 / $2, ($1 / $2 - 1) * 100}'
