"""Notifications: what a user was told about a payment, and whether it was e-mailed.

The row is the intent, written in the consumer's transaction; `email_sent_at`
records the e-mail that follows after commit (see services.py).
"""

import uuid

from django.conf import settings
from django.db import models


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
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
            models.Index(
                fields=["created_at"],
                name="notifications_email_unsent",
                condition=models.Q(email_sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} for {self.recipient_id}: {self.subject}"
