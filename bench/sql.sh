#!/usr/bin/env bash
# The SQL endpoint of `hrflow serve` under load, against the tool a user would otherwise point a BI
# tool at: PostgreSQL 15 holding the same star schema (bench/dashboard_postgres.sql), in one run.
#   1. pgbench -n -M prepared -c CLIENTS -T SECONDS, one script per dashboard query (each transaction
#      picks one): transactions/s and latency p95 of the endpoint and of PostgreSQL, and the ratio.
#   2. The protocol's own cost: the same queries in-process (dashboard_bench run-fact, DuckDB C API)
#      and through the endpoint (pgbench, one client), p95 per query and the ratio (target <= 1.3x).
#   bench/sql.sh [BUILD_DIR]   env: USERS (300) DAYS (120) PER_DAY (48) CLIENTS (8) DURATION (30)
#                                   REPEATS (20, the per-query runs of part 2)
# Data is generated once into BUILD_DIR/bench-data/ and reused. The machine is shared: run it when it
# is quiet, and read the ratios rather than the absolute figures.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
USERS=${USERS:-300} DAYS=${DAYS:-120} PER_DAY=${PER_DAY:-48} CLIENTS=${CLIENTS:-8} DURATION=${DURATION:-30}
REPEATS=${REPEATS:-20}
BENCH="$BUILD/src/query/dashboard_bench"
HRFLOW="$BUILD/hrflow"
PGBIN=/usr/lib/postgresql/15/bin
command -v pgbench >/dev/null || { echo "sql.sh: pgbench is missing (Debian postgresql-client-15)" >&2; exit 1; }
DATA="$BUILD/bench-data/sql-${USERS}x${DAYS}x${PER_DAY}"
mkdir -p "$DATA"
chmod 755 "$BUILD/bench-data" "$DATA"
if [ ! -f "$DATA/warehouse.duckdb" ]; then
  echo "generating $USERS users x $DAYS days x $PER_DAY readings/day in DuckDB ..." >&2
  "$BENCH" generate "$DATA/warehouse.duckdb.tmp" "$USERS" "$DAYS" "$PER_DAY" >&2
  mv "$DATA/warehouse.duckdb.tmp" "$DATA/warehouse.duckdb"
fi

# One pgbench script per dashboard query, for each side.
QUERIES=$(grep '^-- name:' bench/dashboard_postgres.sql | sed 's/^-- name: //')
rm -rf "$DATA/scripts" && mkdir -p "$DATA/scripts/hrflow" "$DATA/scripts/pg"
for q in $QUERIES; do
  { "$BENCH" sql-literal "$q"; echo ";"; } > "$DATA/scripts/hrflow/$q.sql"
  awk -v q="$q" '/^-- name: /{on = ($3 == q); next} on && !/^--/' bench/dashboard_postgres.sql > "$DATA/scripts/pg/$q.sql"
done
script_args() { for q in $QUERIES; do printf -- '-f %s ' "$1/$q.sql"; done; }

# p95 and count of the latencies (microseconds, column 3) in pgbench -l logs.
p95_ms() { cat "$@" | awk '{print $3}' | sort -n | awk '{a[NR] = $1} END {i = int(NR * 0.95); if (i < 1) i = 1; printf "%.1f", a[i] / 1000}'; }

# --- part 2a: in-process, before serve owns the file ------------------------------------------
echo "in-process (DuckDB C API, $REPEATS runs per query after a warm-up pass; ms):" >&2
"$BENCH" run-fact "$DATA/warehouse.duckdb" 1 > /dev/null
"$BENCH" run-fact "$DATA/warehouse.duckdb" "$REPEATS" > "$DATA/inprocess.txt"

# --- PostgreSQL 15 with the same star schema (loaded once by dashboard_bench) -------------------
if [ ! -f "$DATA/postgres/pgdata/PG_VERSION" ]; then
  echo "loading the star schema into PostgreSQL 15 ..." >&2
  "$BENCH" pg "$DATA/warehouse.duckdb" 1 bench/dashboard_postgres.sql "$DATA/postgres" > /dev/null
