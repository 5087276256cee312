#!/usr/bin/env bash
# The performance benchmark of issue "cost that grows with due work, not history": in one
# run, with rounds interleaved, on each store backend:
#
#   - poll (GET /v1/videos/tasks/{id}) against a minimal axum JSON server built with the same
#     profile (the ceiling): closed-loop req/s and the server's CPU and context switches per
#     request, then p50/p99 at fixed rates (open loop, latency counted from when each request
#     was due);
#   - submit (POST /v1/videos/generations, a test key on the sandbox): closed-loop throughput
#     and p99, and p99 at a fixed 200/s, with 0, 50k and 200k tasks queued in the store (plus
#     1M finished for the last point; history is written straight in SQL for speed);
#   - idle CPU with that history, start-up time, RSS.
#
# The servers run on CPU 0 (PostgreSQL too), the load generator on CPU 1 (taskset). The
# sandbox is set so that queued tasks wait (one job in flight, a one-hour queue delay): the
# run measures the gateway, not the renderer.
#
# Usage: scripts/bench.sh [sqlite|postgres|all]      (default: all)
# Knobs (environment): BENCH_SECS (5, seconds per measurement), BENCH_ROUNDS (3, interleaved
# poll rounds), BENCH_FINISHED (1000000, finished tasks in history for the last point),
# BENCH_OUT (where the results table goes; default target/bench/results-<time>.md).
# Needs: cargo, python3, taskset, sqlite3 (SQLite history), Debian's postgresql (PostgreSQL).

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHICH=${1:-all}
SECS=${BENCH_SECS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
FINISHED=${BENCH_FINISHED:-1000000}
mkdir -p target/bench
OUT=${BENCH_OUT:-$ROOT/target/bench/results-$(date -u +%Y%m%dT%H%M%SZ).md}
SERVER_CPU=0
LOAD_CPU=1

echo "building (release) ..." >&2
cargo build --release -q -p vidgate -p vidgate-server --example bench_load --example bench_ceiling
BIN=$ROOT/target/release/vidgate
LOAD=$ROOT/target/release/examples/bench_load
CEILING=$ROOT/target/release/examples/bench_ceiling

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vidgate-bench.XXXXXX")
chmod 755 "$WORK"  # the postgres user runs the PostgreSQL cluster inside it
PIDS=()
PG_STOP=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$PG_STOP" ]; then eval "$PG_STOP" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d.get('$2', ''))" "$1"; }
fmt() { python3 -c "import sys; v=float(sys.argv[1]); print(f'{v:,.${2:-0}f}')" "$1"; }
load() { taskset -c $LOAD_CPU "$LOAD" "$@"; }
wait_http() {
  for _ in $(seq 1 300); do
    if python3 - "$1" <<'EOF' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
EOF
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}
cpu_seconds() { python3 -c "f=open('/proc/$1/stat').read().rsplit(')',1)[1].split(); print((int(f[11])+int(f[12]))/100)"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

CEIL_PORT=$(free_port)
taskset -c $SERVER_CPU "$CEILING" "127.0.0.1:$CEIL_PORT" &
PIDS+=($!)
CEIL_PID=$!
wait_http "http://127.0.0.1:$CEIL_PORT/v1/videos/tasks/task_x"

{
  echo "# vidgate benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Command: \`scripts/bench.sh $WHICH\` (BENCH_SECS=$SECS BENCH_ROUNDS=$ROUNDS BENCH_FINISHED=$FINISHED)."
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Servers on CPU $SERVER_CPU, load generator on CPU $LOAD_CPU."
  echo
} >"$OUT"

# --- one backend -------------------------------------------------------------------------
start_vidgate() { # $1 data dir, $2 config
  local port
  port=$(free_port)
  VG_URL="http://127.0.0.1:$port"
  local t0 t1
  mkdir -p "$1"
  t0=$(date +%s.%N)
  VIDGATE_LOG=warn taskset -c $SERVER_CPU "$BIN" serve --config "$2" --data-dir "$1" --listen "127.0.0.1:$port" \
    >>"$1/server.out" 2>>"$1/server.err" &
  VG_PID=$!
  PIDS+=($VG_PID)
  wait_http "$VG_URL/healthz"
  t1=$(date +%s.%N)
  START_MS=$(python3 -c "print(round(($t1-$t0)*1000))")
}
stop_vidgate() { kill -TERM "$VG_PID"; wait "$VG_PID" 2>/dev/null || true; }

submit_body='{"model":"veo3.1-lite","prompt":"a red ball bouncing","duration_seconds":5}'

bench_backend() { # $1 sqlite|postgres
  local backend=$1 dir=$WORK/$1
  mkdir -p "$dir"
  local db_url="sqlite://$dir/vidgate.db" sql
  if [ "$backend" = postgres ]; then
    start_postgres "$dir"
    db_url="postgres://postgres@127.0.0.1:$PG_PORT/vidgate"
  fi
  cat >"$dir/config.toml" <<EOF
[database]
url = "$db_url"
[engine]
max_in_flight_per_provider = 1
[sandbox]
queue_delay_ms = 3600000
EOF
  start_vidgate "$dir/data" "$dir/config.toml"
  local key account
  key=$(python3 -c "import json; print(json.load(open('$dir/data/credentials.json'))['test_api_key'])")
  local auth="Authorization: Bearer $key"
  local template
  template=$(python3 - "$VG_URL" "$key" "$submit_body" <<'EOF'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v1/videos/generations", data=sys.argv[3].encode(),
                             headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["task_id"])
EOF
)
  local poll_url="$VG_URL/v1/videos/tasks/$template" ceil_url="http://127.0.0.1:$CEIL_PORT/v1/videos/tasks/$template"

  {
    echo "## $backend"
    echo
    echo "### Poll: \`GET /v1/videos/tasks/{id}\` against the ceiling (closed loop, 32 connections, ${SECS} s a round)"
    echo
    echo "| round | server | req/s | p50 ms | p99 ms | server CPU µs/req | context switches/req |"
    echo "|---|---|---|---|---|---|---|"
  } >>"$OUT"
  local vg_rps=() ceil_rps=() vg_cpu=() ceil_cpu=()
  for r in $(seq 1 "$ROUNDS"); do
    for who in vidgate ceiling; do
      local url=$poll_url pid=$VG_PID
      if [ $who = ceiling ]; then url=$ceil_url; pid=$CEIL_PID; fi
      local j
      j=$(load --url "$url" --header "$auth" --connections 32 --seconds "$SECS" --pid "$pid")
      echo "| $r | $who | $(fmt "$(field "$j" rps)") | $(fmt "$(field "$j" p50_ms)" 2) | $(fmt "$(field "$j" p99_ms)" 2) | $(fmt "$(field "$j" server_cpu_us_per_request)" 1) | $(fmt "$(field "$j" server_switches_per_request)" 2) |" >>"$OUT"
      if [ $who = vidgate ]; then vg_rps+=("$(field "$j" rps)"); vg_cpu+=("$(field "$j" server_cpu_us_per_request)")
      else ceil_rps+=("$(field "$j" rps)"); ceil_cpu+=("$(field "$j" server_cpu_us_per_request)"); fi
    done
  done
  python3 - "${vg_rps[*]}" "${ceil_rps[*]}" "${vg_cpu[*]}" "${ceil_cpu[*]}" >>"$OUT" <<'EOF'
import statistics, sys
vr, cr, vc, cc = ([float(x) for x in a.split()] for a in sys.argv[1:5])
v, c = statistics.median(vr), statistics.median(cr)
print(f"\nMedians: vidgate {v:,.0f} req/s, ceiling {c:,.0f} req/s: **{v / c:.2f}× the ceiling** "
      f"(target ≥ 0.5×); CPU per request {statistics.median(vc):.1f} µs against {statistics.median(cc):.1f} µs "
      f"({statistics.median(vc) / statistics.median(cc):.1f}×).\n")
EOF
  {
    echo "### Poll at fixed rates (open loop, 64 connections, ${SECS} s, latency from when each request was due)"
    echo
    echo "| rate | server | achieved req/s | failures | p50 ms | p90 ms | p99 ms | p99.9 ms |"
    echo "|---|---|---|---|---|---|---|---|"
  } >>"$OUT"
  for rate in 2000 5000; do
    for who in vidgate ceiling; do
      local url=$poll_url
      if [ $who = ceiling ]; then url=$ceil_url; fi
      local j
      j=$(load --url "$url" --header "$auth" --connections 64 --seconds "$SECS" --rate $rate)
      echo "| $rate | $who | $(fmt "$(field "$j" rps)") | $(field "$j" failures) | $(fmt "$(field "$j" p50_ms)" 2) | $(fmt "$(field "$j" p90_ms)" 2) | $(fmt "$(field "$j" p99_ms)" 2) | $(fmt "$(field "$j" p999_ms)" 2) |" >>"$OUT"
    done
  done

  {
    echo
    echo "### Submit: \`POST /v1/videos/generations\` (test key, sandbox) as the store grows"
    echo
    echo "| tasks in the store | closed loop (8 conn.) req/s | p50 ms | p99 ms | at 200/s: p50 ms | p99 ms | p99.9 ms | failures | start-up ms | idle CPU % | RSS MB |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
  } >>"$OUT"
  local first=1
  for stage in fresh 50k 200k+history; do
    if [ $first = 0 ]; then
      stop_vidgate
      case $stage in
        50k) add_history "$backend" "$dir" "$template" 50000 0 ;;
        200k+history) add_history "$backend" "$dir" "$template" 150000 "$FINISHED" ;;
      esac
      start_vidgate "$dir/data" "$dir/config.toml"
    fi
    first=0
    local counts
    counts=$(count_tasks "$backend" "$dir")
    # idle: the engine and background loops with this history, nothing asked
    sleep 1
    local c0 c1 idle
    c0=$(cpu_seconds "$VG_PID"); sleep 10; c1=$(cpu_seconds "$VG_PID")
    idle=$(python3 -c "print(f'{($c1-$c0)/10*100:.2f}')")
    local closed fixed
    closed=$(load --url "$VG_URL/v1/videos/generations" --method POST --body "$submit_body" --header "$auth" \
      --connections 8 --seconds "$SECS")
    fixed=$(load --url "$VG_URL/v1/videos/generations" --method POST --body "$submit_body" --header "$auth" \
      --connections 16 --seconds "$SECS" --rate 200)
    echo "| $counts | $(fmt "$(field "$closed" rps)") | $(fmt "$(field "$closed" p50_ms)" 2) | $(fmt "$(field "$closed" p99_ms)" 2) | $(fmt "$(field "$fixed" p50_ms)" 2) | $(fmt "$(field "$fixed" p99_ms)" 2) | $(fmt "$(field "$fixed" p999_ms)" 2) | $(( $(field "$closed" failures) + $(field "$fixed" failures) )) | $START_MS | $idle | $(rss_mb "$VG_PID") (peak $(hwm_mb "$VG_PID")) |" >>"$OUT"
  done
  # the poll again, with the whole history in the store
  local j
  j=$(load --url "$VG_URL/v1/videos/tasks/$template" --header "$auth" --connections 32 --seconds "$SECS" --pid "$VG_PID")
  echo >>"$OUT"
  echo "Poll with that history (closed loop, 32 connections): $(fmt "$(field "$j" rps)") req/s ($(field "$j" failures) failures), p99 $(fmt "$(field "$j" p99_ms)" 2) ms, $(fmt "$(field "$j" server_cpu_us_per_request)" 1) µs CPU per request." >>"$OUT"
  echo >>"$OUT"
  stop_vidgate
  if [ "$backend" = postgres ]; then eval "$PG_STOP"; PG_STOP=""; fi
}

