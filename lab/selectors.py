"""Reads of the lab page: the organisation's waiting events, a delivery tally."""

from django.db.models import Count

from events.models import Delivery
from events.selectors import organisation_event_list
from lab.faults import consumer_check


def outbox_waiting(*, organisation_id) -> int:
    """Count the organisation's events the relay has not published yet."""
    return (
        organisation_event_list(organisation_id=organisation_id)
        .filter(published_at__isnull=True)
        .count()
    )


def delivery_tally(*, consumer: str, organisation_id, since) -> dict[str, int]:
    """Count the consumer's deliveries of the organisation's events since a moment."""
    consumer_check(consumer)
    rows = (
        Delivery.objects.filter(
            consumer=consumer,
            at__gte=since,
            event_id__in=organisation_event_list(
                organisation_id=organisation_id
            ).values("event_id"),
        )
        .values("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["status"]: row["count"] for row in rows}
