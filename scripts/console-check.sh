#!/usr/bin/env bash
# Drives the web console in Debian's Chromium with Playwright for Python
# (scripts/console_check.py): starts the built gateway on a fresh data dir with a tiny
# catalog and `sandbox.serve_live_keys = true` (so a live key's tasks render on the sandbox
# and money moves) and two upstreams that serve no model (`spare`, and the credential pool
# `team` of two members; their address is a closed loopback port, so nothing is ever sent
# to them: they are there for the Upstreams page's switches), signs in as the operator and
# as an account, and saves a screenshot of every page into docs/console/. Never runs `playwright install`: the browser is
# /usr/bin/chromium (or $VIDGATE_CHROMIUM). Bounded: the whole check is killed after
# $VIDGATE_CONSOLE_CHECK_SECS (default 300) seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIDGATE_BIN:-target/debug/vidgate}
VENV=${VIDGATE_VENV_DIR:-.venv-sdk}/console
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q playwright==1.65.3
fi
WORK=$(mktemp -d)
cat > "$WORK/tiny.toml" <<'TOML'
[sandbox]
queue_delay_ms = 300
run_delay_ms = 2000
serve_live_keys = true
[[models]]
id = "tiny"
image_to_video = true
native_audio = true
durations = [1, 2]
default_duration = 2
sizes = ["160x90", "90x160"]
default_size = "160x90"
max_prompt_chars = 200
usd_per_second = "0.25"
[[upstreams]]
name = "spare"
kind = "openai"
model = "sora-2"
base_url = "http://127.0.0.1:9/v1"
credentials = "sk-console-check"
[[upstreams]]
name = "team"
kind = "openai"
model = "sora-2"
base_url = "http://127.0.0.1:9/v1"
[[upstreams.pool]]
label = "a"
credentials = "sk-console-check-a"
[[upstreams.pool]]
label = "b"
credentials = "sk-console-check-b"
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
export VIDGATE_CONSOLE_SHOTS=${VIDGATE_CONSOLE_SHOTS:-docs/console}
if ! timeout "${VIDGATE_CONSOLE_CHECK_SECS:-300}" "$VENV/bin/python" scripts/console_check.py; then
  echo "console check failed; the gateway's log:" >&2
  tail -n 40 "$WORK/log" >&2
  exit 1
fi
