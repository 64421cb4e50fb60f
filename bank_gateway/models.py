"""The bank gateway's own state: payments to release, and the files that carried them.

A fourth consumer of PaymentApproved, added without touching the producer: it
keeps what the event told it (the payload rule) and nothing of payments.
See docs/lessons/transfer-vs-processing.md.
"""

import uuid

from django.db import models


class ReleaseStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for the cut-off"
    RELEASED = "released", "Released to the bank"
    NOT_RELEASABLE = "not_releasable", "Not releasable"


class PaymentFile(models.Model):
    """One pain.001 credit transfer file: one debtor account's releases at a cut-off.

    The bytes live in the content store under `sha256`; `transmitted_at` is set
    once they are in the bank's inbound folder (a retried transmission writes
    the same bytes under the same name).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    debtor_account_id = models.UUIDField()
    debtor_iban = models.CharField(max_length=34)
    message_id = models.CharField(max_length=35, unique=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    transfers = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    transmitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.message_id} ({self.transfers} transfers)"


class Release(models.Model):
    """An approved payment the gateway owes the bank, as PaymentApproved said."""

    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    # Unique on both, a second belt behind the inbox: one release per payment.
    payment_id = models.UUIDField(unique=True)
    event_id = models.UUIDField(unique=True)
    end_to_end_id = models.CharField(max_length=35)
    debtor_account_id = models.UUIDField()
    debtor_iban = models.CharField(max_length=34)
    creditor_name = models.CharField(max_length=140)
    creditor_iban = models.CharField(max_length=34, blank=True)
    amount = models.BigIntegerField(help_text="Minor units of the currency.")
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=140, blank=True)
    status = models.CharField(
        max_length=20, choices=ReleaseStatus.choices, default=ReleaseStatus.WAITING
    )
    reason = models.CharField(max_length=300, blank=True)
    file = models.ForeignKey(
        PaymentFile,
        on_delete=models.PROTECT,
        related_name="releases",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["debtor_account_id", "id"],
                condition=models.Q(status="waiting"),
                name="bank_release_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.end_to_end_id} {self.amount} {self.currency} ({self.status})"
