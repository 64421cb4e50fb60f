"""The relay's and the consumers' Prometheus metrics, beside the code they measure.

Defined here, in the messaging kit, because only the relay and the workers move
them; the web app's own metrics are in api/metrics.py. Everything on the hot
path is a counter increment or a histogram observation per event or batch:
no query, no I/O. What needs the database or the broker (backlogs, lag,
parked and dead-lettered counts) is read when Prometheus scrapes, by the
collectors of events/metrics_collectors.py. Labels stay few and bounded:
consumer, event type, outcome; never a payment or an event id.
See docs/operations.md#metrics-and-alerts.
"""

import time
from datetime import datetime

from django.db import transaction
from prometheus_client import Counter, Gauge, Histogram

from events.envelope import Event

# Seconds from one millisecond to two minutes: a confirm, an apply, a lag.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip

RELAY_PUBLISHED = Counter(
    "payments_relay_published_events",
    "Outbox rows the broker confirmed and the relay marked published.",
)
RELAY_PUBLISH_ERRORS = Counter(
    "payments_relay_publish_errors",
    "Rows not published: refused by the broker (nack, unroutable), unsendable "
    "(no message can carry them), or a batch the broker was unavailable for.",
    ["reason"],
)
RELAY_CONFIRM_SECONDS = Histogram(
    "payments_relay_confirm_seconds",
    "One batch: from its first publish to the broker's last confirm.",
    buckets=LATENCY_BUCKETS,
)
RELAY_LEADER = Gauge(
    "payments_relay_leader",
    "1 while this relay holds the leader lock, 0 while it stands by.",
)

CONSUMER_EVENTS = Counter(
    "payments_consumer_events",
    "Events a consumer's inbox took, by outcome (applied, skipped_duplicate, "
    "parked); counted when their transaction commits.",
    ["consumer", "event_type", "outcome"],
)
CONSUMER_APPLY_SECONDS = Histogram(
    "payments_consumer_apply_seconds",
    "Time inside the inbox for one event (lock, checks, handler), before commit.",
    ["consumer"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LATENCY_SECONDS = Histogram(
    "payments_consumer_commit_to_apply_seconds",
    "From the event's time (the producer's commit) to its apply's commit.",
    ["consumer"],
    buckets=LATENCY_BUCKETS,
)


def relay_batch_observed(
    *, confirm_seconds: float, published: int, refused: int
) -> None:
    """Count one published batch; called after its rows were marked."""
    RELAY_CONFIRM_SECONDS.observe(confirm_seconds)
    RELAY_PUBLISHED.inc(published)
    if refused:
        RELAY_PUBLISH_ERRORS.labels(reason="refused").inc(refused)


def relay_errors_observed(reason: str, rows: int) -> None:
    if rows:
        RELAY_PUBLISH_ERRORS.labels(reason=reason).inc(rows)


class MeteredLeadership:
    """A relay's leadership that keeps payments_relay_leader true to it.

    Wraps PostgresLeadership or FileLeadership (events/relay_process.py): the
    gauge follows every acquire, check and release, so a relay that lost its
    lock reads 0 as soon as it knows.
    """

    def __init__(self, leadership):
        self._leadership = leadership
        RELAY_LEADER.set(0)

    def acquire(self) -> bool:
        held = self._leadership.acquire()
        RELAY_LEADER.set(1 if held else 0)
        return held

    def held(self) -> bool:
        held = self._leadership.held()
        if not held:
            RELAY_LEADER.set(0)
        return held

    def release(self) -> None:
        RELAY_LEADER.set(0)
        self._leadership.release()

    def __getattr__(self, name):
        return getattr(self._leadership, name)


def _event_age(event: Event) -> float | None:
    try:
        produced = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        return None  # validated envelopes carry a time; a foreign one may not
    return max(0.0, time.time() - produced.timestamp())


def consume_observed(consumer: str, event: Event, outcome: str, started: float):
    """Count what the inbox did with one event, once its transaction commits.

    A burst rolled back and run again, or a savepoint given up, must not count
    twice or at all: on_commit drops the callback with the rollback.
    `started` is the time.perf_counter() at which the inbox took the event.
    """
    apply_seconds = time.perf_counter() - started

    def count() -> None:
        CONSUMER_EVENTS.labels(consumer, event.type, outcome).inc()
        CONSUMER_APPLY_SECONDS.labels(consumer).observe(apply_seconds)
        if outcome == "applied":
            age = _event_age(event)
            if age is not None:
                CONSUMER_LATENCY_SECONDS.labels(consumer).observe(age)

    transaction.on_commit(count)
