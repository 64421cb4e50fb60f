"""Processing: read a received statement, store its lines, match them, or reject it.

The other half of transfer vs processing. Receiving (settlement/receiving.py)
only stored the bytes and announced them; this consumer of
SettlementFileReceived loads them by hash, parses camt.053 with the streaming,
safe reader (iso20022/camt053.py), and gives every line an outcome. A file
that is not XML, not camt.053, unsafe, or for an account that is not the
organisation's ends `rejected` with a typed reason: a terminal state, not a
retry loop. Run again (reprocess), it changes nothing twice.
See docs/lessons/transfer-vs-processing.md.
"""

import logging
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from content_store import content_open
from iso20022.camt053 import Statement, statement_read
from iso20022.camt053 import StatementLine as ReadLine
from iso20022.errors import Iso20022Error
from settlement.counts import outcome_counts_save
from settlement.matching import CHARGES, lines_match
from settlement.models import (
    KnownAccount,
    LineOutcome,
    SettlementFile,
    SettlementFileStatus,
    StatementLine,
)

logger = logging.getLogger("settlement.processing")


class FileRejected(Exception):
    """The file can never be processed; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _is_payment(read: ReadLine) -> bool:
    return (
        read.status == "BOOK"
        and read.direction == "debit"
        and (read.subfamily or "") not in CHARGES
    )


def _line(settlement_file: SettlementFile, read: ReadLine, booked_on) -> StatementLine:
    return StatementLine(
        file=settlement_file,
        index=read.index,
        end_to_end_id=read.end_to_end_id.lower() if read.end_to_end_id else None,
        amount=read.amount,
        currency=read.currency,
        direction=read.direction,
        booking_date=read.booking_date or booked_on,
        value_date=read.value_date,
        bank_reference=(read.bank_reference or "")[:140],
        creditor_name=(read.creditor_name or "")[:140],
        creditor_iban=read.creditor_iban or "",
        remittance=read.remittance or "",
        outcome=LineOutcome.UNKNOWN_PAYMENT
        if _is_payment(read)
        else LineOutcome.NOT_A_PAYMENT,
    )


def _account_check(settlement_file: SettlementFile, statement: Statement) -> None:
    known = KnownAccount.objects.filter(
        organisation_id=settlement_file.organisation_id, iban=statement.account_iban
    ).exists()
    if not known:
        raise FileRejected(
            "account-not-the-organisations",
            f"the statement is for account {statement.account_iban or '(none)'}, "
            "which is not one of the organisation's",
        )


def _lines_store(settlement_file: SettlementFile) -> None:
    """Store every line not stored yet, in batches; check each statement's account."""
    stored = set(settlement_file.lines.values_list("index", flat=True))
    booked_on = timezone.localdate(settlement_file.received_at)
    with content_open(settlement_file.sha256) as stream:
        items = statement_read(stream)
        while batch := list(islice(items, settings.SETTLEMENT_LINE_BATCH)):
            lines = []
            for item in batch:
                if isinstance(item, Statement):
                    _account_check(settlement_file, item)
                    if item.created_at:
                        booked_on = item.created_at.date()
                elif item.index not in stored:
                    lines.append(_line(settlement_file, item, booked_on))
            StatementLine.objects.bulk_create(lines)


def settlement_file_process(*, file_id) -> SettlementFile:
    """Process the file: lines stored and matched, or the file rejected.

    Must run inside a transaction (the consumer's). Matched lines stay matched
    and every other payment line is matched again, so running it twice (a
    replay, a reprocess) settles nothing twice.
    """
    settlement_file = SettlementFile.objects.select_for_update().get(pk=file_id)
    if settlement_file.status == SettlementFileStatus.REJECTED:
        return settlement_file
    try:
        with transaction.atomic():
            _lines_store(settlement_file)
    except (Iso20022Error, FileRejected) as exc:
        settlement_file.status = SettlementFileStatus.REJECTED
        settlement_file.rejection_reason = f"{exc.reason}: {exc}"[:500]
        settlement_file.processed_at = timezone.now()
        settlement_file.save(
            update_fields=["status", "rejection_reason", "processed_at"]
        )
        logger.info("rejected %s: %s", file_id, settlement_file.rejection_reason)
        return settlement_file
    payment_lines = settlement_file.lines.exclude(
        outcome__in=[LineOutcome.MATCHED, LineOutcome.NOT_A_PAYMENT]
    ).order_by("index")
    batch_size = settings.SETTLEMENT_LINE_BATCH
    lines = payment_lines.iterator(chunk_size=batch_size)
    while batch := list(islice(lines, batch_size)):
        lines_match(batch, settlement_file.organisation_id)
    settlement_file.status = SettlementFileStatus.PROCESSED
    settlement_file.processed_at = timezone.now()
    settlement_file.save(update_fields=["status", "processed_at"])
    outcome_counts_save(settlement_file)
    return settlement_file
