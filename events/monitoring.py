"""What each consumer is doing: its queues' backlog in the broker, its state in the DB;
and the outbox rows the relay could not publish.

The broker answers "how much is waiting"; the database answers "what went wrong"
(dead letters, parked events) and "is anyone there" (pause flag, heartbeat). A
broker that cannot be reached makes the backlog unknown, never the page fail.
The queues hold every organisation's messages, so this whole view is for
operators; members see events/organisation_monitoring.py instead.
See docs/lessons/fault-controls.md.
"""

import hashlib
import os
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone
from kombu import Connection

from events.models import ConsumerState, DeliveryStatus, InboxEntry, OutboxMessage
from events.topology import (
    dead_letter_queue_name,
    is_rabbitmq,
    partition_queue_name,
    retry_queue_name,
)

# A worker's PauseSwitch writes its heartbeat every second; ten missed beats
# mean the process is gone (or stuck), not merely slow.
HEARTBEAT_FRESH = timedelta(seconds=10)
NOT_DECLARED = "not declared"
# Every open consumers page and fault lab polls once a second; the broker is
# asked at most once per this many seconds, whoever polls (the cache is shared
# by the web processes of a host).
DEPTHS_FRESH_SECONDS = 2


def cached(key: str, compute, seconds: float = DEPTHS_FRESH_SECONDS):
    """Return compute()'s value, computed at most once per `seconds` per key.

    While one caller computes a missing value, the others get the last one
    known (if any) instead of computing it too: a poll storm at the moment
    the value expires still costs one computation, not one per poller.
    """
    value = cache.get(key)
    if value is not None:
        return value
    if not cache.add(f"{key}:computing", True, seconds):
        last = cache.get(f"{key}:last")
        if last is not None:
            return last
    try:
        value = compute()
    finally:
        cache.delete(f"{key}:computing")
    cache.set(key, value, seconds)
    cache.set(f"{key}:last", value, seconds * 30)
    return value


# The relay's failures list shows this many rows; the counts cover them all.
RELAY_FAILURES_SHOWN = 50


@dataclass
class Depth:
    """How many messages wait in one queue (None: unknown), and why if unusual."""

    backlog: int | None
    note: str | None = None


@dataclass
class Depths:
    queues: dict[str, Depth] = field(default_factory=dict)
    broker_error: str | None = None


def _filesystem_depths(names: list[str]) -> Depths:
    # kombu names each message file "<ms>_<uuid>.<queue>.msg" and matches a queue
    # by what follows the first dot; counting the same way needs no connection.
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "data_in")
    try:
        files = os.listdir(folder)
    except OSError as exc:
        return Depths(
            {name: Depth(None) for name in names},
            f"cannot read the broker folder {folder}: {exc.strerror or exc}",
        )
    counts: dict[str, int] = {}
    for filename in files:
        queue = filename.partition(".")[2]
        if queue.endswith(".msg"):
            counts[queue[: -len(".msg")]] = counts.get(queue[: -len(".msg")], 0) + 1
    return Depths({name: Depth(counts.get(name, 0)) for name in names})


def _amqp_depths(names: list[str]) -> Depths:
    connection = Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=3,
    )
    depths = Depths()
    try:
        # One attempt: a page that waits for a broker's retries is a broken page.
        connection.ensure_connection(max_retries=0)
        channel = connection.channel()
        for name in names:
            try:
                # Passive: ask about the queue without creating it.
                ok = channel.queue_declare(queue=name, passive=True)
                depths.queues[name] = Depth(ok.message_count)
            except connection.channel_errors:
                # RabbitMQ answers 404 and closes the channel; carry on with a new one.
                depths.queues[name] = Depth(0, NOT_DECLARED)
                channel = connection.channel()
    except Exception as exc:  # any broker failure leaves the backlog unknown
        depths.broker_error = f"{exc.__class__.__name__}: {exc}"
        depths.queues = {name: Depth(None) for name in names}
    finally:
        connection.release()
    return depths


def _depths_read(names: list[str]) -> Depths:
    if settings.CELERY_BROKER_URL.startswith("filesystem:"):
        return _filesystem_depths(names)
    return _amqp_depths(names)


def queue_depths(names: list[str]) -> Depths:
    """Return the number of messages waiting in each named queue.

    Read at most once per DEPTHS_FRESH_SECONDS (a failure too, so a broker
    that is away is not asked again by every poll while it times out).
    """
    where = (settings.CELERY_BROKER_URL, repr(settings.CELERY_BROKER_TRANSPORT_OPTIONS))
    digest = hashlib.sha256(repr((where, names)).encode()).hexdigest()[:32]
    return cached(f"events:queue-depths:{digest}", lambda: _depths_read(names))


