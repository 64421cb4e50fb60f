"""The settlement benchmark's measured step, in a fresh process: one received
statement processed as the settlement consumer does it. bench/settlement.py.

The file's SettlementFileReceived envelope, read back from the outbox, goes
through `events.inbox.consume` with the settlement consumer's handlers: the
inbox transaction, and inside it `settlement_file_process`, as the worker runs
it, minus Celery. The process's peak memory is read from /proc/self/status
(VmHWM belongs to this process's own address space, so nothing of the parent
that started it counts) before and after, beside getrusage's ru_maxrss. Prints
one JSON object.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from events.inbox import consume  # noqa: E402
from events.models import OutboxMessage  # noqa: E402
from settlement.consumer import CONSUMER  # noqa: E402
from settlement.models import SettlementFile  # noqa: E402


def status_mib(field: str) -> float:
    """VmHWM (peak resident) or VmRSS of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    return float("nan")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    fields = [
        int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class QueryCounter:
    """Count the statements sent to the database (a wrapper costs ~1 µs each)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def profile_summary(profiler: cProfile.Profile, top: int = 25) -> str:
    """The top functions by cumulative and by own time, then the project's own."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    # pstats matches the regex against "path:line(function)".
    stats.sort_stats("cumulative").print_stats(
        r"^(?!.*(site-packages|/lib/python))", 40
    )
    return out.getvalue()


def process(file_id: str, profile: bool) -> dict:
    envelope = OutboxMessage.objects.get(
        event_type="SettlementFileReceived", envelope__data__file_id=file_id
    ).envelope
    settled_before = OutboxMessage.objects.filter(event_type="PaymentSettled").count()
    connection.ensure_connection()
    before = {"vm_hwm_mib": status_mib("VmHWM"), "ru_maxrss_mib": maxrss_mib()}
    counter = QueryCounter()
    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(counter):
        started, cpu_started = time.perf_counter(), time.process_time()
        ticks = machine_ticks()
        if profiler:
            profiler.enable()
        outcome = consume(
            consumer=CONSUMER.name,
            envelope=envelope,
            handlers=CONSUMER.handlers,
            consumes=CONSUMER.consumed_types,
        )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        busy, total = (b - a for a, b in zip(ticks, machine_ticks(), strict=True))
    after = {
        "vm_hwm_mib": status_mib("VmHWM"),
        "vm_rss_mib": status_mib("VmRSS"),
        "ru_maxrss_mib": maxrss_mib(),
    }
    settlement_file = SettlementFile.objects.get(pk=file_id)
    settled = OutboxMessage.objects.filter(event_type="PaymentSettled").count()
    return {
        "delivery": outcome,
        "status": settlement_file.status,
        "rejection_reason": settlement_file.rejection_reason,
        "lines": settlement_file.lines.count(),
        "outcomes": settlement_file.outcome_counts,
        "payment_settled_written": settled - settled_before,
        "seconds": seconds,
        # This process's CPU, and how busy the whole machine was meanwhile (all
        # cores: 1.0 is every core busy); the rest is the database and others.
        "cpu_s": cpu_s,
        "machine_busy_share": busy / total if total else None,
        "queries": counter.count,
        "memory_before": before,
        "memory_after": after,
        "database_vendor": connection.vendor,
        "profile": profile_summary(profiler) if profiler else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.settlement_process")
    parser.add_argument("--file-id", required=True)
    parser.add_argument("--profile", action="store_true", help="under cProfile")
    args = parser.parse_args(argv)
    print(json.dumps(process(args.file_id, args.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
