#!/usr/bin/env bash
# `hrflow serve` in continuous operation, three parts in one run:
#   1. freshness: `produce --live` with FRESH_USERS users at --speed 1 for FRESH_SECONDS; for every
#      reading, the time from its production (its event time) to the first poll of serve's API that
#      counted it in serving.fct_heart_rates; median and p95, against the original's once-a-day
#      schedule (a reading waits for the next daily run: median 12 h, p95 22.8 h). Target p95 < 10 s.
#   2. idle cost: a warehouse of IDLE_USERS x IDLE_DAYS built by the command line (as `hrflow demo`
#      does), then serve with nothing arriving: its CPU over IDLE_SECONDS (utime + stime from /proc),
#      in % of one core. Target < 2%.
#   3. soak: `produce --live --speed 60` with SOAK_USERS users for SOAK_MINUTES under serve: serve's RSS
#      after the first 5 minutes and at the end (target: within 10%), the fact table's lag at both
#      (a growing backlog shows as a growing lag), and lake files per closed hour and partition
#      (merged by sync: as without live mode, one file unless an hour exceeds sink.flush_size).
# Usage: bench/live.sh [BUILD_DIR]; env FRESH_USERS (10000) FRESH_SECONDS (120) IDLE_USERS (2000)
#   IDLE_DAYS (60: ~60M readings) IDLE_SECONDS (300) SOAK_USERS (10000) SOAK_MINUTES (30)
#   PARTS ("fresh idle soak"). Needs minutes and, at the default idle scale, ~20 GB of disk.
set -euo pipefail
BUILD=${1:-build}
BIN=$(realpath "$BUILD/hrflow")
FRESH_USERS=${FRESH_USERS:-10000} FRESH_SECONDS=${FRESH_SECONDS:-120}
IDLE_USERS=${IDLE_USERS:-2000} IDLE_DAYS=${IDLE_DAYS:-60} IDLE_SECONDS=${IDLE_SECONDS:-300}
SOAK_USERS=${SOAK_USERS:-10000} SOAK_MINUTES=${SOAK_MINUTES:-30}
PARTS=${PARTS:-"fresh idle soak"}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-bench-live.XXXXXX")
chmod 755 "$work"  # the managed PostgreSQL runs as its own user when we are root
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in "$work"/*/; do [ -f "$d/hrflow.yml" ] && "$BIN" -c "$d/hrflow.yml" oltp down >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh state directory with its own managed PostgreSQL, web and SQL ports: sets D, PORT, H().
setup() {
  D="$work/$1"
  mkdir -p "$D"
  PORT=$(free_port)
  cat >"$D/hrflow.yml" <<YML
state_dir: $D/state
oltp:
  port: $(free_port)
lake:
  compression: ${2:-none}
query:
  min_cell_users: 1
serve:
  sql:
    port: $(free_port)
YML
}
H() { "$BIN" -c "$D/hrflow.yml" "$@"; }
start_serve() {
  "$BIN" -c "$D/hrflow.yml" serve --port "$PORT" >"$D/serve.log" 2>&1 &
  SERVE_PID=$!
  pids+=("$SERVE_PID")
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && return; sleep 0.1; done
  echo "serve did not start; see $D/serve.log" >&2
  exit 1
}
fact_rows() {
  local body
  body=$(curl -s -m 10 -X POST -d '{"metrics":["readings"]}' "http://127.0.0.1:$PORT/api/dashboard/query" || true)
  sed -nE 's/.*"rows":\[\[([0-9]+)\]\].*/\1/p' <<<"$body"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
fact_lag_s() {  # serve's own lag of serving.fct_heart_rates (oldest upstream data it lacks)
  curl -s "http://127.0.0.1:$PORT/api/assets" |
    python3 -c 'import json,sys; print(next((a["lag_ms"] / 1000 for a in json.load(sys.stdin) if a["key"] == "serving.fct_heart_rates"), -1))'
}

# --- 1. freshness ---------------------------------------------------------------------------------
if [[ " $PARTS " == *" fresh "* ]]; then
  setup fresh none
  H oltp up >/dev/null
  H oltp generate --users "$FRESH_USERS" >/dev/null
  start_serve
  "$BIN" -c "$D/hrflow.yml" produce --live --speed 1 --quiet >"$D/produce.log" 2>&1 &
  produce_pid=$!
  pids+=("$produce_pid")
  end=$(( $(date +%s) + FRESH_SECONDS ))
  while [ "$(date +%s)" -lt "$end" ]; do
    echo "$(date +%s.%N) $(fact_rows)" >>"$D/polls"
    sleep 0.5
  done
  # Polls go on a little after the producer stopped, so the last readings can still be seen.
  kill -INT "$produce_pid" 2>/dev/null || true
  wait "$produce_pid" 2>/dev/null || true
  for _ in $(seq 40); do echo "$(date +%s.%N) $(fact_rows)" >>"$D/polls"; sleep 0.5; done
  python3 - "$D/state/lake" "$D/polls" "$FRESH_USERS" <<'PY'
import json, os, sys
lake, polls, users = sys.argv[1], sys.argv[2], sys.argv[3]
times = []
for root, _, files in os.walk(os.path.join(lake, "topics")):
    for f in files:
        if f.endswith(".json"):
            for line in open(os.path.join(root, f)):
                try: times.append(float(json.loads(line)["timestamp"]))
                except Exception: pass
times.sort()
samples = []
for l in open(polls):
    t, *n = l.split()
    samples.append((float(t), int(n[0]) if n else 0))
lat, j = [], 0
for i, t in enumerate(times, 1):
    while j < len(samples) and samples[j][1] < i: j += 1
    if j == len(samples): break
    lat.append(samples[j][0] - t)
