"""Expect a settlement for every approved payment; show the line that settled it.

The consumer machinery (events/inbox.py) calls these inside one transaction with
the inbox row, at most once per event and in per-payment sequence order.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from config.db.compiled import CompiledUpdate
from contracts.currencies import format_amount
from events.envelope import Event
from events.inbox import rows_insert
from reconciliation.errors import ExpectationMissing
from reconciliation.models import Expectation, ExpectationStatus


def on_payment_approved(event: Event) -> None:
    """Record that the approved amount should settle from the debtor's account.

    Reads PaymentApproved v2; a v1 event reaches it upcast (events/inbox.py).
    A second apply for the same payment or event raises IntegrityError.
    """
    data = event.data
    # Nothing in the transaction reads it back, so it may wait for the end of
    # a burst and join the burst's last statement (events/inbox.py).
    rows_insert(
        [
            Expectation(
                organisation_id=data["organisation_id"],
                payment_id=data["payment_id"],
                event_id=event.id,
                amount=data["amount"]["value"],
                currency=data["amount"]["currency"],
                debtor_account_id=data["debtor_account_id"],
                creditor_name=data["creditor"]["name"],
                reference=data["reference"],
            )
        ]
    )


# What PaymentSettled writes on the expectation, as probe values that occur
# nowhere else in the statement (config/db/compiled.py).
_PROBE = {
    "payment_id": uuid.UUID(int=6),
    "settlement_file_id": uuid.UUID(int=7),
    "settlement_line": 987_654_321,
    "bank_reference": "probe-bank-reference",
    "booking_date": date(2001, 2, 3),
    "matched_at": datetime(2001, 1, 1, tzinfo=UTC),
}

# Runs for every PaymentSettled: built and compiled once; the queryset and its
# update() stay the definition.
_MATCHED = CompiledUpdate(
    lambda payment_id, **line: Expectation.objects.filter(payment_id=payment_id),
    changes=lambda payment_id, **line: {"status": ExpectationStatus.MATCHED, **line},
    fields=lambda: {name: Expectation._meta.get_field(name) for name in _PROBE},
    probe=_PROBE,
)


def on_payment_settled(event: Event) -> None:
    """Mark the expectation matched, with the statement line that settled it.

    Raises ExpectationMissing (retried by the worker) when the approval has not
    reached reconciliation yet: another subject, no order between the two.
    """
    data = event.data
    matched = _MATCHED.run(
        payment_id=data["payment_id"],
        settlement_file_id=data["file_id"],
        settlement_line=data["line"],
        bank_reference=data["bank_reference"],
        booking_date=date.fromisoformat(data["booking_date"]),
        matched_at=datetime.fromisoformat(data["settled_at"]),
    )
    if not matched:
        raise ExpectationMissing(
            f"no expectation for payment {data['payment_id']} yet: its approval "
            "has not reached reconciliation"
        )


def on_settlement_mismatch_detected(event: Event) -> None:
    """Show the exception on the expectation; one already matched stays matched."""
    data = event.data
    expected, booked = data["expected"], data["booked"]
    words = {
        "amount_mismatch": "the bank booked",
        "duplicate": "a second statement line for it, booked",
    }[data["outcome"]]
    booked_text = format_amount(booked["value"], booked["currency"])
    exception = (
        f"{data['outcome']}: {words} {booked_text}"
        f" (expected {format_amount(expected['value'], expected['currency'])}), "
        f"line {data['line']} of file {data['file_id']}"
    )
    expectations = Expectation.objects.filter(payment_id=data["payment_id"])
    if not expectations.exists():
        raise ExpectationMissing(
            f"no expectation for payment {data['payment_id']} yet: its approval "
            "has not reached reconciliation"
        )
    expectations.update(exception=exception[:300])
    expectations.filter(status=ExpectationStatus.AWAITING_SETTLEMENT).update(
        status=ExpectationStatus.EXCEPTION
    )


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentApproved", 2): on_payment_approved,
    ("PaymentSettled", 1): on_payment_settled,
    ("SettlementMismatchDetected", 1): on_settlement_mismatch_detected,
}
