"""A relay's claim on outbox rows, and every write fenced by it.

The claim stamps rows with a fresh token and a lease (`claimed_until`); each
later write of that cycle (mark, release, refusal, failure, hold) applies only
to rows that still carry the token, and, except a release, only within the
lease. See docs/lessons/relay.md#the-fencing-token-and-the-lease.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.models import OutboxMessage
from events.outbox_failures import Blocker, held_reason, held_release, row_backoff


@dataclass(slots=True)
class ClaimedRow:
    """The columns of a claimed outbox row that the relay reads.

    Not a model instance: building 500 of those per batch was a tenth of the
    relay's CPU (bench relay profile).
    """

    id: int
    event_id: uuid.UUID
    envelope: object
    event_type: str
    partition_key: str
    refusals: int


@dataclass
class Claim:
    token: uuid.UUID
    until: datetime
    rows: list[ClaimedRow] = field(default_factory=list)


def _envelope(raw):
    # A raw cursor returns JSON as text on both backends; SQLite does not even
    # promise it is valid JSON. What cannot be read is left for outgoing() to
    # reject, so one row fails, not the claim.
    if isinstance(raw, str | bytes):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def outbox_claim(*, batch_size: int, exclude: uuid.UUID | None = None) -> Claim:
    """Claim the oldest claimable rows for this relay, in id order.

    `exclude` is the token of this relay's own batch still awaiting its
    confirms (the pipeline, events/relay.py): its rows are not claimed again.

    One statement claims and returns the batch, served by the partial index
    outbox_ready: rows that are unpublished, not failed, not waiting for a
    backoff and not held behind an earlier row. A claim a dead or deposed
    relay left is taken over at once, lease or not: only the leader claims,
    and the only rows such a relay may still be sending are this same prefix,
    in the same order (see docs/adr/0011-relay-lease-and-failed-rows.md). Rows
    locked by a claim still in flight elsewhere are skipped, never waited on
    (SQLite has one writer at a time and needs no lock).
    """
    now = timezone.now()
    claim = Claim(
        token=uuid.uuid4(),
        until=now + timedelta(seconds=settings.RELAY_CLAIM_LEASE_SECONDS),
    )
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    db_field = OutboxMessage._meta.get_field
    token_field = db_field("claim_token")
    params = [
        token_field.get_db_prep_value(claim.token, connection),
        db_field("claimed_until").get_db_prep_value(claim.until, connection),
    ]
    in_flight = ""
    if exclude is not None:
        in_flight = "AND (claim_token IS NULL OR claim_token <> %s) "
        params.append(token_field.get_db_prep_value(exclude, connection))
    params.append(batch_size)
    # savepoint=False: inside the relay's own transaction (events/relay.py) a
    # savepoint would cost two statements and protect nothing.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claim_token = %s, claimed_until = %s, "  # noqa: S608
            "attempts = attempts + 1 WHERE id IN ("
            f"SELECT id FROM {table} WHERE published_at IS NULL "
            "AND failed_at IS NULL AND next_attempt_at IS NULL "
            f"AND held_behind IS NULL {in_flight}"
            f"ORDER BY id LIMIT %s{skip_locked}) "
            "RETURNING id, event_id, envelope, event_type, partition_key, refusals",
            params,
        )
        rows = cursor.fetchall()
    event_id = db_field("event_id")
    claim.rows = sorted(
        (
            ClaimedRow(
                id=row[0],
                event_id=event_id.to_python(row[1]),
                envelope=_envelope(row[2]),
                event_type=row[3],
                partition_key=row[4],
                refusals=row[5],
            )
            for row in rows
        ),
        key=lambda row: row.id,
    )
    return claim


def _ours(claim: Claim, row_ids: list[int], now: datetime):
    """The rows of `row_ids` still under this claim and within its lease."""
    return OutboxMessage.objects.filter(
        id__in=row_ids,
        claim_token=claim.token,
        claimed_until__gt=now,
        published_at__isnull=True,
    )


def _mark(claim: Claim, row_ids: list[int], now: datetime) -> int:
    """_ours(...).update(published_at=now, claim_token=None, last_error="",
    next_attempt_at=None), hand-written: it runs every cycle, and building the
    ORM's UPDATE was about two fifths of a one-event cycle's CPU (in-process)."""
    db_field = OutboxMessage._meta.get_field
    at = db_field("published_at").get_db_prep_value(now, connection)
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET published_at = %s, claim_token = NULL, "  # noqa: S608
            "last_error = '', next_attempt_at = NULL "
            f"WHERE id IN ({', '.join(['%s'] * len(row_ids))}) "
            "AND claim_token = %s AND claimed_until > %s AND published_at IS NULL",
            [
                at,
                *row_ids,
                db_field("claim_token").get_db_prep_value(claim.token, connection),
                at,
            ],
        )
        return cursor.rowcount


def outbox_mark_published(
    *, claim: Claim, row_ids: list[int], refused_before: Sequence[int] = ()
) -> int:
    """Mark confirmed rows published, unless another relay has claimed them since
    or the claim's lease has run out (an expired claim is void: its rows are
    published again, a duplicate, rather than marked by a relay that lost them).

    `refused_before` names the rows the broker had refused earlier: rows may
    wait behind them, and are released in the same transaction as the mark.
    """
    if not row_ids:
        return 0
    if not refused_before:
        # The usual mark: one statement, so no transaction of its own (which
        # would cost a BEGIN and a COMMIT round trip every cycle).
        return _mark(claim, row_ids, timezone.now())
    with transaction.atomic():
        now = timezone.now()
        marked = _mark(claim, row_ids, now)
        if marked:
            held_release(
                behind=list(
                    OutboxMessage.objects.filter(
                        id__in=refused_before, published_at=now
                    ).values_list("id", flat=True)
                )
            )
    return marked


def outbox_release(*, claim: Claim, row_ids: list[int], error: str) -> None:
    """Give rows back unpublished, noting why, so the next cycle retries them.

    Not a refusal: a broker that is away does not use up a row's attempts.
    """
    if row_ids:
        OutboxMessage.objects.filter(id__in=row_ids, claim_token=claim.token).update(
            claim_token=None, claimed_until=None, last_error=error[:2000]
        )


def outbox_refuse(*, claim: Claim, row: ClaimedRow, error: str) -> bool:
    """Count one refusal by the broker: back off, or fail after the last attempt.

    Returns True when the row failed.
    """
    now = timezone.now()
    refusals = row.refusals + 1
    failed = refusals >= settings.RELAY_MAX_ATTEMPTS
    _ours(claim, [row.id], now).update(
        claim_token=None,
        claimed_until=None,
        refusals=refusals,
        next_attempt_at=None if failed else now + row_backoff(refusals),
        failed_at=now if failed else None,
        last_error=error[:2000],
    )
    return failed


def outbox_fail(*, claim: Claim, row_ids: list[int], error: str) -> None:
    """Give up on rows that cannot be sent at all; they wait for an operator."""
    now = timezone.now()
    _ours(claim, row_ids, now).update(
        claim_token=None,
        claimed_until=None,
        failed_at=now,
        next_attempt_at=None,
        last_error=error[:2000],
    )


def outbox_hold(*, claim: Claim, blocker: Blocker, row_ids: list[int]) -> None:
    """Set rows aside behind an earlier row of their partition."""
    _ours(claim, row_ids, timezone.now()).update(
        claim_token=None,
        claimed_until=None,
        held_behind=blocker.row_id,
        last_error=held_reason(blocker),
    )
