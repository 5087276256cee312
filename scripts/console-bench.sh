#!/usr/bin/env bash
# Times console pages against the built gateway with a large task history (BENCHMARKS.md,
# "Console"). Starts the binary on a fresh data dir with a tiny catalog, completes one real
# task through the API, stops the gateway, copies that task $VIDGATE_BENCH_TASKS times
# (default 100000) into the SQLite store (scripts/console_history.py), starts the gateway
# again, signs in as the operator and as the account, and prints, per page, the best and the
# median of $VIDGATE_BENCH_RUNS (default 7) `curl -w %{time_total}` timings after a warm-up.
# Needs python3, curl and jq. Nothing here asserts a time: it reports.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIDGATE_BIN:-target/debug/vidgate}
TASKS=${VIDGATE_BENCH_TASKS:-100000}
RUNS=${VIDGATE_BENCH_RUNS:-7}
WORK=$(mktemp -d)
cat > "$WORK/tiny.toml" <<'TOML'
[sandbox]
queue_delay_ms = 0
run_delay_ms = 0
[[models]]
id = "tiny"
native_audio = true
durations = [1]
default_duration = 1
sizes = ["160x90"]
default_size = "160x90"
max_prompt_chars = 200
usd_per_second = "0.25"
TOML
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
PID=
start() {
  "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --config "$WORK/tiny.toml" >>"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 300); do curl -sf "$URL/readyz" >/dev/null && return; sleep 0.1; done
  echo "the gateway did not get ready" >&2; tail -n 20 "$WORK/log" >&2; exit 1
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap 'stop; rm -rf "$WORK"' EXIT
start
ADMIN=$(jq -r .admin_token "$WORK/data/credentials.json")
KEY=$(jq -r .test_api_key "$WORK/data/credentials.json")
TASK=$(curl -sf "$URL/v1/videos/generations" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"tiny","prompt":"a lighthouse at dusk","audio":true}' | jq -r .task_id)
for _ in $(seq 60); do
  STATUS=$(curl -sf "$URL/v1/videos/tasks/$TASK?wait=5" -H "Authorization: Bearer $KEY" | jq -r .status)
  [ "$STATUS" = completed ] && break
done
[ "$STATUS" = completed ] || { echo "the seed task ended $STATUS" >&2; exit 1; }
stop
python3 scripts/console_history.py "$WORK/data/vidgate.db" "$TASKS"
start
KEY_ID=$(curl -sf "$URL/v1/balance" -H "Authorization: Bearer $KEY" | jq -r .key.id)
sign_in() { curl -sf -o /dev/null -c "$WORK/$1.jar" "$URL/console/login" --data-urlencode "secret=$2"; }
sign_in operator "$ADMIN"
sign_in account "$KEY"
time_page() {
  local who=$1 path=$2 times
  curl -sf -o /dev/null -b "$WORK/$who.jar" "$URL$path"
  times=$(for _ in $(seq "$RUNS"); do
    curl -sf -o /dev/null -b "$WORK/$who.jar" -w '%{time_total}\n' "$URL$path"
  done | sort -n)
  printf '| %s | `%s` | %.0f | %.0f |\n' "$who" "$path" \
    "$(echo "$times" | head -n1 | awk '{print $1 * 1000}')" \
    "$(echo "$times" | sed -n "$(( (RUNS + 1) / 2 ))p" | awk '{print $1 * 1000}')"
}
echo "| view | page | best ms | median ms |"
echo "|---|---|---|---|"
time_page operator /console/
time_page operator /console/tasks
time_page operator "/console/tasks?status=queued"
time_page operator "/console/tasks?status=completed"
time_page operator "/console/tasks?q=lighthouse"
time_page operator "/console/tasks?key_id=$KEY_ID"
time_page operator "/console/tasks?since=2000-01-01&until=2000-01-02"
time_page operator "/console/tasks/$TASK"
time_page operator /console/accounts
time_page operator /console/usage
time_page account /console/
time_page account /console/tasks
time_page account "/console/tasks/$TASK"
