"""The relay: move committed outbox rows to the broker in order; mark them published.

One relay is active at a time (a leader lock; others wait as standbys), so one
partition's events are never reordered. Each cycle: claim a batch in a short
transaction (FOR UPDATE SKIP LOCKED), publish with no transaction open, then mark
the confirmed rows, fenced by the claim token. See docs/lessons/relay.md.
"""

import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.messages import task_message
from events.models import OutboxMessage
from events.publishers import BrokerUnavailable, Outgoing
from events.topology import EXCHANGE, partition_of, routing_key

logger = logging.getLogger("events.relay")


@dataclass
class Claim:
    token: uuid.UUID
    rows: list[OutboxMessage] = field(default_factory=list)


def outbox_claim(*, batch_size: int) -> Claim:
    """Claim the oldest unpublished rows for this relay, in id order.

    One statement claims and returns the batch. A row a dead relay had claimed is
    claimed again: only the leader publishes, so an older claim belongs to a relay
    that lost its lock. Rows locked by a claim still in flight elsewhere are
    skipped, never waited on (SQLite has one writer at a time and needs no lock).
    """
    claim = Claim(token=uuid.uuid4())
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    field = OutboxMessage._meta.get_field
    params = [
        field("claim_token").get_db_prep_value(claim.token, connection),
        field("claimed_until").get_db_prep_value(
            timezone.now() + timedelta(minutes=5), connection
        ),
        batch_size,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claim_token = %s, claimed_until = %s, "  # noqa: S608
            "attempts = attempts + 1 WHERE id IN ("
            f"SELECT id FROM {table} WHERE published_at IS NULL "
            f"ORDER BY id LIMIT %s{skip_locked}) "
            "RETURNING id, envelope, event_type, partition_key",
            params,
        )
        rows = cursor.fetchall()
    claim.rows = sorted(
        (
            OutboxMessage(
                id=row_id,
                envelope=envelope
                if isinstance(envelope, dict)
                else json.loads(envelope),
                event_type=event_type,
                partition_key=partition_key,
            )
            for row_id, envelope, event_type, partition_key in rows
        ),
        key=lambda row: row.id,
    )
    return claim


def outbox_mark_published(*, claim: Claim, row_ids: list[int]) -> int:
    """Mark confirmed rows published, unless another relay has claimed them since."""
    if not row_ids:
        return 0
    return OutboxMessage.objects.filter(
        id__in=row_ids, claim_token=claim.token, published_at__isnull=True
    ).update(published_at=timezone.now(), claim_token=None, last_error="")


def outbox_release(*, claim: Claim, row_ids: list[int], error: str) -> None:
    """Give rows back unpublished, noting why, so the next cycle retries them."""
    if row_ids:
        OutboxMessage.objects.filter(id__in=row_ids, claim_token=claim.token).update(
            claim_token=None, claimed_until=None, last_error=error[:2000]
        )


def outgoing(row: OutboxMessage) -> Outgoing:
    headers, properties, body = task_message(row.envelope)
    return Outgoing(
        row_id=row.id,
        exchange=EXCHANGE.name,
        routing_key=routing_key(row.event_type, partition_of(row.partition_key)),
        headers=headers,
        properties=properties,
        body=body,
    )


def relay_once(*, publisher, batch_size: int | None = None) -> int:
    """Run one claim-publish-mark cycle; return how many rows were published.

    A failed event holds back the rest of its partition in this batch, so no
    later event of a partition overtakes an earlier one, while other partitions
    go on. Raises BrokerUnavailable when the broker is away.
    """
    claim = outbox_claim(batch_size=batch_size or settings.RELAY_BATCH_SIZE)
    if not claim.rows:
        return 0
    try:
        results = publisher.publish_batch([outgoing(row) for row in claim.rows])
    except BrokerUnavailable as exc:
        outbox_release(
            claim=claim, row_ids=[row.id for row in claim.rows], error=str(exc)
        )
        raise
    confirmed: list[int] = []
    held: dict[int, tuple[str, list[int]]] = {}  # partition -> (error, row ids)
    for row, error in zip(claim.rows, results, strict=True):
        partition = partition_of(row.partition_key)
        if partition in held:
            held[partition][1].append(row.id)
        elif error is not None:
            logger.error("event %s not published: %s", row.envelope["id"], error)
            held[partition] = (error, [row.id])
        else:
            confirmed.append(row.id)
    for error, row_ids in held.values():
        outbox_release(claim=claim, row_ids=row_ids, error=error)
    marked = outbox_mark_published(claim=claim, row_ids=confirmed)
    if marked < len(confirmed):
        logger.warning(
            "%d confirmed rows were claimed by another relay meanwhile; left to it",
            len(confirmed) - marked,
        )
    return marked


class Backoff:
    """Capped exponential backoff with full jitter."""

    def __init__(self, base: float = 0.2, cap: float | None = None):
        self.base = base
        self.cap = cap if cap is not None else settings.RELAY_BACKOFF_MAX_SECONDS
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, 20))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    def reset(self) -> None:
        self.failures = 0