fi
PG_PORT=$((55000 + $$ % 1000))
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$PGBIN/pg_ctl" start -D "$DATA/postgres/pgdata" -w -t 120 -l "$DATA/postgres/pgdata/bench-server.log" -o "-p $PG_PORT -k ''" >&2
SERVE_PID=""
cleanup() {
  as_pg "$PGBIN/pg_ctl" stop -D "$DATA/postgres/pgdata" -m fast >/dev/null 2>&1 || true
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# --- hrflow serve on the same warehouse (a project without models: nothing rebuilds it) ---------
SQL_PORT=$((56000 + $$ % 1000))
mkdir -p "$DATA/serve/project/models"
printf 'name: bench\nversion: "1.0.0"\nconfig-version: 2\nprofile: hrflow\nmodel-paths: ["models"]\n' > "$DATA/serve/project/dbt_project.yml"
cat > "$DATA/serve/hrflow.yml" <<EOF
state_dir: $DATA/serve/state
log_level: warn
warehouse:
  path: $DATA/warehouse.duckdb
transform:
  project_dir: $DATA/serve/project
serve:
  sink: false
  sql:
    port: $SQL_PORT
EOF
"$HRFLOW" -c "$DATA/serve/hrflow.yml" serve --port $((57000 + $$ % 1000)) > "$DATA/serve/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do
  psql -X -q "host=127.0.0.1 port=$SQL_PORT dbname=warehouse user=bench sslmode=disable" -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.2
done
HR_CONN="host=127.0.0.1 port=$SQL_PORT dbname=warehouse user=bench sslmode=disable"
PG_CONN="host=127.0.0.1 port=$PG_PORT dbname=bench user=postgres sslmode=disable"

run_pgbench() {  # NAME CONN SCRIPTS_DIR CLIENTS [pgbench options...]
  local name=$1 conn=$2 dir=$3 clients=$4
  shift 4
  rm -rf "$DATA/logs/$name" && mkdir -p "$DATA/logs/$name"
  (cd "$DATA/logs/$name" && pgbench -n -M prepared -c "$clients" -j "$clients" -l "$@" $(script_args "$dir") "$conn" > pgbench.out 2>&1) ||
    { cat "$DATA/logs/$name/pgbench.out" >&2; exit 1; }
}

# --- part 1: throughput under load ---------------------------------------------------------------
echo "pgbench -n -M prepared -c $CLIENTS -T $DURATION, one script per dashboard query:" >&2
run_pgbench hrflow "$HR_CONN" "$DATA/scripts/hrflow" "$CLIENTS" -T "$DURATION"
run_pgbench postgres "$PG_CONN" "$DATA/scripts/pg" "$CLIENTS" -T "$DURATION"
tps() { awk '/^tps = / {printf "%.1f", $3}' "$DATA/logs/$1/pgbench.out"; }
failed() { awk '/^number of failed transactions/ {print $5; exit}' "$DATA/logs/$1/pgbench.out"; }
HR_TPS=$(tps hrflow) PG_TPS=$(tps postgres)
HR_P95=$(p95_ms "$DATA"/logs/hrflow/pgbench_log.*) PG_P95=$(p95_ms "$DATA"/logs/postgres/pgbench_log.*)
printf '%-22s %10s %12s %8s\n' "" "tps" "p95_ms" "failed"
printf '%-22s %10s %12s %8s\n' "hrflow SQL endpoint" "$HR_TPS" "$HR_P95" "$(failed hrflow)"
printf '%-22s %10s %12s %8s\n' "PostgreSQL 15" "$PG_TPS" "$PG_P95" "$(failed postgres)"
awk -v a="$HR_TPS" -v b="$PG_TPS" -v c="$HR_P95" -v d="$PG_P95" \
  'BEGIN {printf "ratio: hrflow/postgres tps %.2fx, postgres/hrflow p95 %.2fx (target: hrflow ahead)\n", a / b, d / c}'

# --- part 2b: through the endpoint, one client, per query ----------------------------------------
echo
printf '%-14s %14s %14s %8s  %s\n' query inproc_p95_ms endpoint_p95_ms ratio "(target <= 1.3x)"
for q in $QUERIES; do
  rm -rf "$DATA/logs/one-$q" && mkdir -p "$DATA/logs/one-$q"
  (cd "$DATA/logs/one-$q" && pgbench -n -M prepared -c 1 -t "$REPEATS" -l -f "$DATA/scripts/hrflow/$q.sql" "$HR_CONN" > pgbench.out 2>&1) ||
    { cat "$DATA/logs/one-$q/pgbench.out" >&2; exit 1; }
  EP=$(p95_ms "$DATA"/logs/one-"$q"/pgbench_log.*)
  IN=$(awk -v q="$q" '$1 == q {print $3}' "$DATA/inprocess.txt")
  awk -v q="$q" -v a="$IN" -v b="$EP" 'BEGIN {printf "%-14s %14.1f %14.1f %7.2fx\n", q, a, b, (a > 0 ? b / a : 0)}'
done
