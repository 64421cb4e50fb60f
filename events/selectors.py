"""Reads of the outbox for the APIs that show an aggregate's events."""

from collections import defaultdict

from django.db.models import QuerySet

from events.models import Delivery, OutboxMessage


def event_list(*, source: str, subject: str) -> QuerySet[OutboxMessage]:
    """Return the events one aggregate produced, in sequence order."""
    return OutboxMessage.objects.filter(source=source, subject=subject).order_by(
        "sequence"
    )


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
