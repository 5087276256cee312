#!/usr/bin/env python3
"""Checks a running vidgate's webhooks with the reference Standard Webhooks library.

It starts nothing but a receiver: given a gateway URL, an admin token and a test key, it
serves HTTP on 127.0.0.1 (a thread), submits a tiny task whose callback_url points at it,
waits for the delivery, and verifies it with the `standardwebhooks` PyPI package
(`from standardwebhooks.webhooks import Webhook`), using the account's `whsec_` secret read
through the admin API. It also checks the body is the task object, that the `webhook-id`
is the message listed at `GET /v1/tasks/{id}/deliveries`, and that a tampered body fails
verification. The gateway must allow loopback targets
(`VIDGATE_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true`) and have a small model (default `tiny`).

Usage:
    webhook_check.py --url http://127.0.0.1:8080 --admin-token TOKEN --key sk-vg-test-...
    (or VIDGATE_URL, VIDGATE_ADMIN_TOKEN, VIDGATE_TEST_KEY in the environment)

The last line printed is `1 passed, 0 failed` or `0 passed, 1 failed`; the exit status is
non-zero on failure.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST (headers and raw body) and answers from a script, then 204."""

    def __init__(self, fail_first):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.fail_first = fail_first
        self.deliveries = []
        self.arrived = threading.Condition()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/hook"

    def wait_for(self, count, timeout):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                expect(left > 0, f"{len(self.deliveries)} of {count} deliveries arrived within {timeout} s")
                self.arrived.wait(left)
            return list(self.deliveries)


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        server = self.server
        with server.arrived:
            failing = len(server.deliveries) < server.fail_first
            server.deliveries.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            server.arrived.notify_all()
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(base, method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    req.add_header("authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def poll(what, timeout, fetch, done):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        expect(time.monotonic() < deadline, f"{what} within {timeout} s; last answer: {value}")
        time.sleep(0.2)


def check(args):
    receiver = Receiver(args.fail_first)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        return run(args, receiver)
    finally:
        receiver.shutdown()


def run(args, receiver):
    nonce = uuid.uuid4().hex
    submit = {
        "model": args.model,
        "prompt": "a webhook check",
        "callback_url": receiver.url,
        "metadata": {"webhook_check": nonce},
    }
    status, task = call(args.url, "POST", "/v1/tasks/submit", args.key, submit)
    expect(status == 200, f"submit answered {status}: {task}")
    task_id = task["task_id"]
    print(f"submitted {task_id}, callback {receiver.url}")

    got = receiver.wait_for(args.fail_first + 1, args.timeout)
    delivery = got[-1]
    print(f"received {len(got)} delivery attempt(s)")

    query = urllib.parse.urlencode({"metadata.webhook_check": nonce})
    status, found = call(args.url, "GET", f"/admin/v1/tasks?{query}", args.admin_token)
    expect(status == 200 and len(found["data"]) == 1, f"admin task search answered {status}: {found}")
    account_id = found["data"][0]["account_id"]
    status, account = call(args.url, "GET", f"/admin/v1/accounts/{urllib.parse.quote(account_id)}", args.admin_token)
    expect(status == 200, f"admin account read answered {status}: {account}")
    hook = Webhook(account["webhook_secret"])

    for attempt in got:
        payload = hook.verify(attempt["body"], attempt["headers"])  # raises if the signature is wrong
        expect(payload["task_id"] == task_id, f"the body is another task: {payload}")
    print(f"verified {len(got)} signature(s) with standardwebhooks")
    payload = hook.verify(delivery["body"], delivery["headers"])
    expect(payload["object"] == "video.task", f"the body is not a task object: {payload}")
    expect(payload["status"] == "completed", f"the task did not complete: {payload}")
    expect(delivery["headers"].get("content-type") == "application/json", f"content type: {delivery['headers']}")
    ids = {a["headers"]["webhook-id"] for a in got}
    expect(len(ids) == 1, f"webhook-id changed between attempts: {ids}")

    tampered = delivery["body"].replace(b'"completed"', b'"failed"')
    try:
        hook.verify(tampered, delivery["headers"])
        raise CheckFailed("a tampered body verified")
    except WebhookVerificationError:
        pass

    def deliveries():
        return call(args.url, "GET", f"/v1/tasks/{task_id}/deliveries", args.key)[1]

    listed = poll("the delivery is recorded", 30, deliveries, lambda d: (d.get("message") or {}).get("state") == "delivered")
    expect(listed["message"]["id"] == delivery["headers"]["webhook-id"], f"webhook-id vs deliveries: {listed}")
    expect(len(listed["data"]) == len(got), f"{len(got)} attempts received, listed: {listed}")
    expect(listed["data"][-1]["status"] == "delivered", f"the last attempt: {listed}")
    print(f"deliveries lists {len(listed['data'])} attempt(s), message {listed['message']['id']} delivered")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("VIDGATE_URL"), help="the gateway (env VIDGATE_URL)")
    parser.add_argument("--admin-token", default=os.environ.get("VIDGATE_ADMIN_TOKEN"), help="env VIDGATE_ADMIN_TOKEN")
    parser.add_argument("--key", default=os.environ.get("VIDGATE_TEST_KEY"), help="a test key (env VIDGATE_TEST_KEY)")
    parser.add_argument("--model", default="tiny", help="a small model of the gateway's catalog (default tiny)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for the delivery (default 120)")
    parser.add_argument(
        "--fail-first", type=int, default=0, help="answer 500 to this many attempts first (needs a short retry schedule)"
    )
    args = parser.parse_args()
    missing = [name for name in ("url", "admin_token", "key") if not getattr(args, name)]
    if missing:
        parser.error("missing " + ", ".join("--" + m.replace("_", "-") for m in missing))
    try:
        check(args)
    except (CheckFailed, WebhookVerificationError, OSError, KeyError, ValueError) as e:
        print(f"webhook check failed: {type(e).__name__}: {e}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
