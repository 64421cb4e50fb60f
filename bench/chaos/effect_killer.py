"""Kill a consumer worker the moment its next effect commits, before it can ack.

Run as its own process (`python -m bench.chaos.effect_killer ...`), at a raised
scheduling priority: inside the harness the poll shares the GIL with the
client threads and saw a commit only tens of milliseconds late, while Celery
acks a few milliseconds after the task returns. It needs only psycopg (no
Django), so it starts fast. It prints one JSON line: the event whose effect it
saw, how long after seeing it the signal went, and what it killed.
"""

import argparse
import contextlib
import json
import os
import signal
import sys
import time

import psycopg

LATEST = (
    "SELECT id, event_id::text FROM events_delivery WHERE consumer = %s"
    " AND status = 'applied' ORDER BY id DESC LIMIT 1"
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--consumer", required=True)
    parser.add_argument("--group", type=int, help="SIGKILL this process group")
    parser.add_argument("--pids", type=int, nargs="*", default=[])
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)  # root only; best effort otherwise
    event_id, lag_ms = None, None
    with psycopg.connect(
        host=args.host,
        port=args.port,
        user=args.user,
        dbname=args.dbname,
        autocommit=True,
        connect_timeout=3,
    ) as conn:
        base = (conn.execute(LATEST, (args.consumer,)).fetchone() or (0, None))[0]
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            row = conn.execute(LATEST, (args.consumer,)).fetchone()
            if row and row[0] > base:
                seen = time.monotonic()
                event_id = row[1]
                if args.delay:
                    time.sleep(args.delay)
                lag_ms = (time.monotonic() - seen) * 1000
                break
            time.sleep(0.0003)
    # No effect within the timeout (an idle consumer): kill anyway.
    killed = []
    if args.group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(args.group, signal.SIGKILL)
            killed.append(args.group)
    for pid in args.pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    print(json.dumps({"event_id": event_id, "lag_ms": lag_ms, "killed": killed}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
