"""The ledger's books: a small chart of accounts per organisation and its journal.

Balances are never stored; they are summed from journal lines (see selectors.py),
so an entry can only ever be added, never edited into disagreement.
"""

import uuid

from django.db import models
from django.db.models import Q


class AccountKind(models.TextChoices):
    BANK = "bank", "Debtor bank account"
    IN_TRANSIT = "in_transit", "Payments in transit"


class Direction(models.TextChoices):
    DEBIT = "debit", "Debit"
    CREDIT = "credit", "Credit"


class Account(models.Model):
    """One account of an organisation's chart, in one currency.

    A bank account mirrors one debtor account (known only by the id the events
    carry); payments in transit is one clearing account per currency.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    debtor_account_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # These make the lazy get_or_create safe when two workers race to
            # open the same account: the loser's insert fails and it re-reads.
            models.UniqueConstraint(
                fields=["organisation", "debtor_account_id"],
                condition=Q(kind=AccountKind.BANK),
                name="ledger_one_account_per_debtor_account",
            ),
            models.UniqueConstraint(
                fields=["organisation", "currency"],
                condition=Q(kind=AccountKind.IN_TRANSIT),
                name="ledger_one_in_transit_per_currency",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=AccountKind.BANK, debtor_account_id__isnull=False)
                    | Q(kind=AccountKind.IN_TRANSIT, debtor_account_id__isnull=True)
                ),
                name="ledger_bank_account_has_debtor_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class EntryStatus(models.TextChoices):
    PENDING = "pending", "Pending (promised)"
    POSTED = "posted", "Posted (paid)"


class JournalEntry(models.Model):
    """One posting of one event; its lines balance per currency (see services.py).

    Two-phase: an approval's entry is `pending` (the money is promised, not
    yet gone); the bank statement's PaymentSettled posts it (`posted`, with the
    amount and date the bank booked). See docs/lessons/transfer-vs-processing.md.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="journal_entries",
    )
    # Unique on both: the inbox already skips a redelivered event, and these
    # make a double apply fail loudly instead of doubling the money moved.
    payment_id = models.UUIDField(unique=True)
    event_id = models.UUIDField(unique=True)
    description = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=EntryStatus.choices, default=EntryStatus.PENDING
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    booking_date = models.DateField(null=True, blank=True)
    booked_amount = models.BigIntegerField(null=True, blank=True)
    # The PaymentSettled that posted it; unique, a second belt behind the inbox.
    posted_by_event_id = models.UUIDField(null=True, blank=True, unique=True)

    class Meta:
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return self.description


class JournalLine(models.Model):
    id = models.BigAutoField(primary_key=True)
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="lines"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = models.BigIntegerField(help_text="Minor units of the currency.")
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            # The direction carries the sign, so an amount is always positive.
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="ledger_line_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount} {self.currency} {self.account_id}"
