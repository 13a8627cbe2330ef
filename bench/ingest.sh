#!/usr/bin/env bash
# Ingestion benchmarks, each against a peer in the same run:
#  1. lake -> raw rows/s: `hrflow sync lake`'s loader vs DuckDB's read_json(..., columns=...) into a table
#     over the same files (bench/ingest_lake_bench.cpp; target >= 1.5x DuckDB).
#  2. CDC changes/s applied end to end: a throwaway PostgreSQL (initdb as the postgres user when root),
#     N inserts + N updates + N/10 deletes committed, then `hrflow sync oltp` applies them into the
#     warehouse; compared with pg_recvlogical merely streaming the same changes (pgoutput decoding
#     without applying them) as the floor of what a replication client can do.
# Usage: bench/ingest.sh [build-dir]   Env: LAKE_FILES, LAKE_ROWS, CDC_ROWS, REPS.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
LAKE_FILES=${LAKE_FILES:-40}
LAKE_ROWS=${LAKE_ROWS:-50000}
CDC_ROWS=${CDC_ROWS:-100000}
REPS=${REPS:-3}

echo "-- lake -> raw"
"$BUILD/bench/ingest_lake_bench" "$LAKE_FILES" "$LAKE_ROWS" "$REPS"

echo "-- CDC (PostgreSQL -> raw.users)"
PG_BIN=${HRFLOW_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ]; then echo "PostgreSQL 15 not installed (make setup); CDC benchmark skipped"; exit 0; fi
WORK=$(mktemp -d /tmp/hrflow-bench-cdc.XXXXXX)
chmod 755 "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
cleanup() { as_pg "$PG_BIN/pg_ctl" stop -D "$WORK/pg" -m immediate >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust --no-sync >/dev/null
printf "wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" >> "$WORK/pg/postgresql.auto.conf"
printf "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n" > "$WORK/pg/pg_hba.conf"
as_pg "$PG_BIN/pg_ctl" start -D "$WORK/pg" -w -l "$WORK/pg/server.log" -o "-p $PORT" >/dev/null
PSQL=(psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE hrflow" >/dev/null
URL="postgresql://postgres@127.0.0.1:$PORT/hrflow"
"${PSQL[@]}" -d hrflow >/dev/null <<SQL
CREATE TABLE users (user_id int primary key, first_name varchar, last_name varchar, date_of_birth int,
  sex varchar(1), height smallint, weight smallint, blood_type varchar(3), race varchar(1),
  origin_country_code varchar(2), origin_country_name varchar(45), address varchar(100),
  address_country_code varchar(2), address_country_name varchar(45), last_update timestamp default now());
CREATE TABLE activities (activity_id int primary key, activity_name varchar(45), last_update timestamp default now());
SQL
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=(); peer=()
for r in $(seq 1 "$REPS"); do
  cat > "$WORK/hrflow.yml" <<YML
state_dir: $WORK/state-$r
oltp:
  url: $URL
sync:
  cdc:
    slot: bench_slot_$r
    publication: bench_pub
YML
  "$BUILD/hrflow" --config "$WORK/hrflow.yml" sync oltp -q >/dev/null   # slot + (empty) snapshot
  "${PSQL[@]}" -d hrflow -c "SELECT pg_create_logical_replication_slot('peer_slot_$r', 'pgoutput')" >/dev/null
  base=$(( (r - 1) * CDC_ROWS ))
  "${PSQL[@]}" -d hrflow >/dev/null <<SQL
INSERT INTO users SELECT $base + i, 'Anna', 'Berg', 19800101, 'F', 165, 60 + i % 40, 'A+', 'W', 'SE', 'Sweden',
  'Storgatan ' || i, 'SE', 'Sweden' FROM generate_series(1, $CDC_ROWS) i;
UPDATE users SET weight = weight + 1 WHERE user_id > $base;
DELETE FROM users WHERE user_id > $base AND user_id % 10 = 0;
SQL
  changes=$(( CDC_ROWS + CDC_ROWS + CDC_ROWS / 10 ))
  t0=$(date +%s.%N)
  "$BUILD/hrflow" --config "$WORK/hrflow.yml" sync oltp -q > "$WORK/out-$r.txt"
  t1=$(date +%s.%N)
  got=$(grep -o '[0-9,]* changes' "$WORK/out-$r.txt" | head -1 | tr -d ', changes')
  [ "$got" = "$changes" ] || { echo "unexpected: $(cat "$WORK/out-$r.txt") (expected $changes changes)"; exit 1; }
  ours+=("$(echo "$changes / ($t1 - $t0)" | bc -l)")
  # Peer: pg_recvlogical streaming the same changes to /dev/null until the current WAL end.
  end=$("${PSQL[@]}" -d hrflow -tA -c "SELECT pg_current_wal_lsn()")
  t0=$(date +%s.%N)
  pg_recvlogical -h 127.0.0.1 -p "$PORT" -U postgres -d hrflow --slot "peer_slot_$r" --start -E "$end" \
    -o proto_version=1 -o publication_names=bench_pub -f /dev/null --no-loop 2>/dev/null || true
  t1=$(date +%s.%N)
  peer+=("$(echo "$changes / ($t1 - $t0)" | bc -l)")
  "${PSQL[@]}" -d hrflow -c "SELECT pg_drop_replication_slot('peer_slot_$r')" >/dev/null
done
a=$(printf "%s\n" "${ours[@]}" | median); b=$(printf "%s\n" "${peer[@]}" | median)
printf "CDC applied end to end   hrflow sync oltp: median %.0f changes/s   pg_recvlogical (stream only, no apply): median %.0f changes/s   ratio %.2fx\n" "$a" "$b" "$(echo "$a / $b" | bc -l)"
