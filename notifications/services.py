"""Record notifications in the consumer's transaction; e-mail them after commit.

An e-mail cannot join a database transaction: sent inside it, a rollback would
leave an e-mail about nothing. So the row is the intent, and the e-mail goes
out once the row is committed, at most once per row (see
notification_email_send); `notification_emails_send_pending` retries any left
unsent by a crash or a mail server error.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from events.envelope import Event
from notifications.models import Notification

logger = logging.getLogger(__name__)


def notification_create_many(
    *, event: Event, recipients: list, subject: str, body: str
) -> list[Notification]:
    """Store one notification per recipient and e-mail them after commit.

    Must run inside the consumer's transaction. Applying the same event twice
    raises IntegrityError (one notification per event and recipient).
    """
    notifications = [
        Notification.objects.create(
            recipient=recipient,
            organisation_id=event.data["organisation_id"],
            payment_id=event.data["payment_id"],
            event_id=event.id,
            event_type=event.type,
            subject=subject,
            body=body,
        )
        for recipient in recipients
    ]
    ids = [n.id for n in notifications if n.recipient.email]
    if ids:
        # robust: a failing e-mail must not turn a committed event into an error.
        transaction.on_commit(
            partial(notification_emails_send, notification_ids=ids), robust=True
        )
    return notifications


def _message_id(notification: Notification) -> str:
    # Derived from the event and recipient, so a resend after a crash carries
    # the same Message-ID and mail clients can fold the duplicate away.
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<{notification.event_id}.{notification.recipient_id}@{domain}>"


def notification_email_send(*, notification_id) -> bool:
    """E-mail one notification unless it was already sent; return whether it was.

    The row lock serialises two senders (the after-commit callback and the
    pending sweep), so each notification is e-mailed once.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().filter(id=notification_id).first()
        )
        if notification is None or notification.email_sent_at is not None:
            return False
        email = notification.recipient.email
        if not email:
            return False
        EmailMessage(
            subject=notification.subject,
            body=notification.body,
            to=[email],
            headers={"Message-ID": _message_id(notification)},
        ).send()
        notification.email_sent_at = timezone.now()
        notification.save(update_fields=["email_sent_at"])
        return True


def notification_emails_send(*, notification_ids) -> int:
    """E-mail each notification; a failure is logged and left for the sweep."""
    sent = 0
    for notification_id in notification_ids:
        try:
            sent += notification_email_send(notification_id=notification_id)
        except Exception:
            logger.exception("e-mail of notification %s failed", notification_id)
    return sent


def notification_emails_send_pending(*, older_than=timedelta(minutes=1)) -> int:
    """Send e-mails still unsent after `older_than` (their after-commit send failed)."""
    ids = (
        Notification.objects.filter(
            email_sent_at__isnull=True,
            created_at__lt=timezone.now() - older_than,
        )
        .exclude(recipient__email="")
        .order_by("created_at")
        .values_list("id", flat=True)
    )
    return notification_emails_send(notification_ids=list(ids))
