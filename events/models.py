"""The outbox: events written in the producer's transaction, awaiting the relay."""

import uuid

from django.db import models


class OutboxMessage(models.Model):
    """One event, committed together with the state change that caused it.

    `published_at` stays null until the broker has confirmed the publish; the
    claim fields let relays share the table without two owning a row at once.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=100)
    schema_version = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, help_text="The aggregate id.")
    partition_key = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField(help_text="Per subject, from 1, no gaps.")
    envelope = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            # Two commands racing on one aggregate cannot both emit sequence N.
            models.UniqueConstraint(
                fields=["source", "subject", "sequence"],
                name="outbox_one_event_per_seq",
            ),
        ]
        indexes = [
            models.Index(
                fields=["id"],
                name="outbox_unpublished",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(fields=["subject", "sequence"], name="outbox_subject_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject}#{self.sequence}"
