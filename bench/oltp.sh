#!/usr/bin/env bash
# Benchmark: generate + load 1,000,000 users with `hrflow oltp generate` (generation in C++, COPY through
# libpq) against the floor a user would otherwise reach: `psql \copy` of the same rows from a CSV file
# into an equally constrained table, on the same server in the same run. Prints medians and the ratio.
# Usage: bench/oltp.sh [build-dir]   (OLTP_BENCH_USERS and OLTP_BENCH_RUNS override the defaults)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HRFLOW="$BUILD/hrflow"
USERS=${OLTP_BENCH_USERS:-1000000}
RUNS=${OLTP_BENCH_RUNS:-3}
WORK=$(mktemp -d /tmp/hrflow-bench-oltp-XXXXXX)
chmod 755 "$WORK"
cd "$WORK"
PORT=$(( 40000 + RANDOM % 20000 ))
printf 'oltp:\n  port: %s\n' "$PORT" > hrflow.yml
cleanup() { "$HRFLOW" oltp down >/dev/null 2>&1 || true; cd /; rm -rf "$WORK"; }
trap cleanup EXIT

"$HRFLOW" oltp up >/dev/null
URL="postgresql://postgres@127.0.0.1:$PORT/hrflow"
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

hr_times=()
for i in $(seq "$RUNS"); do
  t0=$(now)
  "$HRFLOW" oltp generate --users "$USERS" --seed 42 --as-of 2025-01-01 --replace >/dev/null 2>&1
  t1=$(now)
  hr_times+=("$(calc "$t1 - $t0")")
done

# The same rows as a CSV file, loaded by psql into a table with the same columns and constraints.
"$HRFLOW" oltp export --dir csv >/dev/null
psql -X -q -d "$URL" -c "DROP TABLE IF EXISTS users_psql" -c "CREATE TABLE users_psql (LIKE users INCLUDING ALL)"
pg_times=()
for i in $(seq "$RUNS"); do
  psql -X -q -d "$URL" -c "TRUNCATE users_psql"
  t0=$(now)
  psql -X -q -d "$URL" -v ON_ERROR_STOP=1 -c "\\copy users_psql FROM 'csv/users.csv' WITH (FORMAT csv, HEADER)"
  t1=$(now)
  pg_times+=("$(calc "$t1 - $t0")")
done
rows=$(psql -X -q -t -A -d "$URL" -c "SELECT count(*) FROM users_psql")
[ "$rows" = "$USERS" ] || { echo "psql loaded $rows rows, expected $USERS" >&2; exit 1; }

hr=$(printf '%s\n' "${hr_times[@]}" | median)
pg=$(printf '%s\n' "${pg_times[@]}" | median)
printf 'oltp generate+load %s users, median of %s runs:\n' "$USERS" "$RUNS"
printf '  hrflow oltp generate   %6.2f s  %10.0f rows/s   (runs: %s)\n' "$hr" "$(calc "$USERS / $hr")" "${hr_times[*]}"
printf '  psql \\copy from CSV    %6.2f s  %10.0f rows/s   (runs: %s)\n' "$pg" "$(calc "$USERS / $pg")" "${pg_times[*]}"
printf '  ratio (hrflow rows/s / psql rows/s): %.2f\n' "$(calc "$pg / $hr")"
