#!/usr/bin/env bash
# The research dashboard's queries (every chart + the activity predictor), median and p95, on a
# synthetic star schema of 50M+ readings in DuckDB (hrflow's warehouse), and the same queries on a
# throwaway PostgreSQL 15 holding the same star schema (bench/dashboard_postgres.sql), with ratios.
# Target: p95 under 300 ms per dashboard query. The DuckDB figures are the dashboard's answers with
# small-cell suppression at MIN_CELL_USERS people (11; the statements column counts the answer's SQL
# statements, its differencing checks included), each run paired with the same answer without
# suppression timed right after it (the ratio is the median of the pairs, robust to a busy machine).
#   bench/dashboard.sh [BUILD_DIR]    env: USERS (2000) DAYS (365) PER_DAY (70) REPEATS (5) PG_REPEATS (3)
#                                          MIN_CELL_USERS (11)
#                                          FACT_REPEATS (1; 0 skips the fact-table-only runs)
#                                          SKIP_PG=1 to leave PostgreSQL out
# The generated data is kept in BUILD_DIR/bench-data/ and reused by the next run.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
USERS=${USERS:-2000} DAYS=${DAYS:-365} PER_DAY=${PER_DAY:-70} REPEATS=${REPEATS:-5} PG_REPEATS=${PG_REPEATS:-3}
BENCH="$BUILD/src/query/dashboard_bench"
DATA="$BUILD/bench-data/dashboard-${USERS}x${DAYS}x${PER_DAY}"
mkdir -p "$DATA"
if [ ! -f "$DATA/warehouse.duckdb" ]; then
  echo "generating $USERS users x $DAYS days x $PER_DAY readings/day in DuckDB ..." >&2
  "$BENCH" generate "$DATA/warehouse.duckdb.tmp" "$USERS" "$DAYS" "$PER_DAY" >&2
  mv "$DATA/warehouse.duckdb.tmp" "$DATA/warehouse.duckdb"
fi
K=${MIN_CELL_USERS:-11}
echo "DuckDB, suppression at $K people ($REPEATS runs per query; ms; then rows, source, statements, hidden cells," >&2
echo "and each run's answer without suppression timed right after it: median ms, median paired ratio):" >&2
"$BENCH" run "$DATA/warehouse.duckdb" "$REPEATS" "$K" | tee "$DATA/duckdb.txt"
echo
printf '%-14s %12s %12s %10s %11s\n' query with_med without_med ratio statements
awk 'NF >= 9 { printf "%-14s %12.1f %12.1f %9.2fx %11d\n", $1, $2, $8, $9, $6 }' "$DATA/duckdb.txt"
if [ "${FACT_REPEATS:-1}" -gt 0 ]; then
  echo "DuckDB, every query from the fact table, no rollups (${FACT_REPEATS:-1} runs per query; ms):" >&2
  "$BENCH" run-fact "$DATA/warehouse.duckdb" "${FACT_REPEATS:-1}" | tee "$DATA/duckdb-fact.txt"
fi
if [ "${SKIP_PG:-0}" = 1 ]; then exit 0; fi
echo "PostgreSQL 15 ($PG_REPEATS runs per query; ms):" >&2
"$BENCH" pg "$DATA/warehouse.duckdb" "$PG_REPEATS" bench/dashboard_postgres.sql "$DATA/postgres" | tee "$DATA/postgres.txt"
echo
printf '%-14s %12s %12s %12s %12s %10s  %s\n' query duckdb_med duckdb_p95 pg_med pg_p95 "pg/duckdb" "duckdb reads"
join <(sort "$DATA/duckdb.txt") <(sort "$DATA/postgres.txt") -a 1 | awk '{
  if (NF >= 10) printf "%-14s %12.1f %12.1f %12.1f %12.1f %9.1fx  %s\n", $1, $2, $3, $(NF-2), $(NF-1), $(NF-2) / $2, $5;
  else printf "%-14s %12.1f %12.1f %12s %12s %10s  %s\n", $1, $2, $3, "-", "-", "-", $5 }'
