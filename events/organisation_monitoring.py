"""The consumers and the relay as a member of one organisation sees them.

The broker's queues, their dead-letter queues and the relay's identity serve
every organisation at once: a member learns nothing from them about their own
events and would learn about other tenants' traffic. So a member's counts come
from the database, filtered on the indexed organisation columns, and no broker
connection is opened for them. Operators see events/monitoring.py's global view.
See docs/operations.md#who-sees-what.
"""

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import ConsumerPosition, ConsumerState, DeliveryStatus, InboxEntry
from events.monitoring import HEARTBEAT_FRESH, cached
from events.relay_switch import relay_overview
from events.selectors import organisation_event_list
from events.topology import dead_letter_queue_name

HELD = [DeliveryStatus.PARKED, DeliveryStatus.DEAD_LETTERED]
SHARED = "shared by every organisation: its depth is shown to operators only"


def _waiting(consumer: str, organisation_id) -> int:
    """Count the organisation's published events the consumer has not reached.

    Reached means at or below the consumer's position for the payment, or held
    in its inbox (parked, dead-lettered: counted on their own). The position is
    never pruned, so this stays true after the inbox is.
    """
    position = ConsumerPosition.objects.filter(
        consumer=consumer, subject=OuterRef("subject")
    ).values("last_sequence")[:1]
    held = InboxEntry.objects.filter(
        consumer=consumer, event_id=OuterRef("event_id"), status__in=HELD
    )
    return (
        organisation_event_list(organisation_id=organisation_id)
        .filter(published_at__isnull=False)
        .annotate(reached=Coalesce(Subquery(position), Value(0)))
        .filter(sequence__gt=F("reached"))
        .exclude(Exists(held))
        .count()
    )


def _counts(organisation_id) -> dict:
    held = {
        (row["consumer"], row["status"]): row["count"]
        for row in InboxEntry.objects.filter(
            organisation_id=organisation_id, status__in=HELD
        )
        .values("consumer", "status")
        .annotate(count=Count("id"))
        .order_by()
    }
    return {
        consumer: {
            "backlog": _waiting(consumer, organisation_id),
            "dead_lettered": held.get((consumer, DeliveryStatus.DEAD_LETTERED), 0),
            "parked": held.get((consumer, DeliveryStatus.PARKED), 0),
        }
        for consumer in settings.EVENT_CONSUMERS
    }


def organisation_consumer_overview(*, organisation_id) -> dict:
    """Return each consumer's state and the organisation's own counts.

    The shape of GET /api/v1/consumers with `scope` "organisation": `backlog`
    counts the organisation's events the consumer has yet to reach, `queues`
    is empty and the dead-letter queue's depth unknown (both are shared).
    """
    counts = cached(
        f"events:organisation-counts:{organisation_id}",
        lambda: _counts(organisation_id),
    )
    states = {
        s.consumer: s
        for s in ConsumerState.objects.filter(consumer__in=settings.EVENT_CONSUMERS)
    }
    fresh_after = timezone.now() - HEARTBEAT_FRESH
    results = []
    for consumer in settings.EVENT_CONSUMERS:
        state = states.get(consumer)
        heartbeat_at = state.heartbeat_at if state else None
        mine = counts.get(consumer, {"backlog": 0, "dead_lettered": 0, "parked": 0})
        results.append(
            {
                "name": consumer,
                "paused": bool(state and state.paused),
                "running": heartbeat_at is not None and heartbeat_at >= fresh_after,
                "heartbeat_at": heartbeat_at,
                "queues": [],
                "backlog": mine["backlog"],
                "dead_letter_queue": {
                    "name": dead_letter_queue_name(consumer),
                    "backlog": None,
                    "note": SHARED,
                },
                "retry_queue": None,  # shared, like the dead-letter queue
                "dead_lettered": mine["dead_lettered"],
                "parked": mine["parked"],
            }
        )
    return {"scope": "organisation", "results": results, "broker_error": None}


def organisation_relay_overview(*, organisation_id) -> dict:
    """Return the relay's switch and signs of life, and the organisation's own
    events waiting in the outbox; never the leader's host:pid.
    """
    relay = relay_overview()
    waiting = organisation_event_list(organisation_id=organisation_id).filter(
        published_at__isnull=True
    )
    return {
        "scope": "organisation",
        "paused": relay["paused"],
        "running": relay["running"],
        "heartbeat_at": relay["heartbeat_at"],
        "pending": waiting.count(),
        "oldest_pending_at": waiting.order_by("id")
        .values_list("created_at", flat=True)
        .first(),
    }
