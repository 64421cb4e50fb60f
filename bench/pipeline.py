"""The pipeline's figures, on the real stack started from docker-compose.yml.

- throughput: approvals/s through REST with N closed-loop clients, counted when
  every consumer has applied them, and the approve calls' latency;
- end-to-end latency at a fixed (open-loop) rate: from the PaymentApproved
  outbox row's created_at to each consumer's InboxEntry.applied_at;
- consumer drain: a backlog per consumer, applied with the workers started late;
- relay drain: pending outbox rows published and confirmed, the relay started late.

Every stamp is the application's own timezone.now() at insert time, a few
hundred microseconds before its transaction commits; all processes share the
machine's clock.
"""

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

import psycopg

from bench.commits import commits_per_unit, counts_read, per_unit, server_counted
from bench.http_clients import closed_loop, open_loop, token_get
from bench.meter import CLIENT, OTHERS, Meter, per_unit_ms
from bench.probe import (
    BACKLOG_TYPES,
    CONSUMERS,
    WORKERS,
    Probe,
    consumer_queues_purge,
)
from bench.procfs import PG_PARTS_NAMES
from bench.stats import latency_summary, over_repeats, percentile
from events.topology import receivers
from launcher.local import PG
from launcher.runner import service_stop

DEMO_PASSWORD = "demo-password"  # noqa: S105 - the demo users' published password


@dataclass
class Context:
    stack: object
    meter: Meter
    probe: Probe
    token: str = ""
    pool: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    vacuumed: bool = False

    def take(self, count: int) -> list[str]:
        if count > len(self.pool):
            self.pool_top_up(count - len(self.pool) + 100)
        taken, self.pool = self.pool[:count], self.pool[count:]
        return taken

    def vacuum(self) -> None:
        """Stand in for the server's autovacuum before a phase (Probe)."""
        if self.probe.autovacuum_stands_in() and not self.vacuumed:
            self.vacuumed = True
            self.notes.append(
                "the server's autovacuum is off: the bench ran VACUUM (ANALYZE) "
                "on its database before each phase, untimed"
            )

    def track_all(self) -> None:
        for name, running in self.stack.running.items():
            if running.process.poll() is None:
                self.meter.track(name, running.process.pid)

    def stop(self, *names: str) -> None:
        self.meter.sample_rss()
        for name in names:
            service_stop(self.stack.running[name])

    def start(self, *names: str) -> None:
        for name in names:
            self.stack.start(name)
        self.track_all()

    def payments_make(self, count: int, *, approve: bool, tag: str) -> None:
        """Make payments through the services, in manage.py processes (untimed)."""
        chunk = 600 if approve else 1500  # each call must end within two minutes
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            self.stack.manage(
                "shell",
                "-c",
                "from bench.payments_seed import payments_make; "
                f"payments_make({n}, approve={approve}, tag='{tag}-{start}')",
            )

    def pool_top_up(self, count: int) -> None:
        """More submitted payments, their events applied before anything is timed."""
        self.notes.append(f"topped up the payment pool by {count}")
        base = self.probe.inbox_max_id()
        self.payments_make(count, approve=False, tag=f"top-up-{time.time():.0f}")
        self.probe.wait_applied(
            base, count, timeout=600 + count, event_types=("PaymentSubmitted",)
        )
        known = set(self.pool)
        self.pool += [p for p in self.probe.pending_payments() if p not in known]


def _cpu_ms(ctx: Context, before: dict, after: dict, units: int) -> dict:
    cpu = ctx.meter.cpu_between(before, after)
    cores = os.cpu_count() or 1
    wall = cpu["_wall"] or 1
    return {
        "per_unit": per_unit_ms(cpu, units),
        "wall_s": cpu["_wall"],
        "machine_busy_share": cpu["_machine"] / wall / cores,
        "other_processes_share": cpu[OTHERS] / wall / cores,
    }


# A PostgreSQL backend (15+) that goes idle within a second of its last stats
# flush keeps its counts for PGSTAT_IDLE_INTERVAL (10 s) before flushing them.
# Read sooner, the server's commits miss up to a second of every busy session's,
# while each process's own count (its /metrics) does not: "elsewhere" went
# negative once the e-mail sender stopped opening a session per pass.
STATS_SETTLE_S = 11.0


