"""Replay: send stored events again to ONE consumer's queues, e.g. after it lost data.

The outbox keeps published events for a retention period; the consumer's inbox
makes a replay safe (what it already applied is skipped as a duplicate), and the
other consumers never see it. See docs/lessons/replays.md.
"""

from collections.abc import Iterator
from datetime import datetime

from events.models import OutboxMessage
from events.publishers import Outgoing
from events.queues import send, to_queue
from events.topology import partition_of, partition_queue_name, received_types

PAGE = 500


def _published(*, consumer: str, since: datetime | None, subject: str | None):
    rows = OutboxMessage.objects.filter(published_at__isnull=False)
    types = received_types(consumer)
    if types is not None:
        # What its bindings would have sent it: the streams it reads.
        rows = rows.filter(event_type__in=types)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if subject is not None:
        rows = rows.filter(subject=subject)
    return rows.only("id", "envelope", "partition_key").order_by("id")


def _messages(consumer: str, rows) -> Iterator[Outgoing]:
    # Page by id instead of holding a cursor open while the broker is slow.
    last_id = 0
    while page := list(rows.filter(id__gt=last_id)[:PAGE]):
        for row in page:
            queue = partition_queue_name(consumer, partition_of(row.partition_key))
            yield to_queue(row.envelope, queue, row_id=row.id)
        last_id = page[-1].id


def events_replay(
    *, consumer: str, since: datetime | None = None, subject: str | None = None
) -> int:
    """Send the published events (in id order) to the consumer's partition queues.

    Each goes through the default exchange straight to the queue its partition
    key maps to, so per-partition order is the original order. Returns how many
    were sent; raises BrokerUnavailable (events before the failure were sent).
    """
    return send(
        _messages(consumer, _published(consumer=consumer, since=since, subject=subject))
    )