if not lat:
    print("freshness: no reading became queryable; see the serve log"); sys.exit(1)
lat.sort()
med, p95 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.95))]
print(f"freshness, {users} users live: {len(lat)} of {len(times)} readings queryable in serving.fct_heart_rates; "
      f"produced -> queryable median {med:.1f}s, p95 {p95:.1f}s (target p95 < 10s)")
print(f"  vs the original's daily run (median 12.0h, p95 22.8h): {12 * 3600 / med:.0f}x (median), {0.95 * 86400 / p95:.0f}x (p95)")
PY
  kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || true
  H oltp down >/dev/null
fi

# --- 2. idle cost ---------------------------------------------------------------------------------
if [[ " $PARTS " == *" idle "* ]]; then
  setup idle zstd
  H oltp up >/dev/null
  from=$(date -u -d "$IDLE_DAYS days ago 00:00" +%Y-%m-%d) to=$(date -u +%Y-%m-%d)
  before=$(date -u -d "$((IDLE_DAYS + 1)) days ago" +%Y-%m-%d)
  echo "idle: building a warehouse of $IDLE_USERS users x $IDLE_DAYS days (as hrflow demo does) ..." >&2
  t0=$(date +%s)
  H oltp generate --users "$IDLE_USERS" --as-of "$before" >/dev/null
  H sync oltp -q >/dev/null
  H oltp mutate --from "$from" --to "$to" >/dev/null
  H produce --from "$from" --to "$to" --quiet >/dev/null
  H sink --once >/dev/null 2>&1
  H sync -q >/dev/null
  H build >"$D/build.log" 2>&1 || { tail -20 "$D/build.log" >&2; exit 1; }
  readings=$(H query --format csv --sql "SELECT count(*) FROM serving.fct_heart_rates" | tail -1)
  echo "idle: built $readings readings in $(( $(date +%s) - t0 ))s" >&2
  start_serve
  sleep 30  # startup: the first observation of the lake, the first CDC poll
  runs_before=$(curl -s "http://127.0.0.1:$PORT/api/runs" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  c0=$(cpu_ticks "$SERVE_PID"); s0=$(date +%s.%N)
  sleep "$IDLE_SECONDS"
  c1=$(cpu_ticks "$SERVE_PID"); s1=$(date +%s.%N)
  runs=$(curl -s "http://127.0.0.1:$PORT/api/runs" | python3 -c '
import json, sys
runs = json.load(sys.stdin)
models = [r for r in runs if not r["asset"].startswith("raw.") and not r["trigger"].startswith("hrflow ")]
print(len(runs), len(models))')
  hz=$(getconf CLK_TCK)
  awk -v c="$((c1 - c0))" -v hz="$hz" -v a="$s0" -v b="$s1" -v n="$readings" -v r="$runs" -v rb="$runs_before" 'BEGIN {
    split(r, x, " ");
    printf "idle cost on %d readings: serve used %.2f%% of one core over %.0fs with no new data (target < 2%%); ", n, 100 * c / hz / (b - a), b - a;
    printf "runs in serve'"'"'s history: %d before, %d after (models run by serve itself: %d)\n", rb, x[1], x[2] }'
  kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || true
  H oltp down >/dev/null
  rm -rf "$D"
fi

# --- 3. soak --------------------------------------------------------------------------------------
if [[ " $PARTS " == *" soak "* ]]; then
  setup soak zstd
  H oltp up >/dev/null
  H oltp generate --users "$SOAK_USERS" >/dev/null
  start_serve
  "$BIN" -c "$D/hrflow.yml" produce --live --speed 60 --quiet >"$D/produce.log" 2>&1 &
  produce_pid=$!
  pids+=("$produce_pid")
  sleep 300
  rss5=$(rss_mb "$SERVE_PID") lag5=$(fact_lag_s)
  sleep $(( SOAK_MINUTES * 60 - 300 ))
  rss_end=$(rss_mb "$SERVE_PID") lag_end=$(fact_lag_s)
  kill -INT "$produce_pid" 2>/dev/null || true
  wait "$produce_pid" 2>/dev/null || true
  # Files per hour and partition, for the hours sync has merged (all but the newest two of each partition).
  python3 - "$D/state/lake" <<'PY' > "$D/files.txt"
import collections, os, re, sys
count = collections.Counter()
for root, _, files in os.walk(os.path.join(sys.argv[1], "topics")):
    m = re.search(r"year=(\d+)/month=(\d+)/day=(\d+)/hour=(\d+)", root)
    if not m: continue
    for f in files:
        p = f.split("+")[1]
        count[(p, m.groups())] += 1
by_p = collections.defaultdict(list)
for (p, hour), n in count.items(): by_p[p].append((hour, n))
closed = [n for hours in by_p.values() for _, n in sorted(hours)[:-2]]
print(len(closed), max(closed) if closed else 0, sum(closed) / len(closed) if closed else 0)
PY
  read -r hours max_files mean_files <"$D/files.txt"
  awk -v a="$rss5" -v b="$rss_end" -v l5="$lag5" -v le="$lag_end" -v h="$hours" -v mx="$max_files" -v mn="$mean_files" \
      -v u="$SOAK_USERS" -v m="$SOAK_MINUTES" 'BEGIN {
    printf "soak, %d users at --speed 60 for %d min: serve RSS %d MB after 5 min, %d MB at the end (%.2fx, target within 1.10x); ", u, m, a, b, b / a;
    printf "fact lag %.0fs -> %.0fs; lake files per closed hour and partition: max %d, mean %.2f over %d\n", l5, le, mx, mn, h }'
fi
