"""Expect a settlement for every approved payment; other events change nothing here.

The consumer machinery (events/inbox.py) calls these inside one transaction with
the inbox row, at most once per event and in per-payment sequence order.
"""

from collections.abc import Callable

from events.envelope import Event
from reconciliation.models import Expectation


def on_payment_approved(event: Event) -> None:
    """Record that the approved amount should settle from the debtor's account.

    Reads PaymentApproved v2; a v1 event reaches it upcast (events/inbox.py).
    A second apply for the same payment or event raises IntegrityError.
    """
    data = event.data
    Expectation.objects.create(
        organisation_id=data["organisation_id"],
        payment_id=data["payment_id"],
        event_id=event.id,
        amount=data["amount"]["value"],
        currency=data["amount"]["currency"],
        debtor_account_id=data["debtor_account_id"],
        creditor_name=data["creditor"]["name"],
        reference=data["reference"],
    )


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentApproved", 2): on_payment_approved,
}
