#!/usr/bin/env bash
# Verifies vidgate's webhooks with an independent Standard Webhooks implementation (the
# `standardwebhooks` PyPI package): starts the built gateway with a tiny catalog and
# private webhook targets allowed, then runs scripts/webhook_check.py, once with a receiver
# that accepts at once and once with one that fails the first 3 attempts.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIDGATE_BIN:-target/debug/vidgate}
VENV=${VIDGATE_VENV_DIR:-.venv-sdk}/webhooks
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q standardwebhooks==1.1.0
fi
WORK=$(mktemp -d)
cat > "$WORK/tiny.toml" <<'TOML'
[sandbox]
queue_delay_ms = 100
run_delay_ms = 300
[webhooks]
allow_private_targets = true
retry_schedule = ["300ms", "300ms", "300ms", "300ms"]
[[models]]
id = "tiny"
image_to_video = true
native_audio = true
durations = [1, 2]
default_duration = 1
sizes = ["160x90", "90x160"]
default_size = "160x90"
max_prompt_chars = 200
usd_per_second = "0.25"
TOML
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --config "$WORK/tiny.toml" >"$WORK/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
export VIDGATE_URL="http://127.0.0.1:$PORT"
VIDGATE_ADMIN_TOKEN=$(jq -r .admin_token "$WORK/data/credentials.json")
VIDGATE_TEST_KEY=$(jq -r .test_api_key "$WORK/data/credentials.json")
export VIDGATE_ADMIN_TOKEN VIDGATE_TEST_KEY
"$VENV/bin/python" scripts/webhook_check.py
"$VENV/bin/python" scripts/webhook_check.py --fail-first 3
