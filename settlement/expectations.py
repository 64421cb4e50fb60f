"""What processing matches statement lines against: the payments it expects to settle.

The settlement consumer learns them from the stream, as any consumer does:
PaymentSubmitted tells it the organisation's accounts (a statement for another
account is rejected), PaymentApproved the payment the bank should book. It
reads nothing of payments (the payload rule). An expectation that appears
after its statement line (the statement landed first) matches that waiting
line at once: nobody re-uploads anything.
"""

from collections.abc import Callable

from django.db import transaction

from events.envelope import Event
from events.inbox import rows_insert
from settlement.matching import waiting_line_ids, waiting_lines_match
from settlement.models import ExpectedPayment, KnownAccount

# Known accounts are learned once and never change or go away, so each worker
# process remembers the ones it has seen committed: an organisation submits
# from a handful of accounts, and every submission asked again (as the ledger
# remembers its accounts, ledger/services.py).
_known: set[tuple[str, str]] = set()


def on_payment_submitted(event: Event) -> None:
    """Remember the debtor account as one of the organisation's."""
    data = event.data
    key = (str(data["organisation_id"]), data["debtor_iban"])
    if key in _known:
        return
    KnownAccount.objects.get_or_create(organisation_id=key[0], iban=key[1])
    # Only once committed: a rolled-back account was never learned.
    transaction.on_commit(lambda: _known.add(key))


def on_payment_approved(event: Event) -> None:
    """Expect the approved payment in a statement; match a line already waiting.

    The debtor account is known already: PaymentSubmitted comes first in the
    payment's own stream, and this consumer applies a payment's events in their
    order (a PaymentApproved that arrives first waits, parked, for it).
    """
    data = event.data
    expected = ExpectedPayment(
        organisation_id=data["organisation_id"],
        payment_id=data["payment_id"],
        event_id=event.id,
        end_to_end_id=data["payment_id"].replace("-", "").lower(),
        debtor_account_id=data["debtor_account_id"],
        debtor_iban=data["debtor_iban"],
        amount=data["amount"]["value"],
        currency=data["amount"]["currency"],
        creditor_name=data["creditor"]["name"],
        creditor_iban=data["creditor"]["iban"] or "",
        reference=data["reference"],
        submitted_by=data["submitted_by"],
    )
    waiting = waiting_line_ids(expected)
    if not waiting:
        # Nearly always: nothing to match yet, so the row joins the burst's
        # last statement (matching flushes it first: inserts_flush).
        rows_insert([expected])
        return
    expected.save(force_insert=True)
    waiting_lines_match(expected, waiting)


HANDLERS_OF_PAYMENTS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentSubmitted", 1): on_payment_submitted,
    ("PaymentApproved", 2): on_payment_approved,
}
