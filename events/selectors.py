"""Reads of the outbox for the APIs that show an aggregate's events."""

from django.db.models import QuerySet

from events.models import OutboxMessage


def event_list(*, source: str, subject: str) -> QuerySet[OutboxMessage]:
    """Return the events one aggregate produced, in sequence order."""
    return OutboxMessage.objects.filter(source=source, subject=subject).order_by(
        "sequence"
    )
