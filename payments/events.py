"""The events the payments app emits, and the payload each carries.

The payload holds what common consumers need (amounts, parties, actor) and
nothing of the Payment model beyond it: it is a public contract, see
contracts/schemas/ and docs/lessons/versioned-schemas.md.
"""

from events.outbox import publish
from payments.models import Payment

SOURCE = "/payments"
SCHEMA_VERSION = 1


def _user(user) -> dict:
    return {"id": user.pk, "username": user.get_username()}


def payment_event_publish(
    *, payment: Payment, event_type: str, actor, correlation_id: str | None = None
):
    """Write the event for the payment's latest change to the outbox.

    Must run inside the command's transaction, after the payment row is saved:
    its `version` becomes the event's per-payment `sequence`.
    """
    data = {
        "payment_id": str(payment.id),
        "organisation_id": str(payment.organisation_id),
        "debtor_account_id": str(payment.debtor_account_id),
        "debtor_iban": payment.debtor_account.iban,
        "amount": payment.amount,
        "currency": payment.currency,
        "creditor_name": payment.creditor_name,
        "reference": payment.reference,
        "submitted_by": _user(payment.submitted_by),
        "actor": _user(actor),
    }
    if event_type == "PaymentRejected":
        data["reason"] = payment.rejection_reason
    return publish(
        event_type=event_type,
        version=SCHEMA_VERSION,
        source=SOURCE,
        subject=str(payment.id),
        partition_key=str(payment.debtor_account_id),
        sequence=payment.version,
        data=data,
        correlation_id=correlation_id or str(payment.id),
    )
