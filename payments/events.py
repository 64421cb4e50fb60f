"""The events the payments app emits, and the payload each carries.

The payload holds what common consumers need (amounts, parties, actor) and
nothing of the Payment model beyond it: it is a public contract, see
contracts/schemas/ and docs/lessons/versioned-schemas.md.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from events.outbox import publish
from payments.models import EventVersionSwitch, Payment, PaymentStatus

SOURCE = "/payments"
# The version of a type that EVENT_VERSIONS does not name.
DEFAULT_VERSION = 1

# The event that announces each status: the command that reaches the status
# emits it, and the pages name it from here.
STATUS_EVENTS = {
    PaymentStatus.PENDING_APPROVAL: "PaymentSubmitted",
    PaymentStatus.APPROVED: "PaymentApproved",
    PaymentStatus.REJECTED: "PaymentRejected",
    PaymentStatus.CANCELLED: "PaymentCancelled",
}
# The statuses no command reaches: other producers report them, and payments
# reads their events through its own inbox (payments/handlers.py).
REPORTED_STATUS_EVENTS = {
    PaymentStatus.RELEASED: "PaymentReleased",
    PaymentStatus.SETTLED: "PaymentSettled",
}


def _user(user) -> dict:
    return {"id": user.pk, "username": user.get_username()}


def _payment_approved_v2(v1: dict, payment: Payment) -> dict:
    """PaymentApproved v2: the money and the creditor as objects, and when."""
    data = {
        key: value
        for key, value in v1.items()
        if key not in {"amount", "currency", "creditor_name"}
    }
    data["amount"] = {"value": payment.amount, "currency": payment.currency}
    data["creditor"] = {"name": payment.creditor_name, "iban": payment.creditor_iban}
    # Saved by the approval in this transaction: the time of the decision.
    data["approved_at"] = payment.updated_at.isoformat()
    return data


# The payloads beyond version 1: (type, version) -> build from the v1 payload.
LATER_VERSIONS = {("PaymentApproved", 2): _payment_approved_v2}


def event_version(event_type: str) -> int:
    """The version of `event_type` payments publishes now.

    EVENT_VERSIONS, or in demo mode the version switched at runtime, if any
    (payments/event_versions.py).
    """
    version = settings.EVENT_VERSIONS.get(event_type, DEFAULT_VERSION)
    if settings.DEMO_MODE:
        switched = (
            EventVersionSwitch.objects.filter(event_type=event_type)
            .values_list("version", flat=True)
            .first()
        )
        version = version if switched is None else switched
    if version != DEFAULT_VERSION and (event_type, version) not in LATER_VERSIONS:
        raise ImproperlyConfigured(
            f"EVENT_VERSIONS: payments cannot publish {event_type} v{version}"
        )
    return version


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
    version = event_version(event_type)
    if version != DEFAULT_VERSION:
        data = LATER_VERSIONS[(event_type, version)](data, payment)
    return publish(
        event_type=event_type,
        version=version,
        source=SOURCE,
        subject=str(payment.id),
        partition_key=str(payment.debtor_account_id),
        sequence=payment.version,
        data=data,
        correlation_id=correlation_id,
    )
