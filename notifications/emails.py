"""The e-mail outbox: claim a notification, send it with no transaction open, mark it.

The consumer's transaction only records the notification (services.py). Each
send then claims its row in a short transaction of its own (one attempt more,
due again only after a lease), talks to the mail server outside any
transaction under EMAIL_TIMEOUT, and marks the outcome fenced by that claim.
No row lock is held while the mail server is slow. A crash between the send
and the mark re-sends once the lease expires: e-mail is at least once, and the
Message-ID stays the same so receivers can drop the copy.
See docs/lessons/idempotent-consumers.md.
"""

import contextlib
import logging
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events.backoff import backoff_seconds
from notifications.messages import one_line
from notifications.models import EmailStatus, Notification

logger = logging.getLogger(__name__)

# The mail server is away or not answering: the rest of a pass would only burn
# their attempts on it, so the pass stops and leaves them due.
SERVER_DOWN = (
    TimeoutError,
    ConnectionError,
    socket.gaierror,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
)


@dataclass(frozen=True)
class SendPass:
    claimed: int
    sent: int
    more: bool  # the pass reached its limit with the server answering


def message_id(notification: Notification) -> str:
    # Derived from the event and recipient, so a resend after a crash carries
    # the same Message-ID and mail clients can fold the duplicate away.
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<{notification.event_id}.{notification.recipient_id}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the given number of failed attempts, capped."""
    seconds = backoff_seconds(
        attempts - 1,
        base=settings.NOTIFICATION_EMAIL_RETRY_SECONDS,
        cap=settings.NOTIFICATION_EMAIL_RETRY_MAX_SECONDS,
        jitter=False,
    )
    return timedelta(seconds=seconds)


def notification_email_claim(
    *, notification_ids=None, exclude_ids=()
) -> Notification | None:
    """Claim the longest-due pending e-mail (among `notification_ids` if given).

    A short transaction of its own: the row is locked only while the claim is
    written (skipping rows another sender is claiming), never during the send.
    The claim counts one attempt and makes the row due again only after
    NOTIFICATION_EMAIL_CLAIM_SECONDS, when a sender that died has lost it.
    """
    now = timezone.now()
    due = Notification.objects.filter(
        email_status=EmailStatus.PENDING, email_next_attempt_at__lte=now
    )
    if notification_ids is not None:
        due = due.filter(id__in=notification_ids)
    if exclude_ids:
        due = due.exclude(id__in=exclude_ids)
    with transaction.atomic():
        notification = (
            due.select_for_update(skip_locked=True)
            .order_by("email_next_attempt_at", "created_at")
            .only("id", "email_attempts")
            .first()
        )
        if notification is None:
            return None
        lease = timedelta(seconds=settings.NOTIFICATION_EMAIL_CLAIM_SECONDS)
        # Fenced as well: where rows cannot be locked, the count is the guard.
        if not Notification.objects.filter(
            id=notification.id, email_attempts=notification.email_attempts
        ).update(
            email_attempts=F("email_attempts") + 1,
            email_next_attempt_at=now + lease,
        ):
            return None
    claimed = (
        Notification.objects.select_related("recipient")
        .filter(id=notification.id)
        .first()
    )
    if claimed is not None:
        claimed.email_attempts = notification.email_attempts + 1
    return claimed


def _mark(notification: Notification, **fields) -> bool:
    """Write an outcome, unless a later claim has taken the row since."""
    marked = Notification.objects.filter(
        id=notification.id,
        email_status=EmailStatus.PENDING,
        email_attempts=notification.email_attempts,
    ).update(**fields)
    if not marked:
        logger.warning("e-mail of notification %s was claimed again", notification.id)
    return bool(marked)


def _mark_failed(notification: Notification, error: str, *, final: bool) -> None:
    attempts = notification.email_attempts
    if final or attempts >= settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS:
        logger.error("gave up e-mailing notification %s: %s", notification.id, error)
        _mark(
            notification,
            email_status=EmailStatus.FAILED,
            email_next_attempt_at=None,
            email_error=error[:2000],
        )
    else:
        _mark(
            notification,
            email_next_attempt_at=timezone.now() + retry_delay(attempts),
            email_error=error[:2000],
        )


def _hang_up(backend) -> None:
    """Drop the mail connection without a QUIT.

    After an error the session is in an unknown state, and QUIT to a server
    that stopped answering would wait another EMAIL_TIMEOUT.
    """
    smtp = getattr(backend, "connection", None)
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()
        backend.connection = None


def _email(notification: Notification, backend) -> EmailMessage:
    # one_line again: a row stored before subjects were cleaned may still
    # hold a line break, which Django refuses in a header (BadHeaderError).
    return EmailMessage(
        subject=one_line(notification.subject),
        body=notification.body,
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
        connection=backend,
    )


def _deliver(notification: Notification, backend) -> str:
    """Send one claimed notification and mark the outcome.

    Return "sent", "no_address", "failed" (for good), "retry" or, when the mail
    server is away, "server_down".
    """
    if notification.email_attempts > settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS:
        # The last allowed attempt was claimed and never reported back: its
        # sender died mid-send. Claiming it for ever would retry it for ever.
        _mark_failed(notification, "no outcome after the last attempt", final=True)
        return "failed"
    if not notification.recipient.email:
        _mark(
            notification,
            email_status=EmailStatus.NO_ADDRESS,
            email_next_attempt_at=None,
        )
        return "no_address"
    try:
        email = _email(notification, backend)
        email.message()  # builds the headers, so a bad value fails here, for good
    except ValueError as exc:  # BadHeaderError is one
        _mark_failed(notification, f"cannot be built: {exc}", final=True)
        return "failed"
    try:
        email.send()
    except Exception as exc:
        _hang_up(backend)
        error = f"{exc.__class__.__name__}: {exc}"
        logger.warning("e-mail of notification %s failed: %s", notification.id, error)
        _mark_failed(notification, error, final=False)
        return "server_down" if isinstance(exc, SERVER_DOWN) else "retry"
    _mark(
        notification,
        email_status=EmailStatus.SENT,
        email_sent_at=timezone.now(),
        email_next_attempt_at=None,
        email_error="",
    )
    return "sent"


def _send_claimed(claim: Callable[..., Notification | None], limit: int) -> SendPass:
    """Claim and deliver up to `limit` e-mails over one mail connection.

    Each e-mail is tried at most once per pass, even if its backoff is over
    by the time the pass looks again. Must be called with no transaction
    open: the send is not part of one.
    """
    claimed = sent = 0
    server_down = False
    tried: list = []
    backend = get_connection()
    try:
        while claimed < limit and not server_down:
            notification = claim(exclude_ids=tried)
            if notification is None:
                break
            tried.append(notification.id)
            claimed += 1
            outcome = _deliver(notification, backend)
            sent += outcome == "sent"
            server_down = outcome == "server_down"
    finally:
        try:
            backend.close()
        except Exception:  # the server is not answering a QUIT; it is only a goodbye
            _hang_up(backend)
    return SendPass(
        claimed=claimed, sent=sent, more=claimed == limit and not server_down
    )


def notification_emails_send(*, notification_ids) -> int:
    """E-mail these notifications now if they are due; return how many were sent.

    The after-commit send: the notifications were just recorded, so they are
    due. One a sweep or another sender has claimed is skipped.
    """
    ids = list(notification_ids)
    return _send_claimed(
        partial(notification_email_claim, notification_ids=ids), len(ids)
    ).sent


def notification_email_send(*, notification_id) -> bool:
    """E-mail one notification if it is due; return whether it was sent."""
    return notification_emails_send(notification_ids=[notification_id]) == 1


def notification_emails_send_due(*, limit: int | None = None) -> SendPass:
    """The sweep: claim and send up to `limit` due e-mails, longest due first.

    Sends what the after-commit send missed (a crash, a mail server error)
    once its backoff or lease has passed. Stops early when the mail server is
    away, leaving the rest due.
    """
    return _send_claimed(
        notification_email_claim, limit or settings.NOTIFICATION_EMAIL_BATCH_SIZE
    )


def notification_emails_retry_failed() -> int:
    """Make every failed e-mail pending again, with its attempts afresh.

    For an operator who has fixed the cause (an address, the mail server's
    configuration); the last error stays until the next attempt replaces it.
    """
    return Notification.objects.filter(email_status=EmailStatus.FAILED).update(
        email_status=EmailStatus.PENDING,
        email_attempts=0,
        email_next_attempt_at=timezone.now(),
    )
