"""Reads of payments and accounts, always scoped to the caller's organisation."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from contracts.subjects import payment_subjects
from events.selectors import deliveries_by_event, event_list_about
from payments.errors import PaymentNotFound
from payments.models import DebtorAccount, Payment


def account_list(*, organisation_id) -> QuerySet[DebtorAccount]:
    return DebtorAccount.objects.filter(organisation_id=organisation_id).order_by(
        "currency", "name"
    )


def payment_list(*, organisation_id, status: str | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.filter(organisation_id=organisation_id).select_related(
        "submitted_by", "approved_by", "rejected_by"
    )
    if status:
        payments = payments.filter(status=status)
    return payments


def payment_get(*, organisation_id, payment_id) -> Payment:
    """Return the payment, or raise PaymentNotFound (also for another tenant's)."""
    try:
        return payment_list(organisation_id=organisation_id).get(id=payment_id)
    except (Payment.DoesNotExist, ValueError, ValidationError):
        raise PaymentNotFound() from None


def payment_event_list(
    *, organisation_id, payment_id, version: int | None = None
) -> list:
    """Return the payment's events as written, each with its `deliveries`.

    Only those of schema `version` when given. Deliveries are every consumer's,
    oldest first, read in one query for all the events (events.selectors): the
    inbox's history made visible.
    """
    payment = payment_get(organisation_id=organisation_id, payment_id=payment_id)
    # Its own events and the other producers' facts about it (release, settlement).
    rows = event_list_about(subjects=payment_subjects(payment.id))
    if version is not None:
        rows = rows.filter(schema_version=version)
    events = list(rows)
    deliveries = deliveries_by_event(event.event_id for event in events)
    for event in events:
        event.deliveries = deliveries.get(event.event_id, [])
    return events
