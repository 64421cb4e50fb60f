"""The outbox: events written in the producer's transaction, awaiting the relay."""

import uuid

from django.db import models


class OutboxMessage(models.Model):
    """One event, committed together with the state change that caused it.

    `published_at` stays null until the broker has confirmed the publish; the
    claim fields let relays share the table without two owning a row at once.
    A row the relay cannot publish waits (`next_attempt_at`), fails
    (`failed_at`) or waits behind an earlier row of its partition
    (`held_behind`); see events/outbox_failures.py.
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
    organisation_id = models.UUIDField(
        null=True, blank=True, help_text="The envelope's data.organisation_id."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Times a relay claimed it (and so may have sent it)."
    )
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="The claim's lease: void after this."
    )
    last_error = models.TextField(blank=True, default="")
    refusals = models.PositiveIntegerField(
        default=0, help_text="Times the broker refused it (nack, unroutable)."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Refused: not sent again before this."
    )
    failed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Given up on: waits for an operator, holding its partition.",
    )
    skipped_at = models.DateTimeField(
        null=True, blank=True, help_text="An operator chose never to publish it."
    )
    held_behind = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Id of the earlier row of its partition it waits for.",
    )

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
            # The claim's: rows it may take now, so held and waiting rows,
            # however many pile up, are never scanned by it.
            models.Index(
                fields=["id"],
                name="outbox_ready",
                condition=models.Q(
                    published_at__isnull=True,
                    failed_at__isnull=True,
                    next_attempt_at__isnull=True,
                    held_behind__isnull=True,
                ),
            ),
            # The rows that hold their partitions back: refused or failed.
            models.Index(
                fields=["id"],
                name="outbox_blocking",
                condition=models.Q(published_at__isnull=True)
                & (models.Q(refusals__gt=0) | models.Q(failed_at__isnull=False)),
            ),
            models.Index(
                fields=["held_behind"],
                name="outbox_held",
                condition=models.Q(held_behind__isnull=False),
            ),
            models.Index(fields=["subject", "sequence"], name="outbox_subject_seq"),
            # One organisation's events, newest first: the event log and the lab.
            models.Index(fields=["organisation_id", "id"], name="outbox_organisation"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject}#{self.sequence}"


class DeliveryStatus(models.TextChoices):
    APPLIED = "applied"
    SKIPPED_DUPLICATE = "skipped_duplicate"
    PARKED = "parked"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"


class InboxEntry(models.Model):
    """One row per (consumer, event): written in the same transaction as the effect.

    Its existence is what makes a consumer idempotent: a second delivery of an
    applied event finds it and is skipped. A parked event waits here, envelope
    and all, until the gap before it fills.
    """

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    partition_key = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices)
    envelope = models.JSONField()
    organisation_id = models.UUIDField(
        null=True, blank=True, help_text="The envelope's data.organisation_id."
    )
    error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "event_id"], name="inbox_one_row_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["consumer", "subject", "sequence"],
                name="inbox_parked",
                condition=models.Q(status="parked"),
            ),
            # Each worker's /metrics counts its parked and dead-lettered
            # events on every scrape: this keeps that to the few held rows.
            models.Index(
                fields=["consumer", "status"],
                name="inbox_held",
                condition=models.Q(status__in=["parked", "dead_lettered"]),
            ),
            # One organisation's dead-lettered and parked events.
            models.Index(
                fields=["organisation_id", "status"], name="inbox_organisation"
            ),
            # What retention may delete: applied rows, oldest first.
            models.Index(
                fields=["applied_at"],
                name="inbox_applied_at",
                condition=models.Q(status="applied"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_type} {self.subject}#{self.sequence}"


class ConsumerPosition(models.Model):
    """How far a consumer has applied one aggregate's events (its last sequence)."""

    consumer = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    last_sequence = models.PositiveIntegerField(default=0)
    # Some of the subject's later events wait, parked, for a gap to fill. Kept
    # in the row the delivery locks anyway, so a delivery looks for parked
    # events only when there are some (events/inbox.py).
    parked = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "subject"], name="position_per_consumer_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.subject}@{self.last_sequence}"


class Delivery(models.Model):
    """What happened each time a consumer received an event: the visible history."""

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField(db_index=True)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices)
    error = models.TextField(blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["consumer", "status"]),
            models.Index(fields=["at"], name="delivery_at"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_id} {self.status}"


class ConsumerState(models.Model):
    """Operator switches per consumer; a paused consumer leaves events in the broker."""

    consumer = models.CharField(max_length=100, unique=True)
    paused = models.BooleanField(default=False)
    # Demo mode only (events/consumer_release.py): run as an older release that
    # reads each named type up to the version given, e.g. {"PaymentApproved": 1}.
    reads_up_to = models.JSONField(default=dict, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of a worker."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.consumer} {'paused' if self.paused else 'running'}"


class RelayState(models.Model):
    """The relay's switch and signs of life (one row): a demo can pause publishing.

    While paused, events wait in the outbox: the lesson that the producer's
    commit never depends on the broker or the relay being there.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    paused = models.BooleanField(default=False)
    leader = models.CharField(max_length=200, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"relay {'paused' if self.paused else 'running'} ({self.leader})"
