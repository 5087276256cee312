#!/usr/bin/env python3
"""Checks vidgate's OpenAI Videos compatibility with the official `openai` Python SDK.

Runs the SDK's own calls against a running gateway that has the tiny test model (`tiny`:
160x90 or 90x160, 1 or 2 s, image input): create_and_poll (text only, and with a file
input_reference), retrieve, list across several pages in both orders, download_content
for every variant (the MP4's boxes and the PNGs' headers are checked), remix, delete, and
an invalid `seconds` raising BadRequestError that names the parameter.

Usage: openai_sdk_check.py --base-url http://127.0.0.1:8080 [--api-key KEY]
(or VIDGATE_BASE_URL / VIDGATE_API_KEY). The last line printed is `N passed, M failed`;
the exit status is non-zero when anything failed.
"""

import argparse
import os
import struct
import sys
import traceback
import warnings
import zlib

import openai
from openai import BadRequestError, NotFoundError, OpenAI

# The SDK marks the Videos API deprecated (the hosted Sora API shuts down); we still serve it.
warnings.filterwarnings("ignore", category=DeprecationWarning)

MODEL, SECONDS, SIZE = "tiny", "2", "160x90"
POLL_MS = 200
SPRITESHEET_WIDTH = 4 * 240


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")
        return ok

    def run(self, name, fn):
        """Runs a group of checks; an exception counts as one failure of the group."""
        try:
            return fn()
        except Exception:  # noqa: BLE001 - any SDK error is a failed check, reported in full
            self.failed += 1
            print(f"FAIL {name} raised:")
            traceback.print_exc(file=sys.stdout)
            return None


def sdk_version():
    return tuple(int(part) for part in openai.__version__.split(".")[:2])


