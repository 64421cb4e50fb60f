"""The event a matched statement line writes: PaymentSettled, one per payment, ever."""

from django.utils import timezone

from contracts.subjects import payment_subject
from events.models import OutboxMessage
from events.outbox import outbox_message
from settlement.models import ExpectedPayment, StatementLine

SOURCE = "/settlement"


def payment_settled_message(
    *, line: StatementLine, expected: ExpectedPayment
) -> OutboxMessage:
    """PaymentSettled, for the transaction that matched the line to publish.

    Subject `<payment id>/settlement`, sequence 1: a payment settles once. The
    partition is the debtor account's, as for the payment's own events.
    """
    return outbox_message(
        event_type="PaymentSettled",
        version=1,
        source=SOURCE,
        subject=payment_subject(expected.payment_id, "settlement"),
        partition_key=str(expected.debtor_account_id),
        sequence=1,
        data={
            "payment_id": str(expected.payment_id),
            "organisation_id": str(expected.organisation_id),
            "debtor_account_id": str(expected.debtor_account_id),
            "end_to_end_id": expected.end_to_end_id,
            "amount": {"value": line.amount, "currency": line.currency},
            "booking_date": line.booking_date.isoformat(),
            "value_date": line.value_date.isoformat() if line.value_date else None,
            "bank_reference": (line.bank_reference or "")[:35],
            "file_id": str(line.file_id),
            "line": line.index,
            "settled_at": timezone.now().isoformat(),
            "submitted_by": expected.submitted_by,
        },
    )


def settlement_mismatch_message(
    *, line: StatementLine, expected: ExpectedPayment
) -> OutboxMessage:
    """SettlementMismatchDetected: the line names a payment it cannot settle.

    For the transaction that gave the line its outcome to publish. Its subject is
    the line (`settlement-file/<id>/line/<index>`), sequence 1: a line gets
    this outcome once; reprocessing does not write it again.
    """
    return outbox_message(
        event_type="SettlementMismatchDetected",
        version=1,
        source=SOURCE,
        subject=f"settlement-file/{line.file_id}/line/{line.index}",
        partition_key=str(expected.debtor_account_id),
        sequence=1,
        data={
            "payment_id": str(expected.payment_id),
            "organisation_id": str(expected.organisation_id),
            "debtor_account_id": str(expected.debtor_account_id),
            "end_to_end_id": expected.end_to_end_id,
            "outcome": line.outcome,
            "expected": {"value": expected.amount, "currency": expected.currency},
            "booked": {"value": line.amount, "currency": line.currency},
            "file_id": str(line.file_id),
            "line": line.index,
            "detected_at": timezone.now().isoformat(),
            "submitted_by": expected.submitted_by,
        },
    )