# --- history straight in SQL: $3 the template task (copied), $4 queued, $5 finished -------
add_history() {
  local backend=$1 dir=$2 template=$3 queued=$4 finished=$5
  local now tag
  now=$(python3 -c 'import time; print(int(time.time()*1000))')
  tag=$(( now % 68719476736 ))  # ids: task_ + 26 characters of a ULID, unique per batch and row
  if [ "$backend" = sqlite ]; then
    sqlite3 "$dir/vidgate.db" >/dev/null <<EOF
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $queued)
INSERT INTO tasks (id, account_id, key_id, mode, model, params, fingerprint, status, estimated_micros, created_at,
                   provider, phase, plan, next_run_at)
SELECT printf('task_0%09X%016X', $tag, i), account_id, key_id, mode, model, params, fingerprint, 'queued',
       estimated_micros, $now - $queued + i, provider, 'submit', plan, $now - $queued + i
FROM n, (SELECT * FROM tasks WHERE id = '$template') WHERE $queued > 0;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $finished)
INSERT INTO tasks (id, account_id, key_id, mode, model, params, fingerprint, status, estimated_micros, created_at,
                   completed_at, error_code, error_message, provider, phase, plan, next_run_at)
SELECT printf('task_0%09X%016X', $tag + 1, i), account_id, key_id, mode, model, params, fingerprint, 'failed',
       estimated_micros, $now - 86400000 - $finished + i, $now - 86400000 - $finished + i + 5000, 'upstream_error',
       'the upstream failed', provider, 'done', plan, $now - 86400000 - $finished + i
