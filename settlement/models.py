"""A received settlement file, and the lines processing finds in it.

A SettlementFile row points at bytes in the content store (its `sha256`); the
receiving half writes it and never changes the bytes. The status, the counts
and the StatementLine rows belong to the processing half, which reads the file
when it learns of it from SettlementFileReceived.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from organisations.models import Organisation


class SettlementFileSource(models.TextChoices):
    UPLOAD = "upload", "Upload"
    LANDING_FOLDER = "landing_folder", "Landing folder"


class SettlementFileStatus(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    REJECTED = "rejected"


class SettlementFile(models.Model):
    """One statement file of one organisation, kept once per distinct content."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="settlement_files"
    )
    sha256 = models.CharField(
        max_length=64, help_text="Of the bytes: their name in the content store."
    )
    size = models.PositiveBigIntegerField(help_text="In bytes.")
    content_type = models.CharField(max_length=100)
    source = models.CharField(max_length=20, choices=SettlementFileSource.choices)
    original_name = models.CharField(max_length=255, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Who uploaded it; empty for the landing folder.",
    )
    status = models.CharField(
        max_length=20,
        choices=SettlementFileStatus.choices,
        default=SettlementFileStatus.RECEIVED,
    )
    rejection_reason = models.CharField(max_length=500, blank=True, default="")
    outcome_counts = models.JSONField(
        default=dict, blank=True, help_text="Lines per outcome, set by processing."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # Each reprocess request is the file's next event (sequence 2, 3, ...).
    reprocess_requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The same bytes twice are one file: the second arrival is a
            # duplicate, not a second statement to process.
            models.UniqueConstraint(
                fields=["organisation", "sha256"],
                name="settlement_file_once_per_organisation",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "-received_at"],
                name="settlement_file_newest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name or self.sha256[:12]} ({self.status})"


class LineDirection(models.TextChoices):
    DEBIT = "debit"
    CREDIT = "credit"


class LineOutcome(models.TextChoices):
    MATCHED = "matched"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNKNOWN_PAYMENT = "unknown_payment"
    DUPLICATE = "duplicate"
    NOT_A_PAYMENT = "not_a_payment"


class StatementLine(models.Model):
    """One entry of a statement, and what processing made of it."""

    file = models.ForeignKey(
        SettlementFile, on_delete=models.CASCADE, related_name="lines"
    )
    index = models.PositiveIntegerField(help_text="Position in the file, from 0.")
    # Null when the bank gave none: "" would read as an id that is empty.
    end_to_end_id = models.CharField(  # noqa: DJ001
        max_length=35, null=True, blank=True
    )
    amount = models.BigIntegerField(help_text="In minor units of currency.")
    currency = models.CharField(max_length=3)
    direction = models.CharField(max_length=6, choices=LineDirection.choices)
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    bank_reference = models.CharField(max_length=140, blank=True, default="")
    creditor_name = models.CharField(max_length=140, blank=True, default="")
    creditor_iban = models.CharField(max_length=34, blank=True, default="")
    remittance = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=20, choices=LineOutcome.choices)
    # An id, not a foreign key: payments is another app, reached only by events.
    payment_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["file", "index"], name="statement_line_once_per_index"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0),
                name="statement_line_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["payment_id"], name="statement_line_payment"),
            # A payment's lines before they are matched, and the lines waiting
            # for an expectation, are found by the EndToEndId.
            models.Index(fields=["end_to_end_id"], name="statement_line_end_to_end"),
            # The lines still waiting for their expectation, which every
            # PaymentApproved looks for (settlement.matching.waiting_lines_match):
            # few, so the look-up stays cheap whatever the statistics say. On
            # tables never analysed, the planner had walked every line of the
            # organisation for each approval.
            models.Index(
                fields=["end_to_end_id"],
                name="statement_line_waiting",
                condition=models.Q(outcome="unknown_payment"),
            ),
            models.Index(
                fields=["amount"],
                name="statement_line_waiting_no_id",
                condition=models.Q(outcome="unknown_payment", end_to_end_id=None),
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.index} of {self.file_id}: {self.outcome}"


class KnownAccount(models.Model):
    """A debtor account of an organisation, as PaymentSubmitted named it.

    Processing rejects a statement for any other account: it is not the
    organisation's to settle.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    iban = models.CharField(max_length=34)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "iban"], name="settlement_account_once"
            ),
        ]

    def __str__(self) -> str:
        return self.iban


class ExpectedPayment(models.Model):
    """An approved payment processing expects in a statement (from PaymentApproved).

    `settled_by` is the line that settled it: one, ever. A second line naming
    the payment is a duplicate.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    payment_id = models.UUIDField(unique=True)
    event_id = models.UUIDField(unique=True)
    end_to_end_id = models.CharField(max_length=32)
    debtor_account_id = models.UUIDField()
    debtor_iban = models.CharField(max_length=34)
    amount = models.BigIntegerField(help_text="In minor units of currency.")
    currency = models.CharField(max_length=3)
    creditor_name = models.CharField(max_length=140)
    creditor_iban = models.CharField(max_length=34, blank=True, default="")
    reference = models.CharField(max_length=140, blank=True, default="")
    submitted_by = models.JSONField(help_text="{id, username}, as the event said.")
    created_at = models.DateTimeField(auto_now_add=True)
    settled_by = models.OneToOneField(
        StatementLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settles",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["organisation", "end_to_end_id"],
                name="settlement_expected_e2e",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.end_to_end_id} {self.amount} {self.currency}"
