"""The bank gateway's handler: an approved payment becomes a release to make.

Called by the inbox inside its transaction (events/inbox.py); the cut-off job
(bank_gateway/release.py) later puts the waiting releases into a file.
"""

from collections.abc import Callable

from bank_gateway.models import Release, ReleaseStatus
from events.envelope import Event
from events.inbox import rows_insert

# Why a v1 approval cannot be paid: it never carried the creditor's IBAN.
NO_CREDITOR_IBAN = (
    "the creditor's IBAN is unknown: the payment was approved as PaymentApproved "
    "v1, which does not carry it (v2 does)"
)


def end_to_end_id(payment_id: str) -> str:
    """The payment's EndToEndId: its id as 32 lowercase hex characters.

    A convention every party can derive from the payment id, so the bank's
    statement leads back to the payment without asking payments.
    """
    return payment_id.replace("-", "").lower()


def on_payment_approved(event: Event) -> None:
    """Record the approved payment as waiting for the next cut-off.

    Reads PaymentApproved v2; a v1 event reaches it upcast, with the creditor's
    IBAN null, and is kept as not releasable, visibly, rather than guessed.
    """
    data = event.data
    iban = data["creditor"]["iban"]
    # Read only by the cut-off, in a transaction of its own: it may join the
    # burst's last statement (events/inbox.py).
    rows_insert(
        [
            Release(
                organisation_id=data["organisation_id"],
                payment_id=data["payment_id"],
                event_id=event.id,
                end_to_end_id=end_to_end_id(data["payment_id"]),
                debtor_account_id=data["debtor_account_id"],
                debtor_iban=data["debtor_iban"],
                creditor_name=data["creditor"]["name"],
                creditor_iban=iban or "",
                amount=data["amount"]["value"],
                currency=data["amount"]["currency"],
                reference=data["reference"],
                status=ReleaseStatus.WAITING if iban else ReleaseStatus.NOT_RELEASABLE,
                reason="" if iban else NO_CREDITOR_IBAN,
            )
        ]
    )


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentApproved", 2): on_payment_approved,
}
