"""Record notifications in the consumer's transaction; e-mail them after commit.

An e-mail cannot join a database transaction: sent inside it, a rollback would
leave an e-mail about nothing, and a slow mail server would hold the
transaction's locks. So the row is the intent and the e-mail's outbox entry;
once it is committed it is handed to the sender (notifications/sender.py),
which claims, sends and marks it (notifications/emails.py). The sweep sends
whatever that hand-off missed.
"""

from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

from events.envelope import Event
from events.inbox import rows_insert
from notifications.models import EmailStatus, Notification
from notifications.sender import email_sender


def notification_create_many(
    *, event: Event, recipients: Sequence, subject: str, body: str
) -> list[Notification]:
    """Store one notification per recipient and e-mail them after commit.

    Must run inside the consumer's transaction. Applying the same event twice
    raises IntegrityError (one notification per event and recipient).
    """
    now = timezone.now()
    # One INSERT for every recipient: an approver list is several rows per event.
    # In a consumer's burst, with the burst's last statement (events/inbox.py).
    notifications = [
        Notification(
            recipient=recipient,
            organisation_id=event.data["organisation_id"],
            payment_id=event.data["payment_id"],
            event_id=event.id,
            event_type=event.type,
            subject=subject,
            body=body,
            **(
                {"email_status": EmailStatus.PENDING, "email_next_attempt_at": now}
                if recipient.email
                else {"email_status": EmailStatus.NO_ADDRESS}
            ),
        )
        for recipient in recipients
    ]
    rows_insert(notifications)
    ids = [n.id for n in notifications if n.email_status == EmailStatus.PENDING]
    if ids:
        # robust: a failing e-mail must not turn a committed event into an error.
        transaction.on_commit(partial(email_sender.send_after_commit, ids), robust=True)
    return notifications
