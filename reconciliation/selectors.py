"""Read expectations for the API, always scoped to one organisation."""

from django.db.models import QuerySet

from reconciliation.models import Expectation


def expectation_list(*, organisation_id, payment_id=None) -> QuerySet[Expectation]:
    """Return the organisation's expectations, newest first."""
    expectations = Expectation.objects.filter(organisation_id=organisation_id)
    if payment_id is not None:
        expectations = expectations.filter(payment_id=payment_id)
    return expectations.order_by("-created_at", "-id")
