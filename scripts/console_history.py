"""Fills a stopped gateway's SQLite store with a task history for timing the console.

Usage: python3 scripts/console_history.py <data-dir>/vidgate.db <count>

Copies the newest task in the store (a real one, completed through the API, so every
column holds what the engine writes) <count> times, spread evenly over the last 30 days
with fresh ULID task ids (ids sort by creation time, as the store's own do): 90 % completed,
6 % failed, 4 % cancelled, every one ended (no queued or running task, the worst case for a
"tasks in this status now" count), one prompt in five mentioning a lighthouse, in one
transaction. Standard library only.
"""

import json
import random
import sqlite3
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DAY_MS = 86_400_000


def ulid(ms, rng):
    value = (ms << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def main(db, count):
    rng = random.Random(42)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    template = conn.execute("SELECT * FROM tasks ORDER BY id DESC LIMIT 1").fetchone()
    if template is None or template["status"] != "completed":
        sys.exit("the store needs one completed task to copy")
    columns = template.keys()
    params = json.loads(template["params"])
    now = int(time.time() * 1000)
    start = now - 30 * DAY_MS
    rows = []
    for n in range(count):
        created = start + (n * 30 * DAY_MS) // count
        roll = rng.random()
        status = "completed" if roll < 0.90 else ("failed" if roll < 0.96 else "cancelled")
        row = dict(template)
        row["id"] = "task_" + ulid(created, rng)
        row["out_task_id"] = None
        p = dict(params)
        p["prompt"] = f"{'a lighthouse at dusk' if n % 5 == 0 else 'a boat on a lake'} #{n}"
        row["params"] = json.dumps(p)
        row["status"] = status
        row["created_at"] = created
        row["started_at"] = created + 300
        row["completed_at"] = created + 2500
        row["next_run_at"] = created + 2500
        row["files_expire_at"] = created + 7 * DAY_MS
        row["files_expired"] = 1 if created + 7 * DAY_MS < now else 0
        if status != "completed":
            row["used_micros"] = 0
            row["billed_ms"] = 0
            row["result"] = None
            row["error_code"] = "upstream_error" if status == "failed" else None
            row["error_message"] = "the upstream failed" if status == "failed" else None
        rows.append(tuple(row[c] for c in columns))
    sql = f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    with conn:
        conn.executemany(sql, rows)
    total = conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    print(f"{total} tasks in {db}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
