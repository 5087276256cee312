#!/usr/bin/env bash
# Fuzzes the gateway against its own published schema with schemathesis: starts the built
# gateway ($VIDGATE_BIN, default target/debug/vidgate) on the embedded default (a fresh
# temp data dir, a free loopback port), reads the test API key and the admin token from
# credentials.json, and runs every check schemathesis has (no 5xx, every status and
# content type documented, every response matching its schema, schema-valid requests
# accepted and schema-invalid ones refused, ...) over every operation of /openapi.json,
# each with the credential its security scheme names (scripts/schemathesis.toml).
# One worker: hypothesis on Python 3.11 is not safe with several (a SystemError from `ast`).
# Bounded: at most $SCHEMATHESIS_MAX_EXAMPLES cases per operation (default 30) and
# $SCHEMATHESIS_MAX_SECS for the run (default 100); the seed is $SCHEMATHESIS_SEED (fixed by
# default so a failure reproduces). The venv lives in ${VIDGATE_VENV_DIR:-.venv-sdk} and is
# reused when it already has the pinned version. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIDGATE_BIN:-target/debug/vidgate}
VENV_DIR=${VIDGATE_VENV_DIR:-.venv-sdk}
VERSION=4.32.5
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-30}
MAX_SECS=${SCHEMATHESIS_MAX_SECS:-100}
SEED=${SCHEMATHESIS_SEED:-20261204}
[ -x "$BIN" ] || { echo "$BIN is not built (cargo build -p vidgate)" >&2; exit 1; }

venv=$(realpath -m "$VENV_DIR/schemathesis-$VERSION")
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $VERSION"; then
  echo "creating $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# A short longest `?wait=` (the schema publishes it): long-polls stay under the request timeout.
VIDGATE_SERVER__MAX_WAIT_SECS=3 VIDGATE_LOG=${VIDGATE_LOG:-warn} \
  "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/gateway.log" 2>&1 &
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
# Read from the file, passed in the environment: no secret appears on a command line.
cred() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/data/credentials.json" "$1"; }
VIDGATE_API_KEY=$(cred test_api_key)
VIDGATE_ADMIN_TOKEN=$(cred admin_token)
export VIDGATE_API_KEY VIDGATE_ADMIN_TOKEN

status=0
# From the temp dir: schemathesis keeps a `.schemathesis/` cache in its working directory.
ROOT=$PWD
(cd "$WORK" && timeout --signal=INT "$((MAX_SECS + 30))" \
  "$venv/bin/schemathesis" --no-color --config-file "$ROOT/scripts/schemathesis.toml" run "$BASE/openapi.json" \
  --checks all --max-examples "$MAX_EXAMPLES" --max-time "$MAX_SECS" --seed "$SEED" \
  --workers 1 --continue-on-failure) || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis failed (exit $status); the gateway's log follows" >&2
  tail -n 50 "$WORK/gateway.log" >&2
fi
exit "$status"
