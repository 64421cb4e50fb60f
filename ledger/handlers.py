"""Apply payment events to the books: approved is promised, settled is paid.

The consumer machinery (events/inbox.py) calls these inside one transaction with
the inbox row, at most once per event and in per-payment sequence order.
"""

from collections.abc import Callable
from datetime import date, datetime

from events.envelope import Event
from ledger.models import Direction
from ledger.services import (
    Posting,
    bank_account_get_or_create,
    in_transit_account_get_or_create,
    journal_entry_post,
    journal_entry_settle,
)


def on_payment_approved(event: Event) -> None:
    """Move the amount from the debtor's bank account to payments in transit.

    Reads PaymentApproved v2; a v1 event reaches it upcast (events/inbox.py).
    """
    data = event.data
    currency = data["amount"]["currency"]
    bank = bank_account_get_or_create(
        organisation_id=data["organisation_id"],
        debtor_account_id=data["debtor_account_id"],
        iban=data["debtor_iban"],
        currency=currency,
    )
    in_transit = in_transit_account_get_or_create(
        organisation_id=data["organisation_id"], currency=currency
    )
    amount = data["amount"]["value"]
    journal_entry_post(
        organisation_id=data["organisation_id"],
        payment_id=data["payment_id"],
        event_id=event.id,
        description=f"Payment to {data['creditor']['name']} approved",
        postings=[
            Posting(account=in_transit, direction=Direction.DEBIT, amount=amount),
            Posting(account=bank, direction=Direction.CREDIT, amount=amount),
        ],
    )


def on_payment_settled(event: Event) -> None:
    """Post the approval's pending entry with what the bank booked."""
    data = event.data
    journal_entry_settle(
        payment_id=data["payment_id"],
        event_id=event.id,
        booked_amount=data["amount"]["value"],
        booking_date=date.fromisoformat(data["booking_date"]),
        at=datetime.fromisoformat(data["settled_at"]),
    )


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentApproved", 2): on_payment_approved,
    ("PaymentSettled", 1): on_payment_settled,
}
