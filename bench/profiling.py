"""Profiles of the stack's processes with py-spy, and their summaries.

py-spy is optional (`pip install py-spy`): without it the benchmark still runs
and says that profiles were skipped. Two kinds, recorded side by side:
- wall clock (--idle): a process that waits (on PostgreSQL, on the broker, on
  its pool's pipe) shows where it waits, not only where it computes. A thread
  waiting for the GIL counts as busy where it waits, so with two threads
  (a worker and its e-mail sender, gunicorn's threads) busy shares blur;
- CPU (--gil): only the thread holding the GIL is sampled, so the shares are
  of the Python CPU the process spent, wherever it was spent.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# The application's own packages: their frames show where its time goes.
APP_PACKAGES = (
    "events/", "payments/", "ledger/", "notifications/", "reconciliation/",
    "api/", "organisations/", "contracts/", "config/", "web/",
)  # fmt: skip

# Frames that stand for waiting rather than computing, by function name.
WAITING = (
    "poll",
    "select",
    "epoll",
    "wait",
    "_recv",
    "recv",
    "recv_into",
    "read",
    "accept",
    "sleep",
    "notifies",
)


def py_spy() -> str | None:
    found = Path(sys.executable).with_name("py-spy")
    if found.exists():
        return str(found)
    return shutil.which("py-spy")


class Recording:
    """py-spy recording one process (and its children) until stopped."""

    def __init__(self, pid: int, out: Path, rate: int = 200, *, gil: bool = False):
        self.out = out
        self.process = subprocess.Popen(  # noqa: S603
            [
                py_spy() or "py-spy", "record", "--pid", str(pid), "--subprocesses",
                "--gil" if gil else "--idle", "--nonblocking", "--rate", str(rate),
                "--format", "raw", "--output", str(out),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> Path | None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.out if self.out.exists() else None


def _is_app(frame: str) -> bool:
    where = frame.rsplit(" (", 1)[-1]
    return where.startswith(APP_PACKAGES) and "site-packages" not in where


def _function(frame: str) -> str:
    return frame.split(" (", 1)[0]


def summarize(path: Path, top: int = 12) -> dict:
    """Top frames by self and by inclusive share of samples.

    py-spy's raw format is one line per distinct stack: frames joined by ';'
    (outermost first, the process first with --subprocesses) and a count.
    """
    self_time: Counter = Counter()
    inclusive: Counter = Counter()
    busy_self: Counter = Counter()
    busy_inclusive: Counter = Counter()
    waiting = total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        leaf = frames[-1]
        self_time[leaf] += samples
        is_waiting = any(w in _function(leaf).lower() for w in WAITING)
        waiting += samples if is_waiting else 0
        for frame in set(frames[1:]):
            inclusive[frame] += samples
            if not is_waiting:
                busy_inclusive[frame] += samples
        if not is_waiting:
            busy_self[leaf] += samples
    if not total:
        return {"samples": 0}

    busy = total - waiting

    def share(counter: Counter, limit: int, ceiling=1.0, of=total) -> list:
        rows = [
            {"frame": frame, "share": n / of}
            for frame, n in counter.most_common()
            if of and n / of <= ceiling
        ]
        return rows[:limit]

    return {
        "samples": total,
        "waiting_share": waiting / total,
        "top_self": share(self_time, top),
        # Frames under 97% (the entry points above them are in every stack).
        "top_inclusive": share(inclusive, top * 2, ceiling=0.97),
        # The same, over the samples whose innermost frame is not a wait: where
        # the process computes (shares of its busy samples).
        "top_self_busy": share(busy_self, top, of=busy),
        "top_inclusive_busy": share(busy_inclusive, top * 3, ceiling=0.97, of=busy),
        # The application's frames only (inclusive, busy samples).
        "top_app_busy": share(
            Counter({f: n for f, n in busy_inclusive.items() if _is_app(f)}),
            top * 2,
            of=busy,
        ),
    }
