#!/usr/bin/env bash
# Starts the built gateway on the embedded default (a fresh data dir), runs the README's
# quickstart exactly (the seed's curl flow), downloads result_url, audio_url and
# thumbnail_url, and checks them with ffprobe: H.264 1280x720 of 5.0 s with AAC, an .m4a
# of 5.0 s, and a PNG.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIDGATE_BIN:-target/debug/vidgate}
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/out.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
VIDGATE_API_KEY=$(jq -r .test_api_key "$WORK/data/credentials.json")
HOST="http://127.0.0.1:$PORT"

TASK_ID=$(curl -s $HOST/v1/videos/generations \
  -H "Authorization: Bearer $VIDGATE_API_KEY" \
  -H "content-type: application/json" \
  -d '{
    "model": "veo3.1",
    "prompt": "Rain falling on a quiet street at night, distant car passing",
    "duration_seconds": 5,
    "size": "1280x720",
    "audio": true
  }' | jq -r .task_id)

STATUSES=""
for _ in $(seq 120); do
  TASK=$(curl -s "$HOST/v1/videos/tasks/$TASK_ID?wait=5" -H "Authorization: Bearer $VIDGATE_API_KEY")
  S=$(echo "$TASK" | jq -r .status)
  case " $STATUSES " in *" $S "*) ;; *) STATUSES="$STATUSES $S";; esac
  [ "$S" = completed ] || [ "$S" = failed ] && break
done
echo "statuses seen:$STATUSES"
[ "$STATUSES" = " queued running completed" ] || [ "$STATUSES" = " running completed" ] || { echo "unexpected: $TASK"; exit 1; }

curl -sf -o "$WORK/video.mp4" "$(echo "$TASK" | jq -r .result_url)"
curl -sf -o "$WORK/audio.m4a" "$(echo "$TASK" | jq -r .audio_url)"
curl -sf -o "$WORK/thumb.png" "$(echo "$TASK" | jq -r .thumbnail_url)"

probe() { ffprobe -v error -select_streams "$2" -show_entries "stream=$3" -of default=nw=1:nk=1 "$1" | head -n1; }
fail=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1 = $2"; else echo "FAIL $1 = $2 (want $3)"; fail=1; fi; }
check "video codec" "$(probe "$WORK/video.mp4" v:0 codec_name)" h264
check "video width" "$(probe "$WORK/video.mp4" v:0 width)" 1280
check "video height" "$(probe "$WORK/video.mp4" v:0 height)" 720
check "video pix_fmt" "$(probe "$WORK/video.mp4" v:0 pix_fmt)" yuv420p
check "video duration" "$(printf '%.1f' "$(probe "$WORK/video.mp4" v:0 duration)")" 5.0
check "audio codec in mp4" "$(probe "$WORK/video.mp4" a:0 codec_name)" aac
check "m4a codec" "$(probe "$WORK/audio.m4a" a:0 codec_name)" aac
check "m4a duration" "$(printf '%.1f' "$(probe "$WORK/audio.m4a" a:0 duration)")" 5.0
check "m4a has no video" "$(ffprobe -v error -select_streams v -show_entries stream=index -of csv=p=0 "$WORK/audio.m4a" | wc -l)" 0
check "thumbnail" "$(head -c 8 "$WORK/thumb.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
ffmpeg -v error -i "$WORK/video.mp4" -f null - || { echo "FAIL video does not decode cleanly"; fail=1; }
if [ $fail = 0 ]; then echo "quickstart: 10 passed, 0 failed"; else echo "quickstart: checks failed"; exit 1; fi
