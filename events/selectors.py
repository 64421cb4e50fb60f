"""Reads of the outbox for the APIs that show an aggregate's or a tenant's events."""

from collections import defaultdict

from django.db.models import QuerySet

from events.models import Delivery, OutboxMessage


def event_list_about(*, subjects: list[str]) -> QuerySet[OutboxMessage]:
    """Return the events of several subjects (one payment's, from every producer).

    In the order they were written: sequences count per subject, not across them.
    """
    return OutboxMessage.objects.filter(subject__in=subjects).order_by(
        "created_at", "id"
    )


def organisation_event_list(*, organisation_id) -> QuerySet[OutboxMessage]:
    """Return the organisation's events (none for no organisation), unordered.

    Filters on the indexed `organisation_id` column that publish() fills from the
    payload, never on the JSON itself.
    """
    if organisation_id is None:
        # filter(organisation_id=None) would mean IS NULL: every untenanted event.
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.filter(organisation_id=organisation_id)


def deliveries_by_event(event_ids) -> dict:
    """Return each event's deliveries (every consumer), oldest first, keyed by id.

    One query for a whole page of events; an event no consumer has seen yet is
    simply absent from the result.
    """
    deliveries = defaultdict(list)
    for delivery in Delivery.objects.filter(event_id__in=list(event_ids)).order_by(
        "at", "id"
    ):
        deliveries[delivery.event_id].append(delivery)
    return dict(deliveries)