def png(width, height, rgb):
    """A PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def png_size(data):
    """(width, height) from a PNG's IHDR, or None when the bytes are not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def boxes(data, start=0, end=None):
    """The MP4 boxes in data[start:end] as (type, payload start, payload end)."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} at {pos} overruns the file")
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size


def probe_mp4(data):
    """Duration in seconds and the (width, height) of each video track, from the boxes."""
    top = {kind: (s, e) for kind, s, e in boxes(data)}
    if list(boxes(data))[0][0] != "ftyp" or "moov" not in top or "mdat" not in top:
        raise ValueError(f"not an MP4 (top-level boxes {list(top)})")
    moov = {kind: (s, e) for kind, s, e in boxes(data, *top["moov"])}
    s, _ = moov["mvhd"]
    version = data[s]
    timescale, duration = (
        struct.unpack(">II", data[s + 12 : s + 20]) if version == 0 else struct.unpack(">IQ", data[s + 20 : s + 32])
    )
    sizes = []
    for kind, ts, te in boxes(data, *top["moov"]):
        if kind != "trak":
            continue
        for inner, s, e in boxes(data, ts, te):
            if inner == "tkhd":
                width, height = struct.unpack(">II", data[e - 8 : e])
                if width:
                    sizes.append((width >> 16, height >> 16))
    return duration / timescale, sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("VIDGATE_BASE_URL"))
    parser.add_argument("--api-key", default=os.environ.get("VIDGATE_API_KEY"))
    args = parser.parse_args()
    if not args.base_url or not args.api_key:
        parser.error("the gateway's base URL and a test API key are required")
    client = OpenAI(base_url=args.base_url.rstrip("/") + "/v1", api_key=args.api_key, timeout=60)
    print(f"openai {openai.__version__} against {args.base_url}")
    c = Checks()
    made = []

    def text_to_video():
        raw = client.videos.with_raw_response.create(model=MODEL, prompt="a red ball", seconds=SECONDS, size=SIZE)
        c.check("create answers openai-poll-after-ms", raw.headers.get("openai-poll-after-ms") == "1000", raw.headers)
        # openai-python sends multipart from 2.27.0 on, JSON before (docs/upstreams.md section 3.6).
        expected = "multipart/form-data" if sdk_version() >= (2, 27) else "application/json"
        sent = raw.http_request.headers.get("content-type", "")
        c.check(f"the SDK sent {expected}", sent.startswith(expected), sent)
        created = raw.parse()
        made.append(created.id)
        c.check("create answers a queued video object", created.object == "video" and created.status == "queued", created)
        v = client.videos.create_and_poll(model=MODEL, prompt="a red ball bouncing", seconds=SECONDS, size=SIZE,
                                          poll_interval_ms=POLL_MS)
        made.append(v.id)
        c.check("create_and_poll (text) completes", v.status == "completed" and v.progress == 100, v)
        c.check("the video object has the request's shape",
                (v.model, v.seconds, v.size, v.object) == (MODEL, SECONDS, SIZE, "video"), v)
        c.check("times are unix seconds", 1.7e9 < v.created_at <= v.completed_at < 1e10 and v.expires_at > v.completed_at, v)
        return v

    video = c.run("text-to-video", text_to_video)

    def image_to_video():
        # No poll_interval_ms: the poller paces itself by the openai-poll-after-ms header.
        v = client.videos.create_and_poll(model=MODEL, prompt="a green field", seconds="1", size=SIZE,
                                          input_reference=("ref.png", png(160, 90, (20, 200, 20)), "image/png"))
        made.append(v.id)
        c.check("create_and_poll (file input_reference) completes", v.status == "completed", v)
        c.check("the image create keeps its seconds and size", (v.seconds, v.size) == ("1", SIZE), v)

    c.run("image-to-video", image_to_video)

    def retrieve():
        r = client.videos.retrieve(video.id)
        c.check("retrieve returns the video", (r.id, r.status, r.model, r.seconds) == (video.id, "completed", MODEL, SECONDS), r)

    if video:
        c.run("retrieve", retrieve)

    def list_pages():
        for n in range(3):
            made.append(client.videos.create(model=MODEL, prompt=f"list filler {n}", seconds="1", size=SIZE).id)
        pages = list(client.videos.list(limit=2).iter_pages())
        seen = [v.id for p in pages for v in p.data]
        c.check("list pages through more than one page", len(pages) > 2, f"{len(pages)} pages")
        c.check("list pages have at most the limit", all(len(p.data) <= 2 for p in pages), [len(p.data) for p in pages])
        c.check("list (auto-paging) sees every video once", set(made) <= set(seen) and len(seen) == len(set(seen)),
                f"made {made}, seen {seen}")
        c.check("list is newest first by default", seen == sorted(seen, reverse=True), seen)
        asc = [v.id for v in client.videos.list(limit=2, order="asc")]
        c.check("list order=asc is oldest first, same videos", asc == sorted(seen), asc)

    c.run("list", list_pages)

    def download():
        mp4 = client.videos.download_content(video.id, variant="video").content
        duration, sizes = probe_mp4(mp4)
        c.check("download_content video is an MP4 of the requested length",
                abs(duration - float(SECONDS)) < 0.1 and (160, 90) in sizes, f"{duration} s, tracks {sizes}")
        default = client.videos.download_content(video.id).content
        c.check("download_content without a variant is the video", default == mp4)
        thumb = client.videos.download_content(video.id, variant="thumbnail").content
        c.check("download_content thumbnail is a 160x90 PNG", png_size(thumb) == (160, 90), thumb[:24])
        sheet = client.videos.download_content(video.id, variant="spritesheet").content
        size = png_size(sheet)
        c.check("download_content spritesheet is a PNG grid", size is not None and size[0] == SPRITESHEET_WIDTH, size)

    if video:
        c.run("download_content", download)

    def remix_and_delete():
        r = client.videos.remix(video.id, prompt="a blue ball bouncing")
        c.check("remix is a new video from the original",
                r.id != video.id and r.remixed_from_video_id == video.id and (r.seconds, r.size) == (SECONDS, SIZE), r)
        r = client.videos.poll(r.id, poll_interval_ms=POLL_MS)
        c.check("the remix completes with the new prompt", r.status == "completed" and r.prompt == "a blue ball bouncing", r)
        d = client.videos.delete(r.id)
        c.check("delete answers video.deleted", (d.id, d.deleted) == (r.id, True), d)
        try:
            client.videos.retrieve(r.id)
            c.check("a deleted video is gone", False, "retrieve still answered")
        except NotFoundError:
            c.check("a deleted video is gone", True)

    if video:
        c.run("remix and delete", remix_and_delete)

    def invalid_seconds():
        try:
            client.videos.create(model=MODEL, prompt="x", seconds="3", size=SIZE)
            c.check("invalid seconds raises BadRequestError", False, "the create was accepted")
        except BadRequestError as e:
            c.check("invalid seconds raises BadRequestError naming seconds",
                    (e.status_code, e.param, e.code) == (400, "seconds", "unsupported_value"), (e.param, e.code, e.message))

    c.run("invalid seconds", invalid_seconds)

    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
