"""Notifications: what a user was told about a payment, and the e-mail that follows.

The row is the intent, written in the consumer's transaction; it is also the
e-mail's outbox entry, claimed, sent and marked with no transaction open
around the send (see notifications/emails.py).
"""

import uuid

from django.conf import settings
from django.db import models


class EmailStatus(models.TextChoices):
    PENDING = "pending"  # to be sent, at `email_next_attempt_at` or after
    SENT = "sent"
    FAILED = "failed"  # given up: `email_error` says why; never retried
    NO_ADDRESS = "no_address"  # the recipient has no e-mail address


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        # notifications_inbox (recipient, -created_at) serves every lookup by
        # recipient: an index of its own was one more write per notification.
        db_index=False,
    )
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    payment_id = models.UUIDField()
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    email_status = models.CharField(
        max_length=20, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    # Each claim counts one attempt and fences the marks that follow it.
    email_attempts = models.PositiveIntegerField(default=0)
    # When a pending e-mail is due: a claim pushes it past its lease, a failed
    # attempt past its backoff.
    email_next_attempt_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True, default="")
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One notification per event and person: a second apply of the same
            # event fails here instead of sending a second e-mail.
            models.UniqueConstraint(
                fields=["event_id", "recipient"], name="notifications_once_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"], name="notifications_inbox"
            ),
            # The sweep's claim: the pending e-mails, longest due first.
            models.Index(
                fields=["email_next_attempt_at"],
                name="notifications_email_due",
                condition=models.Q(email_status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} for {self.recipient_id}: {self.subject}"
