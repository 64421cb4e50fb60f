"""Build valid payment events for consumer tests, as the broker would deliver them.

Each event is a real envelope validated against its contract, so a handler test
cannot pass on a payload that payments could never publish.
"""

import uuid

from contracts.registry import validate
from events.envelope import Event, envelope_build

DEBTOR_IBAN = "DE89370400440532013000"
_SEQUENCE = {
    "PaymentSubmitted": 1,
    "PaymentApproved": 2,
    "PaymentRejected": 2,
    "PaymentCancelled": 2,
}


def _user(user) -> dict:
    return {"id": user.pk, "username": user.get_username()}


def payment_event(
    event_type: str,
    *,
    organisation,
    submitted_by,
    actor=None,
    payment_id=None,
    debtor_account_id=None,
    debtor_iban: str = DEBTOR_IBAN,
    amount: int = 12550,
    currency: str = "EUR",
    creditor_name: str = "Initech Supplies",
    reference: str = "INV-1",
    reason: str = "Duplicate invoice",
    sequence: int | None = None,
    event_id=None,
) -> Event:
    """Return an Event of `event_type` v1 (actor defaults to the submitter)."""
    payment_id = str(payment_id or uuid.uuid4())
    data = {
        "payment_id": payment_id,
        "organisation_id": str(organisation.pk),
        "debtor_account_id": str(debtor_account_id or uuid.uuid4()),
        "debtor_iban": debtor_iban,
        "amount": amount,
        "currency": currency,
        "creditor_name": creditor_name,
        "reference": reference,
        "submitted_by": _user(submitted_by),
        "actor": _user(actor or submitted_by),
    }
    if event_type == "PaymentRejected":
        data["reason"] = reason
    envelope = envelope_build(
        event_type=event_type,
        version=1,
        source="/payments",
        subject=payment_id,
        partition_key=data["debtor_account_id"],
        sequence=sequence or _SEQUENCE[event_type],
        data=data,
        correlation_id=payment_id,
        event_id=event_id,
    )
    validate(envelope)
    return Event.from_envelope(envelope)