def _db_snapshot(ctx: Context, settle: bool = False) -> dict:
    """The database's counters; with `settle`, once every idle session flushed."""
    if settle:
        time.sleep(STATS_SETTLE_S)
    return {
        "db": ctx.probe.db_stats(),
        "tables": ctx.probe.table_stats(),
        "counts": counts_read(ctx.stack.metrics_urls),
    }


def _db_per_unit(ctx: Context, before: dict, units: int, settle: bool) -> dict:
    """PostgreSQL counters per unit of work: the database's, its commits split
    by the process that made them, and the tables read most (rows read by
    sequential scans, index entries read), system catalogs summed as one.

    With `settle` (a phase read from a settled start), the processes' counts
    are read when the phase ends and the server's (its commits and its tables)
    once its sessions flushed, the commits less what the processes committed
    while it waited (their idle timers).
    Without it (a phase whose start was read while the stack was busy), it
    waits only for the busy sessions' next flush (~1 s)."""
    if not settle:
        time.sleep(1.2)
    after = _db_snapshot(ctx)  # the processes' counts as the phase ends
    server = after  # what the server counted: its database and its tables
    if settle:
        server = _db_snapshot(ctx, settle=True)
        waited = server_counted(server["counts"]) - server_counted(after["counts"])
        server["db"]["xact_commit"] -= waited
    units = max(1, units)
    per = {k: (v - before["db"][k]) / units for k, v in server["db"].items()}
    per["commits_by_process"] = commits_per_unit(
        before["counts"], after["counts"], per["xact_commit"], units
    )
    per["statements_by_process"] = per_unit(
        before["counts"], after["counts"], "statements", units
    )
    tables = {}
    for name, stats in server["tables"].items():
        earlier = before["tables"].get(name, {})
        tables[name] = {k: (v - earlier.get(k, 0.0)) / units for k, v in stats.items()}
    busiest = sorted(
        tables,
        key=lambda t: -(tables[t]["seq_tup_read"] + tables[t]["idx_tup_read"]),
    )[:8]
    per["tables"] = {name: tables[name] for name in busiest}
    return per


APPROVED = ("PaymentApproved",)


def login(ctx: Context) -> None:
    try:
        ctx.token = token_get("127.0.0.1", ctx.stack.port, "bob", DEMO_PASSWORD)
    except RuntimeError as exc:
        time.sleep(0.5)
        raise RuntimeError(f"{exc}\nweb log:\n{ctx.stack.logs('web')}") from exc


def throughput_run(ctx: Context, clients: int, count: int) -> dict:
    """Closed-loop approvals; the rate counts until the last consumer applied."""
    ids = ctx.take(count)
    ctx.vacuum()
    base = ctx.probe.inbox_max_id()
    stats = _db_snapshot(ctx, settle=True)
    before = ctx.meter.snapshot()
    result = closed_loop("127.0.0.1", ctx.stack.port, ctx.token, ids, clients)
    client_cpu = ctx.meter.snapshot()[CLIENT][0] - before[CLIENT][0]
    ok = [call.payment_id for call in result.ok]
    ctx.probe.wait_applied(base, len(ok), timeout=120 + len(ok), event_types=APPROVED)
    after = ctx.meter.snapshot()
    end = ctx.probe.last_applied_epoch(ok)
    api_seconds = result.finished_at - result.started_at
    return {
        "approvals": len(ok),
        "failed_calls": len(result.calls) - len(ok) + len(result.errors),
        "approvals_per_s": len(ok) / (end - result.started_at),
        "api_calls_per_s": len(ok) / api_seconds,
        "api_latency_ms": latency_summary(
            [call.latency_s * 1000 for call in result.ok]
        ),
        "client_cpu_share": client_cpu / api_seconds,
        "connections_opened": result.reconnects,
        "cpu_ms_per_approval": _cpu_ms(ctx, before, after, len(ok)),
        "db_per_approval": _db_per_unit(ctx, stats, len(ok), settle=True),
    }


