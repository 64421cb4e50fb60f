"""Reconciliation's expectations: the settlements approved payments should produce.

An expectation waits for its settlement to arrive (e.g. in a bank file) and be
matched; for now every expectation starts, and stays, awaiting settlement.
"""

import uuid

from django.db import models


class ExpectationStatus(models.TextChoices):
    AWAITING_SETTLEMENT = "awaiting_settlement", "Awaiting settlement"


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

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0),
                name="reconciliation_amount_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.payment_id} ({self.status})"