FROM n, (SELECT * FROM tasks WHERE id = '$template') WHERE $finished > 0;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
  else
    psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d vidgate -v ON_ERROR_STOP=1 <<EOF
INSERT INTO tasks (id, account_id, key_id, mode, model, params, fingerprint, status, estimated_micros, created_at,
                   provider, phase, plan, next_run_at)
SELECT 'task_0' || upper(lpad(to_hex($tag), 9, '0') || lpad(to_hex(i), 16, '0')), account_id, key_id, mode, model, params,
       fingerprint, 'queued', estimated_micros, $now - $queued + i, provider, 'submit', plan, $now - $queued + i
FROM generate_series(1, $queued) AS i, (SELECT * FROM tasks WHERE id = '$template') t;
INSERT INTO tasks (id, account_id, key_id, mode, model, params, fingerprint, status, estimated_micros, created_at,
                   completed_at, error_code, error_message, provider, phase, plan, next_run_at)
SELECT 'task_0' || upper(lpad(to_hex($tag + 1), 9, '0') || lpad(to_hex(i), 16, '0')), account_id, key_id, mode, model, params,
       fingerprint, 'failed', estimated_micros, $now - 86400000 - $finished + i, $now - 86400000 - $finished + i + 5000,
       'upstream_error', 'the upstream failed', provider, 'done', plan, $now - 86400000 - $finished + i