def _flow_summary(rows: list[tuple]) -> dict:
    """Latency per consumer, of the last consumer, and of the relay's leg."""
    per_consumer: dict[str, list[float]] = defaultdict(list)
    per_event: dict[str, dict[str, float]] = defaultdict(dict)
    published: dict[str, float] = {}
    for event_id, consumer, to_published, to_applied in rows:
        per_consumer[consumer].append(float(to_applied))
        per_event[event_id][consumer] = float(to_applied)
        published[event_id] = float(to_published)
    bound = receivers(APPROVED, CONSUMERS)
    last = [max(v.values()) for v in per_event.values() if len(v) == len(bound)]
    return {
        "consumers": {c: latency_summary(per_consumer[c]) for c in bound},
        "last_of_three": latency_summary(last),
        "relay_published": latency_summary(list(published.values())),
    }


def latency_run(ctx: Context, rate: float, seconds: float) -> dict:
    """Open-loop approvals at `rate`; commit-to-commit latency from the stamps."""
    ids = ctx.take(max(1, int(rate * seconds)))
    ctx.vacuum()
    base = ctx.probe.inbox_max_id()
    before = ctx.meter.snapshot()
    workers = min(64, 8 + int(rate / 10))
    result = open_loop("127.0.0.1", ctx.stack.port, ctx.token, ids, rate, workers)
    ok = [call.payment_id for call in result.ok]
    ctx.probe.wait_applied(base, len(ok), timeout=120 + len(ok), event_types=APPROVED)
    after = ctx.meter.snapshot()
    sent = sorted(call.sent_at for call in result.ok)
    late = [call.sent_at - call.scheduled_at for call in result.ok]
    return {
        "target_rate": rate,
        "achieved_rate": (len(sent) - 1) / (sent[-1] - sent[0])
        if len(sent) > 1
        else None,
        "approvals": len(ok),
        "failed_calls": len(result.calls) - len(ok) + len(result.errors),
        "sent_late_over_10ms_share": sum(x > 0.01 for x in late) / max(1, len(late)),
        "api_latency_ms": latency_summary(
            [call.latency_s * 1000 for call in result.ok]
        ),
        **_flow_summary(ctx.probe.approvals_flow(ok)),
        "cpu_ms_per_approval": _cpu_ms(ctx, before, after, len(ok)),
    }


def _type_costs(ctx: Context, base: int) -> dict:
    """Mean gap before each applied event, by consumer and type, in a backlog.

    In a drain the worker is never idle, so the gap between two applies is the
    service time of the second: its handler, the inbox and Celery's overhead.
    """
    rows = ctx.stack.sql(
        "SELECT consumer, event_type,"
        " extract(epoch FROM applied_at - lag(applied_at)"
        "  OVER (PARTITION BY consumer ORDER BY applied_at)) * 1000 "
        "FROM events_inboxentry WHERE id > %s AND status = 'applied'",
        [base],
    )
    gaps: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for consumer, event_type, gap in rows:
        if gap is not None:
            gaps[consumer][event_type].append(float(gap))
    return {
        consumer: {
            event_type: {
                "n": len(values),
                "mean_ms": sum(values) / len(values),
                "p50_ms": percentile(values, 50),
            }
            for event_type, values in by_type.items()
        }
        for consumer, by_type in gaps.items()
    }


