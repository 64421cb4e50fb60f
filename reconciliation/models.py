"""Reconciliation's expectations: the settlements approved payments should produce.

An expectation waits for its settlement: the bank's statement line that the
settlement's processing matched to it (PaymentSettled), which it then shows.
"""

import uuid

from django.db import models


class ExpectationStatus(models.TextChoices):
    AWAITING_SETTLEMENT = "awaiting_settlement", "Awaiting settlement"
    MATCHED = "matched", "Matched"
    EXCEPTION = "exception", "Exception"


class Expectation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="expectations",
    )
    # Unique on both: the inbox skips a redelivered event, and these make a
    # double apply fail loudly instead of expecting the money twice.
    payment_id = models.UUIDField(unique=True)
    event_id = models.UUIDField(unique=True)
    amount = models.BigIntegerField(help_text="Minor units of the currency.")
    currency = models.CharField(max_length=3)
    debtor_account_id = models.UUIDField()
    creditor_name = models.CharField(max_length=140)
    reference = models.CharField(max_length=140, blank=True)
    status = models.CharField(
        max_length=30,
        choices=ExpectationStatus.choices,
        default=ExpectationStatus.AWAITING_SETTLEMENT,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The statement line that settled it (PaymentSettled): file, line, bank data.
    settlement_file_id = models.UUIDField(null=True, blank=True)
    settlement_line = models.PositiveIntegerField(null=True, blank=True)
    bank_reference = models.CharField(max_length=35, blank=True, default="")
    booking_date = models.DateField(null=True, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    # What the statement said that a person must look at (SettlementMismatchDetected).
    exception = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0),
                name="reconciliation_amount_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.payment_id} ({self.status})"
