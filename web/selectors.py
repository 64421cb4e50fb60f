"""Reads the pages need across apps, always scoped to one organisation.

Events carry their organisation in the payload (`data.organisation_id`), the
same way the consumers learn it; the outbox and the inbox copy it into an
indexed column, so the event log and the dead letters are filtered on that
rather than by asking payments.
"""

from django.db.models import QuerySet

from events.models import DeliveryStatus, InboxEntry, OutboxMessage
from events.selectors import deliveries_by_event, organisation_event_list


def organisation_events(*, organisation_id) -> QuerySet[OutboxMessage]:
    return organisation_event_list(organisation_id=organisation_id)


def event_log(
    *,
    organisation_id,
    event_type: str | None = None,
    payment_id: str | None = None,
    version: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[OutboxMessage], bool]:
    """Return a page of the organisation's events, newest first, with deliveries.

    Returns (events, has_more); page on with `before_id` = the last event's id.
    """
    rows = organisation_events(organisation_id=organisation_id)
    if event_type:
        rows = rows.filter(event_type=event_type)
    if payment_id:
        rows = rows.filter(subject=payment_id)
    if version:
        rows = rows.filter(schema_version=version)
    if before_id:
        rows = rows.filter(id__lt=before_id)
    page = list(rows.order_by("-id")[: limit + 1])
    events, has_more = page[:limit], len(page) > limit
    deliveries = deliveries_by_event(event.event_id for event in events)
    for event in events:
        event.deliveries = deliveries.get(event.event_id, [])
    return events, has_more


def event_types(*, organisation_id) -> list[str]:
    return list(
        organisation_events(organisation_id=organisation_id)
        .order_by("event_type")
        .values_list("event_type", flat=True)
        .distinct()
    )


def event_schema_versions(*, organisation_id) -> list[int]:
    """The schema versions among the organisation's events, for the log's filter."""
    return list(
        organisation_events(organisation_id=organisation_id)
        .order_by("schema_version")
        .values_list("schema_version", flat=True)
        .distinct()
    )


def inbox_trouble(*, organisation_id) -> QuerySet[InboxEntry]:
    """Return the organisation's dead-lettered and parked events, oldest first."""
    return InboxEntry.objects.filter(
        organisation_id=organisation_id,
        status__in=[DeliveryStatus.DEAD_LETTERED, DeliveryStatus.PARKED],
    ).order_by("received_at", "id")
