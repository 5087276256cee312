#!/usr/bin/env bash
# Proves the OpenAI Videos compatibility with the official `openai` Python SDK, in the two
# shapes it comes in: 3.54.0 (always multipart/form-data) and 2.8.0 (JSON without a file).
# Starts the built gateway ($VIDGATE_BIN, default target/debug/vidgate) on a free loopback
# port with a temp data dir and a config holding only the tiny test model, creates one venv
# per SDK version under ${VIDGATE_VENV_DIR:-.venv-sdk} (reused when it already has that
# version), runs scripts/openai_sdk_check.py with each, and stops the gateway. Exits
# non-zero if either run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIDGATE_BIN:-target/debug/vidgate}
VENV_DIR=${VIDGATE_VENV_DIR:-.venv-sdk}
VERSIONS=(3.54.0 2.8.0)
[ -x "$BIN" ] || { echo "$BIN is not built (cargo build -p vidgate)" >&2; exit 1; }

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/vidgate.toml" <<'TOML'
[sandbox]
queue_delay_ms = 200
run_delay_ms = 300

[[models]]
id = "tiny"
aliases = ["tiny-alias"]
image_to_video = true
native_audio = true
durations = [1, 2]
default_duration = 1
sizes = ["160x90", "90x160"]
default_size = "160x90"
max_prompt_chars = 200
usd_per_second = "0.25"
TOML
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --config "$WORK/vidgate.toml" >"$WORK/gateway.log" 2>&1 &
PID=$!
stop() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT

BASE="http://127.0.0.1:$PORT"
ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=1)' "$BASE" 2>/dev/null; }
for _ in $(seq 100); do ready && break; sleep 0.1; done
ready || { echo "the gateway did not become ready:" >&2; cat "$WORK/gateway.log" >&2; exit 1; }
# Read from the file, passed in the environment: the key never appears on a command line.
VIDGATE_API_KEY=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["test_api_key"])' "$WORK/data/credentials.json")
export VIDGATE_API_KEY VIDGATE_BASE_URL="$BASE"

passed=0
failed=0
for version in "${VERSIONS[@]}"; do
  venv="$VENV_DIR/openai-$version"
  if ! "$venv/bin/python" -c 'import sys, openai; sys.exit(openai.__version__ != sys.argv[1])' "$version" 2>/dev/null; then
    echo "creating $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "openai==$version"
  fi
  printf '\n==== openai %s\n' "$version"
  if "$venv/bin/python" scripts/openai_sdk_check.py; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "---- gateway log (last 40 lines)"
  tail -n 40 "$WORK/gateway.log"
fi
echo "openai-sdk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
