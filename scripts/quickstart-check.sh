#!/usr/bin/env bash
# Runs README.md's own commands as written, on a fresh data dir, and checks what they made.
#
# The blocks are read from README.md, never copied here: the fenced block after the
# `<!-- quickstart:serve` marker (the first command: `cargo run ... serve`), the one after
# `<!-- quickstart:client` (the quickstart: submit, wait for a terminal status, download),
# and, when an `openai` SDK is installed, the Python block after `<!-- quickstart:sdk`.
# They run unchanged in a fresh directory under target/ (so `cargo run` finds the
# workspace and `./vidgate-data` is new). The README listens on 127.0.0.1:8080; as root
# the check runs in a network namespace of its own (`unshare --net`), so it neither needs
# that port free nor disturbs whatever uses it; otherwise the port must be free.
#
# Checked with ffprobe: video.mp4 is H.264 1280x720 yuv420p of 5.0 s with an AAC track and
# decodes cleanly; audio.m4a is AAC of 5.0 s with no video; the statuses printed were
# queued/running then completed; the task's thumbnail_url is a PNG.
#
# VIDGATE_SDK_PYTHON: a python with `openai` installed (default: the newest venv
# scripts/openai-sdk.sh made under .venv-sdk, if any) for the SDK block; boat.mp4 is then
# checked too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ -z "${VIDGATE_QUICKSTART_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] &&
  command -v unshare >/dev/null && command -v ip >/dev/null && unshare --net true 2>/dev/null; then
  exec env VIDGATE_QUICKSTART_NETNS=1 unshare --net bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
if curl -s -o /dev/null --max-time 1 http://127.0.0.1:8080/; then
  echo "127.0.0.1:8080 is in use; the README's commands need it (run as root for a private network namespace)" >&2
  exit 1
fi

# The fenced block that follows the line starting with `<!-- quickstart:NAME`.
block() {
  awk -v marker="<!-- quickstart:$1" '
    index($0, marker) == 1 { found = 1; next }
    found && !inside && /^```/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }
  ' README.md
}
SERVE=$(block serve)
CLIENT=$(block client)
SDK=$(block sdk)
for name in SERVE CLIENT SDK; do
  [ -n "${!name}" ] || { echo "README.md has no quickstart block for $name" >&2; exit 1; }
done
case "$SERVE" in "cargo run "*" serve "*) ;; *) echo "unexpected first command: $SERVE" >&2; exit 1 ;; esac

mkdir -p target
WORK=$(mktemp -d "$ROOT/target/quickstart.XXXXXX")
cd "$WORK"
echo "in $WORK:"
echo "\$ $SERVE"
setsid bash -c "$SERVE" >serve.out 2>serve.err &
PID=$!
stop() {
  kill -TERM -- "-$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  cd "$ROOT" && rm -rf "$WORK"
}
trap stop EXIT
# `cargo run` may have to build first
for _ in $(seq 1800); do
  curl -sf http://127.0.0.1:8080/readyz >/dev/null && break
  kill -0 "$PID" 2>/dev/null || { echo "the first command exited:"; tail -n 20 serve.err; exit 1; }
  sleep 0.2
done
curl -sf http://127.0.0.1:8080/readyz >/dev/null || { echo "the gateway did not become ready"; tail -n 20 serve.err; exit 1; }

fail=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1 = $2"; else echo "FAIL $1 = $2 (want $3)"; fail=1; fi; }

# What the first start printed on stdout (not a terminal here): the credentials file's path only.
check "first start's stdout" "$(cat serve.out)" \
  "vidgate bootstrapped a new database; credentials written to ./vidgate-data/credentials.json"
check "credentials.json mode" "$(stat -c %a vidgate-data/credentials.json)" 600

# The quickstart block as written, then (one line added after it) the task it ended with.
timeout 300 bash -c "$CLIENT"$'\n''printf %s "$TASK" >task.json' | tee client.out
statuses=$(grep -o '"status":"[a-z_]*"' client.out | cut -d'"' -f4 | uniq | tr '\n' ' ')
case "$statuses" in
  "queued running completed " | "running completed " | "queued completed ") check "statuses printed" ok ok ;;
  *) check "statuses printed" "$statuses" "queued running completed" ;;
esac

probe() { ffprobe -v error -select_streams "$2" -show_entries "stream=$3" -of default=nw=1:nk=1 "$1" | head -n1; }
check "video codec" "$(probe video.mp4 v:0 codec_name)" h264
check "video width" "$(probe video.mp4 v:0 width)" 1280
check "video height" "$(probe video.mp4 v:0 height)" 720
check "video pix_fmt" "$(probe video.mp4 v:0 pix_fmt)" yuv420p
check "video duration" "$(printf '%.1f' "$(probe video.mp4 v:0 duration)")" 5.0
check "audio codec in mp4" "$(probe video.mp4 a:0 codec_name)" aac
check "m4a codec" "$(probe audio.m4a a:0 codec_name)" aac
check "m4a duration" "$(printf '%.1f' "$(probe audio.m4a a:0 duration)")" 5.0
check "m4a has no video" "$(ffprobe -v error -select_streams v -show_entries stream=index -of csv=p=0 audio.m4a | wc -l)" 0
ffmpeg -v error -i video.mp4 -f null - && check "video decodes cleanly" yes yes || check "video decodes cleanly" no yes
curl -sf -o thumb.png "$(jq -r .thumbnail_url task.json)"
check "thumbnail" "$(head -c 8 thumb.png | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a

PY=${VIDGATE_SDK_PYTHON:-$(ls -d "$ROOT"/.venv-sdk/openai-*/bin/python 2>/dev/null | sort -V | tail -n1)}
case "$PY" in /*) ;; */*) PY="$ROOT/$PY" ;; esac # a relative path is from the repository root
if [ -n "$PY" ] && "$PY" -c 'import openai' 2>/dev/null; then
  echo "the SDK block with $("$PY" -c 'import openai; print("openai", openai.__version__)'):"
  VIDGATE_API_KEY=$(jq -r .test_api_key vidgate-data/credentials.json) \
    timeout 300 "$PY" -c "$SDK" | tee sdk.out
  check "SDK printed" "$(cat sdk.out)" "completed 5 1280x720"
  check "boat.mp4 codec" "$(probe boat.mp4 v:0 codec_name)" h264
  check "boat.mp4 duration" "$(printf '%.1f' "$(probe boat.mp4 v:0 duration)")" 5.0
else
  echo "skip the SDK block (no python with openai; scripts/openai-sdk.sh makes one, or set VIDGATE_SDK_PYTHON)"
fi

if [ $fail = 0 ]; then echo "quickstart: README commands ran as written, all checks passed"; else
  echo "quickstart: checks failed"
  exit 1
fi
