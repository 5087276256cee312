#!/usr/bin/env bash
# Checks the deployment examples in deploy/ against the built binary:
# - deploy/vidgate.toml with the environment of deploy/compose.yaml loads (`config print`
#   refuses unknown keys) and prints no secret;
# - the compose health check, run as written, passes against a ready gateway and fails
#   against a closed port;
# - deploy/vidgate.service passes `systemd-analyze verify` without a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${VIDGATE_BIN:-target/debug/vidgate}")
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

echo "deploy/vidgate.toml with the compose environment"
DB_SECRET="pg-$RANDOM-secret" S3_SECRET="s3-$RANDOM-secret"
OUT=$(VIDGATE_DATABASE__URL="postgres://vidgate:$DB_SECRET@postgres:5432/vidgate?sslmode=disable" \
  VIDGATE_STORAGE__S3_SECRET_ACCESS_KEY="$S3_SECRET" "$BIN" config print --config deploy/vidgate.toml)
for s in "$DB_SECRET" "$S3_SECRET"; do
  if grep -qF "$s" <<<"$OUT"; then echo "config print showed a secret" >&2; exit 1; fi
done
grep -q '^kind = "s3"' <<<"$OUT" || { echo "the example's storage section did not load: $OUT" >&2; exit 1; }
for var in $(grep -oE 'VIDGATE_[A-Z0-9_]+' deploy/compose.yaml | sort -u); do
  case $var in VIDGATE_DATABASE__URL|VIDGATE_STORAGE__S3_SECRET_ACCESS_KEY) ;; *)
    echo "deploy/compose.yaml sets $var, which this check does not load" >&2; exit 1;;
  esac
done

echo "the compose health check"
HEALTH=$(python3 -c '
import json, re, sys
line = next(l for l in open("deploy/compose.yaml") if l.strip().startswith("test: [\"CMD\", \"bash\""))
print(json.loads(line.split("test:", 1)[1])[3])')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CHECK=${HEALTH//127.0.0.1\/8080/127.0.0.1\/$PORT}
if bash -c "$CHECK" 2>/dev/null; then echo "the health check passed with nothing listening" >&2; exit 1; fi
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/out.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
bash -c "$CHECK" || { echo "the compose health check failed against a ready gateway" >&2; exit 1; }

echo "deploy/vidgate.service"
sed -e "s#^ExecStart=/usr/local/bin/vidgate#ExecStart=$BIN#" \
  -e "s#^EnvironmentFile=.*#EnvironmentFile=$WORK/vidgate.env#" deploy/vidgate.service >"$WORK/vidgate.service"
touch "$WORK/vidgate.env"
VERIFY=$(systemd-analyze verify "$WORK/vidgate.service" 2>&1) || { echo "$VERIFY" >&2; exit 1; }
if grep -q vidgate.service <<<"$VERIFY"; then echo "$VERIFY" >&2; exit 1; fi
echo "deploy examples OK"
