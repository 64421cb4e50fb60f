"""The e-mail outbox: claim a batch, send it with no transaction open, mark it.

The consumer's transaction only records the notification (services.py). A
pass then claims a batch of due rows in one short transaction of its own (one
attempt more each, due again only after a lease; email_claims.py), talks to
the mail server over one connection outside any transaction under
EMAIL_TIMEOUT, and marks the outcomes fenced by that claim: the sent ones
together, a failure at once. No row lock is held while the mail server is
slow. A crash between a send and its mark re-sends once the lease expires:
e-mail is at least once, and the Message-ID stays the same so receivers can
drop the copy. See docs/lessons/idempotent-consumers.md.
"""

import contextlib
import logging
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from events.backoff import backoff_seconds
from notifications.email_claims import (
    email_claim,
    email_mark,
    email_mark_sent,
    email_release,
)
from notifications.email_metrics import email_outcome_counted
from notifications.messages import one_line
from notifications.models import EmailStatus, Notification

logger = logging.getLogger(__name__)

# The mail server is away or not answering: the rest of a pass would only burn
# their attempts on it, so the pass stops and gives them back due.
SERVER_DOWN = (
    TimeoutError,
    ConnectionError,
    socket.gaierror,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
)


@dataclass(frozen=True)
class SendPass:
    claimed: int  # tried; rows given back untried are not counted
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


def _mark_failed(notification: Notification, error: str, *, final: bool) -> None:
    attempts = notification.email_attempts
    if final or attempts >= settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS:
        logger.error("gave up e-mailing notification %s: %s", notification.id, error)
        email_mark(
            notification,
            email_status=EmailStatus.FAILED,
            email_next_attempt_at=None,
            email_error=error[:2000],
        )
    else:
        email_mark(
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


class _BuiltOnce(EmailMessage):
    """An e-mail whose MIME message is built once: the pass builds it to check
    its headers, and every backend's send builds it again otherwise (about a
    third of a notifications worker's CPU per e-mail went to the second)."""

    _built = None

    def message(self):
        if self._built is None:
            self._built = super().message()
        return self._built


def _email(notification: Notification, backend) -> EmailMessage:
    # one_line again: a row stored before subjects were cleaned may still
    # hold a line break, which Django refuses in a header (BadHeaderError).
    return _BuiltOnce(
        subject=one_line(notification.subject),
        body=notification.body,
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
        connection=backend,
    )


def _deliver(notification: Notification, backend) -> str:
    """Send one claimed notification; mark the outcome unless it was sent.

    Return "sent" (left for the pass to mark with the others), "no_address",
    "failed" (for good), "retry" or, when the mail server is away,
    "server_down".
    """
    if notification.email_attempts > settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS:
        # The last allowed attempt was claimed and never reported back: its
        # sender died mid-send. Claiming it for ever would retry it for ever.
        _mark_failed(notification, "no outcome after the last attempt", final=True)
        return "failed"
    if not notification.recipient.email:
        email_mark(
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
        # Opened here, not by send(): a backend that opens the connection
        # itself also closes it after the one message.
        backend.open()
        email.send()
    except Exception as exc:
        _hang_up(backend)
        error = f"{exc.__class__.__name__}: {exc}"
        logger.warning("e-mail of notification %s failed: %s", notification.id, error)
        _mark_failed(notification, error, final=False)
        return "server_down" if isinstance(exc, SERVER_DOWN) else "retry"
    return "sent"


def _deliver_batch(
    batch: list[Notification], backend, tick: Callable[[], None]
) -> tuple[int, int, bool]:
    """Deliver a claimed batch in order; return (tried, sent, server_down).

    Sends start only in the first half of the lease, so the last one has as
    long again to finish and be marked before another sender may claim its
    row and send it a second time. The first always starts: a lease shorter
    than one send must not stop every pass.
    """
    send_by = time.monotonic() + settings.NOTIFICATION_EMAIL_CLAIM_SECONDS / 2
    tried, sent, server_down = 0, [], False
    try:
        for notification in batch:
            if server_down or (tried and time.monotonic() > send_by):
                break
            tried += 1
            tick()
            outcome = _deliver(notification, backend)
            email_outcome_counted(outcome)
            if outcome == "sent":
                sent.append(notification)
            server_down = outcome == "server_down"
    finally:
        # Even when a later e-mail raised: a sent e-mail left unmarked is sent
        # again once its lease is over. One statement for all of them has that
        # price too: a sender that dies mid-pass re-sends everything it had
        # sent in the pass, under the same Message-IDs.
        email_mark_sent(sent)
        email_release(batch[tried:])
    return tried, len(sent), server_down


def _send_claimed(
    claim: Callable[[], list[Notification]],
    limit: int,
    tick: Callable[[], None] = lambda: None,
) -> SendPass:
    """Claim up to `limit` e-mails at once and deliver them over one connection.

    Must be called with no transaction open: the send is not part of one.
    """
    batch = claim()
    if not batch:
        return SendPass(claimed=0, sent=0, more=False)
    backend = get_connection()
    try:
        tried, sent, server_down = _deliver_batch(batch, backend, tick)
    finally:
        try:
            backend.close()
        except Exception:  # the server is not answering a QUIT; it is only a goodbye
            _hang_up(backend)
    return SendPass(
        claimed=tried, sent=sent, more=len(batch) == limit and not server_down
    )


def notification_emails_send(*, notification_ids) -> int:
    """E-mail these notifications now if they are due; return how many were sent.

    The after-commit send: the notifications were just recorded, so they are
    due. One a sweep or another sender has claimed is skipped.
    """
    ids = list(notification_ids)
    return _send_claimed(
        partial(email_claim, limit=len(ids), notification_ids=ids), len(ids)
    ).sent


def notification_email_send(*, notification_id) -> bool:
    """E-mail one notification if it is due; return whether it was sent."""
    return notification_emails_send(notification_ids=[notification_id]) == 1


def notification_emails_send_due(
    *, limit: int | None = None, tick: Callable[[], None] = lambda: None
) -> SendPass:
    """The sweep: claim and send up to `limit` due e-mails, longest due first.

    Sends what the after-commit send missed (a crash, a mail server error)
    once its backoff or lease has passed. Stops early when the mail server is
    away, giving the rest back due. `tick` is called before each send: the
    mailer's liveness beat, so a long pass to a slow server is not taken for
    a wedged process.
    """
    limit = limit or settings.NOTIFICATION_EMAIL_BATCH_SIZE
    return _send_claimed(partial(email_claim, limit=limit), limit, tick)


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
