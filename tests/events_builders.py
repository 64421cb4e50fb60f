"""Build valid payment events for consumer tests, as the broker would deliver them.

Each event is a real envelope validated against its contract, so a handler test
cannot pass on a payload that payments could never publish.
"""

import uuid

from django.utils import timezone

from contracts.registry import validate
from events.envelope import Event, envelope_build

DEBTOR_IBAN = "DE89370400440532013000"
CREDITOR_IBAN = "GB33BUKB20201555555555"
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
    version: int = 1,
    creditor_iban: str = CREDITOR_IBAN,
) -> Event:
    """Return an Event of `event_type` (actor defaults to the submitter).

    Version 1 by default, as every event published so far; PaymentApproved
    also in version 2 (the money and the creditor as objects, approved_at).
    """
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
    if version == 2:
        data = payment_approved_v2_data(data, creditor_iban=creditor_iban)
    envelope = envelope_build(
        event_type=event_type,
        version=version,
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


def payment_approved_v2_data(v1: dict, *, creditor_iban: str) -> dict:
    """The PaymentApproved v2 payload carrying what a v1 payload `v1` carries."""
    data = {k: v for k, v in v1.items() if k not in {"currency", "creditor_name"}}
    data["amount"] = {"value": v1["amount"], "currency": v1["currency"]}
    data["creditor"] = {"name": v1["creditor_name"], "iban": creditor_iban}
    data["approved_at"] = timezone.now().isoformat()
    return data


def payment_fact(
    event_type: str, *, payment, source: str, aspect: str, **data
) -> Event:
    """Another producer's fact about `payment` (PaymentReleased, PaymentSettled).

    Starts from the type's first valid golden sample, with the payment's ids,
    and any field overridden by `data`.
    """
    import json

    from contracts.registry import SCHEMA_DIR
    from contracts.subjects import payment_subject

    sample = json.loads(
        (SCHEMA_DIR.parent / "samples" / f"{event_type}.v1.valid.json").read_text()
    )[0]["data"]
    payload = {
        **sample,
        "payment_id": str(payment.id),
        "organisation_id": str(payment.organisation_id),
        "debtor_account_id": str(payment.debtor_account_id),
        "end_to_end_id": payment.id.hex,
        "amount": {"value": payment.amount, "currency": payment.currency},
        **data,
    }
    envelope = envelope_build(
        event_type=event_type,
        version=1,
        source=source,
        subject=payment_subject(payment.id, aspect),
        partition_key=payload["debtor_account_id"],
        sequence=1,
        data=payload,
        correlation_id=str(payment.id),
    )
    validate(envelope)
    return Event.from_envelope(envelope)
