"""The events the payments app emits, and the payload each carries.

The payload holds what common consumers need (amounts, parties, actor) and
nothing of the Payment model beyond it: it is a public contract, see
contracts/schemas/ and docs/lessons/versioned-schemas.md.
"""

from events.outbox import publish
from payments.models import Payment, PaymentStatus

SOURCE = "/payments"
SCHEMA_VERSION = 1

# The event that announces each status: the command that reaches the status
# emits it, and the pages name it from here.
STATUS_EVENTS = {
    PaymentStatus.PENDING_APPROVAL: "PaymentSubmitted",
    PaymentStatus.APPROVED: "PaymentApproved",
    PaymentStatus.REJECTED: "PaymentRejected",
    PaymentStatus.CANCELLED: "PaymentCancelled",
}


def _user(user) -> dict:
    return {"id": user.pk, "username": user.get_username()}


def payment_event_publish(
    *, payment: Payment, actor, correlation_id: str | None = None
):
    """Write the event that announces the payment's new status to the outbox.

    Must run inside the command's transaction, after the payment row is saved:
    its `version` becomes the event's per-payment `sequence`.
    """
    event_type = STATUS_EVENTS[payment.status]
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
