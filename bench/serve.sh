#!/usr/bin/env bash
# End-to-end freshness of `hrflow serve` in live mode: how long after a reading is produced it can be
# queried in serving.fct_heart_rates (produce --live -> stream -> sink service -> lake -> eager sync ->
# eager models), against the original's once-a-day schedule (a reading waits for the next daily run:
# uniformly 0-24h, median 12h, p95 22.8h).
#
# At --speed 1 a reading's event time is the moment it is produced. Every POLL seconds the bench counts
# the fact table's rows through serve's dashboard API; afterwards the readings in the lake (sorted by
# event time) say when reading number i was produced, and the first poll that counted >= i rows when it
# became queryable. Prints median and p95 over all readings of the run.
set -euo pipefail
BUILD=${1:-build}
BIN=$(realpath "$BUILD/hrflow")
USERS=${USERS:-2000}
DURATION=${DURATION:-90}
POLL=${POLL:-0.5}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hrflow-bench-serve.XXXXXX")
chmod 755 "$work"  # the managed PostgreSQL runs as its own user when we are root
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
serve_pid="" produce_pid=""
cleanup() {
  [ -n "$produce_pid" ] && kill -TERM "$produce_pid" 2>/dev/null && wait "$produce_pid" 2>/dev/null || true
  [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  "$BIN" -c "$work/hrflow.yml" oltp down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/hrflow.yml" <<YML
state_dir: $work/state
oltp:
  port: $pgport
sink:
  rotate_interval: 1s
  idle_timeout: 1s
YML
H() { "$BIN" -c "$work/hrflow.yml" "$@"; }
H oltp up >/dev/null
H oltp generate --users "$USERS" >/dev/null
"$BIN" -c "$work/hrflow.yml" serve --port "$port" >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
"$BIN" -c "$work/hrflow.yml" produce --live --speed 1 --quiet >"$work/produce.log" 2>&1 &
produce_pid=$!
end=$(( $(date +%s) + DURATION ))
while [ "$(date +%s)" -lt "$end" ]; do
  body=$(curl -s -m 10 -X POST -d '{"metrics":["readings"]}' "http://127.0.0.1:$port/api/dashboard/query" || true)
  n=$(sed -nE 's/.*"rows":\[\[([0-9]+)\]\].*/\1/p' <<<"$body")
  echo "$(date +%s.%N) ${n:-0}" >>"$work/polls"
  sleep "$POLL"
done
kill -TERM "$produce_pid" 2>/dev/null || true
wait "$produce_pid" 2>/dev/null || true
produce_pid=""
python3 - "$work/state/lake" "$work/polls" <<'PY'
import json, os, sys
lake, polls = sys.argv[1], sys.argv[2]
times = []
for root, _, files in os.walk(os.path.join(lake, "topics")):
    for f in files:
        if f.endswith(".json"):
            for line in open(os.path.join(root, f)):
                try: times.append(float(json.loads(line)["timestamp"]))
                except Exception: pass
times.sort()
samples = [tuple(map(float, l.split())) for l in open(polls)]
lat = []
j = 0
for i, t in enumerate(times, 1):
    while j < len(samples) and samples[j][1] < i: j += 1
    if j == len(samples): break          # not queryable before the run ended
    lat.append(samples[j][0] - t)
if not lat:
    print("serve: no reading became queryable; see the serve log"); sys.exit(1)
lat.sort()
med, p95 = lat[len(lat)//2], lat[min(len(lat)-1, int(len(lat)*0.95))]
daily_med, daily_p95 = 12*3600.0, 0.95*24*3600
print(f"serve live freshness (produced -> queryable in serving.fct_heart_rates): {len(lat)} of {len(times)} readings, "
      f"median {med:.1f}s, p95 {p95:.1f}s")
print(f"original once-a-day schedule: median {daily_med/3600:.1f}h, p95 {daily_p95/3600:.1f}h; "
      f"ratio {daily_med/med:.0f}x (median), {daily_p95/p95:.0f}x (p95); target < 10s")
PY
