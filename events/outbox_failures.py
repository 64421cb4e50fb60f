"""Rows the relay cannot publish: backoff, the failed state, held partitions.

A row the broker refuses (nack, unroutable) waits 1 s, 2 s, 4 s, ... before it
is sent again, and fails after RELAY_MAX_ATTEMPTS refusals; a row that cannot
even be made into a message fails at once. While a row waits or has failed, the
later rows of its partition wait *behind* it (`held_behind`), out of the
claim's way, until it is published, retried or skipped. An operator retries or
skips a failed row with `manage.py outbox_failed`.
See docs/lessons/relay.md#a-row-that-cannot-be-published.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from events.backoff import backoff_seconds
from events.models import OutboxMessage
from events.topology import partition_of

ROW_BACKOFF_BASE_SECONDS = 1.0


@dataclass(frozen=True)
class Blocker:
    """An unpublished row that holds back the later rows of its partition."""

    row_id: int
    event_id: str
    partition: int


def row_backoff(refusals: int) -> timedelta:
    """Return how long a row refused `refusals` times waits before its next send."""
    seconds = backoff_seconds(
        refusals - 1,
        base=ROW_BACKOFF_BASE_SECONDS,
        cap=settings.RELAY_ROW_BACKOFF_MAX_SECONDS,
        jitter=False,
    )
    return timedelta(seconds=seconds)


def _blocking():
    # Refused (waiting or due again) or failed, and not skipped: served by the
    # partial index outbox_blocking, which holds only such rows.
    return OutboxMessage.objects.filter(
        Q(refusals__gt=0) | Q(failed_at__isnull=False),
        published_at__isnull=True,
        skipped_at__isnull=True,
    )


def outbox_blockers(*, now: datetime) -> dict[int, Blocker]:
    """Make refused rows whose wait is over claimable; return each held partition.

    Returns, per partition, its earliest blocking row: no later row of that
    partition may be published before it. A row that is due again still blocks
    until it is published, since rows held behind it wait outside the claim.
    """
    field = OutboxMessage._meta.get_field
    # Hand-written, as the claim is (events/outbox_claims.py): the relay asks
    # this every cycle, nearly always to hear "none", and building the ORM's
    # query each time was a third of a cycle's CPU. Its WHERE is _blocking()'s,
    # so the partial index outbox_blocking serves it; "due" is decided by the
    # database, which spares converting each backend's timestamps.
    # See docs/adr/0026-hot-reads-by-hand.md.
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, event_id, partition_key, "  # noqa: S608
            "(next_attempt_at IS NOT NULL AND next_attempt_at <= %s) "
            f"FROM {table} WHERE published_at IS NULL AND skipped_at IS NULL "
            "AND (refusals > 0 OR failed_at IS NOT NULL) ORDER BY id",
            [field("next_attempt_at").get_db_prep_value(now, connection)],
        )
        rows = cursor.fetchall()
    due = [row_id for row_id, _, _, is_due in rows if is_due]
    if due:
        OutboxMessage.objects.filter(id__in=due, published_at__isnull=True).update(
            next_attempt_at=None
        )
    event_id = field("event_id")
    blockers: dict[int, Blocker] = {}
    for row_id, raw_event_id, partition_key, _ in rows:
        partition = partition_of(partition_key)
        blockers.setdefault(
            partition,
            Blocker(row_id, str(event_id.to_python(raw_event_id)), partition),
        )
    return blockers


def held_reason(blocker: Blocker) -> str:
    return (
        f"held: waits for event {blocker.event_id} (outbox row {blocker.row_id}), "
        f"an earlier event of partition {blocker.partition} not yet published"
    )


def held_release(*, behind: list[int]) -> int:
    """Let the rows held behind these rows be claimed again; return how many."""
    if not behind:
        return 0
    return OutboxMessage.objects.filter(held_behind__in=behind).update(held_behind=None)


class NotFailed(Exception):
    """The row is not a failed, unpublished, unskipped row."""


def _failed_row(row_id: int) -> OutboxMessage:
    row = (
        OutboxMessage.objects.select_for_update()
        .filter(
            id=row_id,
            failed_at__isnull=False,
            skipped_at__isnull=True,
            published_at__isnull=True,
        )
        .first()
    )
    if row is None:
        raise NotFailed(f"outbox row {row_id} is not a failed, unpublished row")
    return row


def outbox_failed_list():
    """Return the failed rows still holding their partitions, oldest first."""
    return _blocking().filter(failed_at__isnull=False).order_by("id")


def outbox_row_retry(*, row_id: int) -> int:
    """Give a failed row (fixed, or its cause gone) a fresh retry budget.

    The rows held behind it are released too; the relay claims them in id
    order, so it goes first, and if it fails again they are held again.
    Returns how many held rows were released.
    """
    with transaction.atomic():
        row = _failed_row(row_id)
        OutboxMessage.objects.filter(id=row.id).update(
            failed_at=None,
            refusals=0,
            next_attempt_at=None,
            claim_token=None,
            claimed_until=None,
        )
        return held_release(behind=[row.id])


def outbox_row_skip(*, row_id: int, reason: str) -> int:
    """Never publish this failed row; let its partition go on without it.

    Consumers will see a gap in its payment's sequence and park that payment's
    later events. Returns how many held rows were released.
    """
    with transaction.atomic():
        row = _failed_row(row_id)
        OutboxMessage.objects.filter(id=row.id).update(
            skipped_at=timezone.now(),
            last_error=f"skipped: {reason} (last error: {row.last_error})"[:2000],
        )
        return held_release(behind=[row.id])
