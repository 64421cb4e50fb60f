"""A sender's claim on a batch of due e-mails, and every write fenced by it.

One short transaction claims the batch: each row counts one attempt more and
is due again only after NOTIFICATION_EMAIL_CLAIM_SECONDS, when a sender that
died has lost it. Each later write of the pass (sent, failed, given back)
applies only to rows still pending with the attempts count the claim wrote: a
row claimed again since belongs to the newer claim, and the stale pass must
not overwrite it. See docs/lessons/idempotent-consumers.md.
"""

import logging
import operator
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from functools import reduce

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import EmailStatus, Notification

logger = logging.getLogger(__name__)


def _fence(rows: Sequence[Notification]) -> Q:
    """Each row as it was claimed: its id with the attempts count it carries.

    One term per distinct count rather than per row; in a batch most rows
    share a count (0 for a first attempt).
    """
    ids_by_attempts = defaultdict(list)
    for row in rows:
        ids_by_attempts[row.email_attempts].append(row.id)
    return reduce(
        operator.or_,
        (
            Q(id__in=ids, email_attempts=attempts)
            for attempts, ids in ids_by_attempts.items()
        ),
    )


def email_claim(*, limit: int, notification_ids=None) -> list[Notification]:
    """Claim up to `limit` due e-mails (among `notification_ids` if given),
    longest due first, with their recipients loaded.

    The rows are locked only while the claim is written, never during a send,
    and rows another sender is claiming are skipped, not waited for.
    """
    if limit <= 0:
        return []
    now = timezone.now()
    due = Notification.objects.filter(
        email_status=EmailStatus.PENDING, email_next_attempt_at__lte=now
    )
    if notification_ids is not None:
        due = due.filter(id__in=notification_ids)
    lease = timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_SECONDS)
    with transaction.atomic():
        # The recipients are read with the lock, which spares the pass a read
        # after the claim; `of` leaves the users' rows unlocked.
        rows = list(
            due.select_related("recipient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("email_next_attempt_at", "created_at")[:limit]
        )
        if not rows:
            return []
        # Fenced as well: where rows cannot be locked, the count is the guard.
        claimed = Notification.objects.filter(_fence(rows)).update(
            email_attempts=F("email_attempts") + 1,
            email_next_attempt_at=now + lease,
        )
        if claimed != len(rows):
            # Not possible while the rows are locked (PostgreSQL) or the
            # transaction holds SQLite's one write lock (IMMEDIATE). Should it
            # happen, which rows are ours is unknown: claim none, and leave
            # them to the next pass.
            logger.warning(
                "e-mail claim lost %d row(s) to another sender", len(rows) - claimed
            )
            transaction.set_rollback(True)
            return []
    for row in rows:
        row.email_attempts += 1
        row.email_next_attempt_at = now + lease
    return rows


def email_mark(notification: Notification, **fields) -> bool:
    """Write one e-mail's outcome, unless a later claim has taken the row since."""
    marked = Notification.objects.filter(
        _fence([notification]), email_status=EmailStatus.PENDING
    ).update(**fields)
    if not marked:
        logger.warning("e-mail of notification %s was claimed again", notification.id)
    return bool(marked)


def email_mark_sent(rows: Sequence[Notification]) -> int:
    """Mark the e-mails the mail server accepted, in one statement.

    A row claimed again meanwhile stays as its new claim left it; that claim
    sends it again, with the same Message-ID. email_sent_at is the time of
    this mark, at most one pass later than the send.
    """
    if not rows:
        return 0
    marked = Notification.objects.filter(
        _fence(rows), email_status=EmailStatus.PENDING
    ).update(
        email_status=EmailStatus.SENT,
        email_sent_at=timezone.now(),
        email_next_attempt_at=None,
        email_error="",
    )
    if marked != len(rows):
        logger.warning(
            "%d of %d sent e-mail(s) were claimed again before they were marked",
            len(rows) - marked,
            len(rows),
        )
    return marked


def email_release(rows: Sequence[Notification]) -> None:
    """Give back claimed e-mails that were never tried: due now, the claim's
    attempt uncounted.

    Their claim counted an attempt they did not have and pushed them past a
    lease. Kept, an outage would cost every e-mail of the batch an attempt
    (one pass is meant to cost one), and the rest would wait out a lease
    for nothing.
    """
    if rows:
        Notification.objects.filter(
            _fence(rows), email_status=EmailStatus.PENDING
        ).update(
            email_attempts=F("email_attempts") - 1,
            email_next_attempt_at=timezone.now(),
        )