def _window_rates(ctx: Context, base: int, windows: int) -> dict:
    """Events/s of each consumer in consecutive equal slices of its drain."""
    rates = {}
    for consumer in receivers(BACKLOG_TYPES, CONSUMERS):
        stamps = [
            float(row[0])
            for row in ctx.stack.sql(
                "SELECT extract(epoch FROM applied_at) FROM events_inboxentry "
                "WHERE id > %s AND status = 'applied' AND consumer = %s "
                "AND event_type = ANY(%s) ORDER BY applied_at",
                [base, consumer, list(BACKLOG_TYPES)],
            )
        ]
        size = max(2, len(stamps) // windows)
        rates[consumer] = [
            (len(chunk) - 1) / (chunk[-1] - chunk[0])
            for chunk in (stamps[i : i + size] for i in range(0, len(stamps), size))
            if len(chunk) >= size // 2 and chunk[-1] > chunk[0]
        ]
    return rates


@dataclass
class _DrainSpan:
    """One consumer's drain, from its first apply to its last: the workers
    start and finish at different times, so one window for all would count a
    fast consumer's idle seconds against the few events left to it."""

    applied_before: int  # what it had applied when `before` was taken
    before: dict
    after: dict | None = None  # taken once it had applied the whole backlog

    def cpu_ms_per_event(self, ctx: Context, group: str, events: int) -> float | None:
        counted = events - self.applied_before
        used = ctx.meter.cpu_between(self.before, self.after)[group]
        return used * 1000 / counted if counted else None


@dataclass
class _Drain:
    spans: dict[str, _DrainSpan]
    db_before: dict  # the database's counters at the first consumer's start
    applied_at_db_before: dict[str, int]


def _drain_watch(ctx: Context, base: int, events: int) -> _Drain:
    """Snapshot each consumer's processes at its first apply (so that its
    worker's start-up is left out) and when it has applied all `events`."""
    spans: dict[str, _DrainSpan] = {}
    first: tuple[dict, dict] | None = None
    deadline = time.monotonic() + 120 + events
    while True:
        applied = ctx.probe.applied_since(base, BACKLOG_TYPES)
        fresh = [c for c, n in applied.items() if n and c not in spans]
        finished = [
            c
            for c, n in applied.items()
            if n >= events and c in spans and spans[c].after is None
        ]
        if fresh or finished:
            snapshot = ctx.meter.snapshot()
            if first is None:
                first = (_db_snapshot(ctx), dict(applied))
            for c in fresh:
                spans[c] = _DrainSpan(applied_before=applied[c], before=snapshot)
            for c in finished:
                spans[c].after = snapshot
        if len(spans) == len(applied) and all(s.after for s in spans.values()):
            return _Drain(spans, *first)
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumers applied {applied}, expected {events}")
        time.sleep(0.05)


def _backlog_emails(ctx: Context, base: int, timeout: float = 180) -> dict:
    """The backlog's e-mails: how many were still unsent when the consumers had
    drained, and the sender's rate once all are out (the mailer, in the compose
    file, sends them beside the consumers)."""
    _, unsent_at_drain_end, _ = ctx.probe.backlog_emails(base)
    deadline = time.monotonic() + timeout
    while True:
        sent, unsent, per_s = ctx.probe.backlog_emails(base)
        if not unsent or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {
        "sent": sent,
        "unsent_at_drain_end": unsent_at_drain_end,
        "unsent_after_wait": unsent,
        "sent_per_s": per_s,
    }


def consumer_drain(ctx: Context, pool: int, pairs: int, windows: int) -> dict:
    """Make the backlog with the workers stopped, then start them and time it.

    The backlog is the pool's PaymentSubmitted events (the payments the later
    runs approve) and `pairs` payments submitted and approved.
    """
    ctx.stop(*WORKERS)
    base = ctx.probe.inbox_max_id()
    ctx.payments_make(pool, approve=False, tag="pool")
    ctx.payments_make(pairs, approve=True, tag="pairs")
    ctx.probe.wait_outbox_drained(timeout=300)
    events = pool + 2 * pairs
    ctx.vacuum()
    ctx.start(*WORKERS)
    drain = _drain_watch(ctx, base, events)
    spans = drain.spans
    drained = list(spans)  # the consumers bound to the backlog's types
    # The servers' and the database's figures: from the first consumer's
    # start to the last one's end.
    before = min((span.before for span in spans.values()), key=lambda s: s["_wall"])
    after = max((span.after for span in spans.values()), key=lambda s: s["_wall"])
    db = _db_per_unit(
        ctx,
        drain.db_before,
        sum(events - drain.applied_at_db_before[c] for c in drained),
        settle=False,
    )
    cpu = ctx.meter.cpu_between(before, after)
    emails = _backlog_emails(ctx, base)
    ctx.pool = ctx.probe.pending_payments()
    windows_rates = _window_rates(ctx, base, windows)
    return {
        "events_per_consumer": events,
        "events_by_type": {
            "PaymentSubmitted": pool + pairs,
            "PaymentApproved": pairs,
        },
        "events_per_s": ctx.probe.consumer_rates_since(base, BACKLOG_TYPES),
        "events_per_s_windows": {c: over_repeats(r) for c, r in windows_rates.items()},
        "service_ms_by_type": _type_costs(ctx, base),
        "cpu_ms_per_event": {
            f"{c}-worker": spans[c].cpu_ms_per_event(ctx, f"{c}-worker", events)
            for c in drained
        },
        "other_processes_share": cpu[OTHERS] / cpu["_wall"] / (os.cpu_count() or 1),
        "db_per_event": db,
        "emails": emails,
        "cpu_ms_per_event_servers": {
            name: cpu[name] * 1000 / (events * len(drained))
            for name in ("postgresql", *PG_PARTS_NAMES, "rabbitmq")
            if name in cpu
        },
    }


def backlog_insert(ctx: Context, rows: int, tag: str) -> None:
    """Bulk-insert pending outbox rows: copies of a real PaymentApproved envelope."""
    keys = [
        row[0]
        for row in ctx.stack.sql(
            "SELECT DISTINCT partition_key FROM events_outboxmessage "
            "WHERE event_type = 'PaymentApproved'"
        )
    ]
    with psycopg.connect(**PG, dbname=ctx.stack.name, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO events_outboxmessage (event_id, event_type, schema_version,"
            " source, subject, partition_key, sequence, envelope, created_at, attempts,"
            " last_error, refusals, organisation_id) "
            "SELECT x.eid, t.event_type, t.schema_version, t.source, x.subject, x.pkey,"
            " t.sequence, jsonb_set(jsonb_set(jsonb_set(t.envelope,"
            "  '{id}', to_jsonb(x.eid::text)), '{subject}', to_jsonb(x.subject)),"
            "  '{partitionkey}', to_jsonb(x.pkey)), now(), 0, '', 0, t.organisation_id "
            "FROM (SELECT gen_random_uuid() AS eid,"
            "  %(tag)s || '-' || g AS subject,"
            "  (%(keys)s::text[])[1 + g %% %(nkeys)s] AS pkey"
            "  FROM generate_series(1, %(rows)s) g) x,"
            " (SELECT * FROM events_outboxmessage WHERE event_type = 'PaymentApproved'"
            "  ORDER BY id DESC LIMIT 1) t "
            "ORDER BY x.subject",
            {"tag": tag, "keys": keys, "nkeys": len(keys), "rows": rows},
        )


def relay_drain(ctx: Context, rows: int, tag: str, partitions: int = 4) -> dict:
    """Pending rows inserted with the relay stopped; then the relay drains them."""
    ctx.stop(
        "relay", *[w for w in WORKERS if ctx.stack.running[w].process.poll() is None]
    )
    base = ctx.probe.outbox_max_id()
    backlog_insert(ctx, rows, tag)
    ctx.vacuum()
    ctx.start("relay")
    while not ctx.probe.relay_marks_since(base):
        time.sleep(0.02)
    before = ctx.meter.snapshot()
    published_before = sum(n for _, n in ctx.probe.relay_marks_since(base))
    ctx.probe.wait_outbox_drained(timeout=600)
    after = ctx.meter.snapshot()
    marks = ctx.probe.relay_marks_since(base)
    purged = consumer_queues_purge(ctx.stack.name, partitions)
    cpu = ctx.meter.cpu_between(before, after)
    counted = max(1, rows - published_before)
    return {
        "rows": rows,
        "events_per_s": sum(n for _, n in marks[1:]) / (marks[-1][0] - marks[0][0])
        if len(marks) > 1
        else None,
        "batches": len(marks),
        "other_processes_share": cpu[OTHERS] / cpu["_wall"] / (os.cpu_count() or 1),
        "messages_purged_after": purged,
        "cpu_ms_per_event": {
            name: seconds * 1000 / counted
            for name, seconds in cpu.items()
            if name in ("relay", "postgresql", *PG_PARTS_NAMES, "rabbitmq")
        },
    }