def _per_consumer(status: str) -> dict[str, int]:
    return dict(
        InboxEntry.objects.filter(status=status)
        .values_list("consumer")
        .annotate(count=Count("id"))
        .order_by()
    )


def consumer_overview() -> dict:
    """Return every consumer's queues, backlog, dead letters, parked events and state.

    The shape of GET /api/v1/consumers; `backlog` is None when the broker cannot
    say, and `broker_error` tells why.
    """
    consumers = list(settings.EVENT_CONSUMERS)
    # On RabbitMQ a retry waits in the consumer's retry queue (ADR 0020); on the
    # embedded broker it waits in the worker, so there is no such queue.
    retry_queues = is_rabbitmq(settings.CELERY_BROKER_URL)
    names = []
    for consumer in consumers:
        names += [partition_queue_name(consumer, n) for n in _partitions()]
        names.append(dead_letter_queue_name(consumer))
        if retry_queues:
            names.append(retry_queue_name(consumer))
    depths = queue_depths(names)
    states = {
        s.consumer: s for s in ConsumerState.objects.filter(consumer__in=consumers)
    }
    dead_lettered = _per_consumer(DeliveryStatus.DEAD_LETTERED)
    parked = _per_consumer(DeliveryStatus.PARKED)
    fresh_after = timezone.now() - HEARTBEAT_FRESH
    results = []
    for consumer in consumers:
        state = states.get(consumer)
        heartbeat_at = state.heartbeat_at if state else None
        queues = []
        for n in _partitions():
            name = partition_queue_name(consumer, n)
            depth = depths.queues[name]
            queues.append(
                {
                    "name": name,
                    "partition": n,
                    "backlog": depth.backlog,
                    "note": depth.note,
                }
            )
        known = [q["backlog"] for q in queues]
        results.append(
            {
                "name": consumer,
                "paused": bool(state and state.paused),
                "running": heartbeat_at is not None and heartbeat_at >= fresh_after,
                "heartbeat_at": heartbeat_at,
                "queues": queues,
                "backlog": None if None in known else sum(known),
                "dead_letter_queue": _queue(depths, dead_letter_queue_name(consumer)),
                "retry_queue": _queue(depths, retry_queue_name(consumer))
                if retry_queues
                else None,
                "dead_lettered": dead_lettered.get(consumer, 0),
                "parked": parked.get(consumer, 0),
            }
        )
    return {"scope": "global", "results": results, "broker_error": depths.broker_error}


def _queue(depths: Depths, name: str) -> dict:
    depth = depths.queues[name]
    return {"name": name, "backlog": depth.backlog, "note": depth.note}


def _partitions() -> range:
    return range(settings.EVENT_PARTITIONS)


def relay_failures(*, organisation_id=None, limit: int = RELAY_FAILURES_SHOWN) -> dict:
    """Return the outbox rows the relay could not publish, for /relay.

    Failed rows wait for an operator (`manage.py outbox_failed`); backing-off
    rows were refused by the broker and wait to be sent again; held rows wait
    behind either. With `organisation_id`, only that organisation's events.
    See docs/lessons/relay.md#a-row-that-cannot-be-published.
    """
    unpublished = OutboxMessage.objects.filter(published_at__isnull=True)
    if organisation_id is not None:
        unpublished = unpublished.filter(organisation_id=organisation_id)
    failed = unpublished.filter(failed_at__isnull=False, skipped_at__isnull=True)
    backing_off = unpublished.filter(
        failed_at__isnull=True, next_attempt_at__isnull=False
    )
    held = unpublished.filter(held_behind__isnull=False)
    shown = list(failed.order_by("id")[:limit]) + list(
        backing_off.order_by("next_attempt_at", "id")[:limit]
    )
    holding = dict(
        held.filter(held_behind__in=[row.id for row in shown])
        .values_list("held_behind")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {
        "failed": failed.count(),
        "oldest_failed_at": failed.order_by("failed_at")
        .values_list("failed_at", flat=True)
        .first(),
        "backing_off": backing_off.count(),
        "held": held.count(),
        "rows": [
            {
                "row_id": row.id,
                "event_id": row.event_id,
                "type": row.event_type,
                "subject": row.subject,
                "state": "failed" if row.failed_at else "backing_off",
                "attempts": row.attempts,
                "refusals": row.refusals,
                "last_error": row.last_error,
                "failed_at": row.failed_at,
                "next_attempt_at": row.next_attempt_at,
                "holding": holding.get(row.id, 0),
            }
            for row in shown
        ],
    }
