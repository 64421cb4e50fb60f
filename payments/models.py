"""Debtor accounts and payments: the command side's own state."""

import uuid

from django.conf import settings
from django.db import models

from organisations.models import Organisation


class DebtorAccount(models.Model):
    """An organisation's bank account that pays; its id is the partition key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="debtor_accounts"
    )
    name = models.CharField(max_length=140)
    iban = models.CharField(max_length=34, unique=True)
    currency = models.CharField(max_length=3)

    def __str__(self) -> str:
        return f"{self.name} ({self.iban})"


class PaymentStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    # Reached through payments' own inbox, from the bank gateway's and the
    # settlement's events (payments/handlers.py), never by a command.
    RELEASED = "released"
    SETTLED = "settled"


class Payment(models.Model):
    """A payment instruction; only the services in payments/services.py change it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="payments"
    )
    debtor_account = models.ForeignKey(
        DebtorAccount, on_delete=models.PROTECT, related_name="payments"
    )
    creditor_name = models.CharField(max_length=140)
    creditor_iban = models.CharField(max_length=34)
    amount = models.BigIntegerField(help_text="In minor units of currency.")
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=140, blank=True, default="")
    status = models.CharField(
        max_length=20,
        choices=PaymentStatus.choices,
        default=PaymentStatus.PENDING_APPROVAL,
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    rejection_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    released_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every command; it is also the sequence number of the event it emits.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PaymentStatus.values),
                name="payment_status_known",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at", "-id"]),
            models.Index(fields=["organisation", "status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def end_to_end_id(self) -> str:
        """Its EndToEndId for the bank: the id as 32 lowercase hex characters."""
        return self.id.hex


class EventVersionSwitch(models.Model):
    """The version payments publishes of one event type, switched at runtime.

    Read in demo mode only, where it overrides EVENT_VERSIONS for its type, so
    the rollout of a new version can be shown live without a restart (the
    lab's switch, payments/event_versions.py). Elsewhere the setting rules.
    """

    event_type = models.CharField(max_length=100, primary_key=True)
    version = models.PositiveSmallIntegerField()
    switched_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.event_type} v{self.version}"
