"""The relay: move committed outbox rows to the broker in order; mark them published.

One relay is active at a time (a leader lock; others wait as standbys), so one
partition's events are never reordered. Each cycle: claim a batch in a short
transaction (FOR UPDATE SKIP LOCKED) under a lease, check the leader lock is
still ours, publish with no transaction open, then mark the confirmed rows,
fenced by the claim token and the lease. A row that cannot be published holds
back its partition, never the relay (events/outbox_failures.py).
See docs/lessons/relay.md.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.messages import task_message
from events.metrics import relay_batch_observed, relay_errors_observed
from events.models import OutboxMessage
from events.outbox_claims import (
    Claim,
    outbox_claim,
    outbox_fail,
    outbox_hold,
    outbox_mark_published,
    outbox_refuse,
    outbox_release,
)
from events.outbox_failures import Blocker, outbox_blockers
from events.publishers import BrokerUnavailable, Outgoing
from events.topology import EXCHANGE, partition_of, routing_key
from events.traces import relay_publish_traced

logger = logging.getLogger("events.relay")


class LeadershipLost(Exception):
    """The relay no longer holds the leader lock: it must stop publishing."""


class CorruptEnvelope(ValueError):
    """The stored envelope cannot be carried as a message."""


def outgoing(row: OutboxMessage) -> Outgoing:
    """Return the message that carries this row; CorruptEnvelope if none can."""
    envelope = row.envelope
    if not isinstance(envelope, dict):
        raise CorruptEnvelope(
            f"the envelope is {type(envelope).__name__}, not a JSON object"
        )
    for key in ("id", "type"):
        # Both go into AMQP properties and headers, where a non-string would
        # break the whole batch's publish instead of this one row.
        if not isinstance(envelope.get(key), str):
            raise CorruptEnvelope(f'the envelope has no string "{key}"')
    headers, properties, body = task_message(envelope)
    return Outgoing(
        row_id=row.id,
        exchange=EXCHANGE.name,
        routing_key=routing_key(row.event_type, partition_of(row.partition_key)),
        headers=headers,
        properties=properties,
        body=body,
    )


@dataclass
class Plan:
    """What one cycle does with its claimed rows, decided before publishing."""

    send: list[tuple[OutboxMessage, Outgoing]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # row id -> error
    held: dict[int, tuple[Blocker, list[int]]] = field(default_factory=dict)

    def hold(self, blocker: Blocker, row_id: int) -> None:
        self.held.setdefault(blocker.row_id, (blocker, []))[1].append(row_id)


def _plan(rows: list[OutboxMessage], blockers: dict[int, Blocker]) -> Plan:
    """Hold rows behind earlier blocking rows; fail rows no message can carry."""
    plan, blockers = Plan(), dict(blockers)
    for row in rows:
        partition = partition_of(row.partition_key)
        blocker = blockers.get(partition)
        if blocker is not None and blocker.row_id < row.id:
            plan.hold(blocker, row.id)
            continue
        try:
            plan.send.append((row, outgoing(row)))
        except Exception as exc:  # any error of one row is that row's, not the relay's
            plan.failed[row.id] = (
                f"cannot be sent as a message: {exc.__class__.__name__}: {exc}"
            )
            logger.error("event %s failed: %s", row.event_id, plan.failed[row.id])
            blockers[partition] = Blocker(row.id, str(row.event_id), partition)
    return plan


@dataclass
class Cycle:
    claimed: int = 0
    published: int = 0


def _may_publish(claim: Claim, leadership) -> bool:
    """Check, just before publishing, that the lock and the lease are still ours.

    Gives the rows back when they are not: raises LeadershipLost when the
    leader lock is gone, returns False when the lease ran out (a slow cycle).
    """
    row_ids = [row.id for row in claim.rows]
    if leadership is not None and not leadership.held():
        outbox_release(
            claim=claim, row_ids=row_ids, error="the relay lost its leader lock"
        )
        raise LeadershipLost("the leader lock's connection is gone")
    if timezone.now() >= claim.until:
        logger.warning("the claim's lease ran out before publishing; claiming again")
        outbox_release(claim=claim, row_ids=row_ids, error="the claim's lease ran out")
        return False
    return True


def relay_cycle(*, publisher, batch_size: int | None = None, leadership=None) -> Cycle:
    """Run one claim-publish-mark cycle; return how many rows it claimed, published.

    No event of a partition goes out before an earlier one that is waiting,
    failed, or refused in this batch; other partitions go on. Raises
    BrokerUnavailable when the broker is away (the rows are released, their
    attempts untouched) and LeadershipLost when `leadership` no longer holds.
    """
    blockers = outbox_blockers(now=timezone.now())
    claim = outbox_claim(batch_size=batch_size or settings.RELAY_BATCH_SIZE)
    if not claim.rows:
        return Cycle()
    plan = _plan(claim.rows, blockers)
    if not _may_publish(claim, leadership):
        return Cycle(claimed=len(claim.rows))
    with transaction.atomic():
        for row_id, error in plan.failed.items():
            outbox_fail(claim=claim, row_ids=[row_id], error=error)
        for blocker, row_ids in plan.held.values():
            outbox_hold(claim=claim, blocker=blocker, row_ids=row_ids)
    relay_errors_observed("unsendable", len(plan.failed))
    if not plan.send:
        return Cycle(claimed=len(claim.rows))
    started = time.perf_counter()
    try:
        results = relay_publish_traced(publisher.publish_batch, plan.send)
    except BrokerUnavailable as exc:
        relay_errors_observed("broker_unavailable", len(plan.send))
        outbox_release(
            claim=claim, row_ids=[row.id for row, _ in plan.send], error=str(exc)
        )
        raise
    confirm_seconds = time.perf_counter() - started
    confirmed: list[int] = []
    refused_before = [row.id for row, _ in plan.send if row.refusals]
    stopped = Plan()
    refused_in: dict[int, Blocker] = {}  # partition -> the row refused first
    for (row, _), error in zip(plan.send, results, strict=True):
        partition = partition_of(row.partition_key)
        if partition in refused_in:
            # It may be in the queues already (sent before the refusal came
            # back); it goes again after the refused row, and consumers skip
            # the extra copy.
            stopped.hold(refused_in[partition], row.id)
        elif error is not None:
            failed = outbox_refuse(claim=claim, row=row, error=error)
            logger.error(
                "event %s not published: %s%s",
                row.event_id,
                error,
                " (attempts used up: failed)" if failed else "",
            )
            refused_in[partition] = Blocker(row.id, str(row.event_id), partition)
        else:
            confirmed.append(row.id)
    for blocker, row_ids in stopped.held.values():
        outbox_hold(claim=claim, blocker=blocker, row_ids=row_ids)
    marked = outbox_mark_published(
        claim=claim, row_ids=confirmed, refused_before=refused_before
    )
    relay_batch_observed(
        confirm_seconds=confirm_seconds, published=marked, refused=len(refused_in)
    )
    if marked < len(confirmed):
        logger.warning(
            "%d confirmed rows were claimed by another relay meanwhile, or the "
            "claim's lease ran out; left to be published again",
            len(confirmed) - marked,
        )
    return Cycle(claimed=len(claim.rows), published=marked)


def relay_once(*, publisher, batch_size: int | None = None, leadership=None) -> int:
    """Run one cycle (see relay_cycle); return how many rows were published."""
    return relay_cycle(
        publisher=publisher, batch_size=batch_size, leadership=leadership
    ).published