FROM generate_series(1, $finished) AS i, (SELECT * FROM tasks WHERE id = '$template') t;
ANALYZE tasks;
EOF
  fi
}

count_tasks() {
  local q="SELECT (SELECT COUNT(*) FROM tasks WHERE phase <> 'done') || ' open, ' || (SELECT COUNT(*) FROM tasks WHERE phase = 'done') || ' finished'"
  if [ "$1" = sqlite ]; then sqlite3 "$2/vidgate.db" "$q"
  else psql -qtA -h 127.0.0.1 -p "$PG_PORT" -U postgres -d vidgate -c "$q"; fi
}

# --- a throwaway PostgreSQL cluster on CPU 0 (default durability settings) ------------------
start_postgres() {
  local dir=$1/pg bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  mkdir -p "$dir"
  chmod 755 "$1"
  local as=""
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as="runuser -u postgres --"; fi
  PG_PORT=$(free_port)
  $as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >"$dir/initdb.log" 2>&1
  $as taskset -c $SERVER_CPU "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir" start >/dev/null
  PG_STOP="$as $bin/pg_ctl -D $dir/data -m fast stop"
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE vidgate"
}

case $WHICH in
  sqlite) bench_backend sqlite ;;
  postgres) bench_backend postgres ;;
  all) bench_backend sqlite; bench_backend postgres ;;
  *) echo "usage: scripts/bench.sh [sqlite|postgres|all]" >&2; exit 2 ;;
esac

echo "RSS of the ceiling at the end: $(rss_mb "$CEIL_PID") MB." >>"$OUT"
cat "$OUT"
echo >&2
echo "results: $OUT" >&2
