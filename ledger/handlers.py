"""Apply payment events to the books; the ledger acts on PaymentApproved only.

The consumer machinery (events/inbox.py) calls these inside one transaction with
the inbox row, at most once per event and in per-payment sequence order.
"""

from collections.abc import Callable

from events.envelope import Event
from ledger.models import Direction
from ledger.services import (
    Posting,
    bank_account_get_or_create,
    in_transit_account_get_or_create,
    journal_entry_post,
)


def on_payment_approved(event: Event) -> None:
    """Move the amount from the debtor's bank account to payments in transit."""
    data = event.data
    bank = bank_account_get_or_create(
        organisation_id=data["organisation_id"],
        debtor_account_id=data["debtor_account_id"],
        iban=data["debtor_iban"],
        currency=data["currency"],
    )
    in_transit = in_transit_account_get_or_create(
        organisation_id=data["organisation_id"], currency=data["currency"]
    )
    amount = data["amount"]
    journal_entry_post(
        organisation_id=data["organisation_id"],
        payment_id=data["payment_id"],
        event_id=event.id,
        description=f"Payment to {data['creditor_name']} approved",
        postings=[
            Posting(account=in_transit, direction=Direction.DEBIT, amount=amount),
            Posting(account=bank, direction=Direction.CREDIT, amount=amount),
        ],
    )


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentApproved", 1): on_payment_approved,
}
