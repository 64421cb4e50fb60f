"""One payment's events on their way: outbox, relay, broker, each consumer's inbox.

This read shows outbox internals the public API leaves out on purpose (when the
row was written, relay attempts and errors, the whole envelope, the routing), so
it lives with the page that teaches them. See docs/lessons/transactional-outbox.md.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from events.consumers import registry
from events.models import ConsumerState, DeliveryStatus, RelayState
from events.topology import (
    EXCHANGE,
    partition_of,
    partition_queue_name,
    receivers,
    routing_key,
)
from observability.tracing import trace_id_of
from payments.selectors import payment_event_list

# A consumer is done with an event once one of these is its latest delivery.
SETTLED = {
    DeliveryStatus.APPLIED,
    DeliveryStatus.SKIPPED_DUPLICATE,
    DeliveryStatus.DEAD_LETTERED,
}
RELAY_FRESH = timedelta(seconds=5)


def effect_of(consumer: str, event_type: str, version: int) -> str:
    """Say what the consumer does with the event, in the words it declared.

    The words come from each consumer's declaration (its app's consumer.py);
    a type it does not consume just advances its position (any version of a
    consumed type is read, upcast or refused, never skipped).
    """
    declared = {c.name: c for c in registry()}.get(consumer)
    if declared is None:
        return "applies it"  # named in EVENT_CONSUMERS, declared nowhere
    if event_type not in declared.consumed_types:
        return "nothing to do for this type; its position advances"
    return declared.effects[event_type]


def relay_status() -> dict:
    state = RelayState.objects.filter(pk=1).first()
    heartbeat = state.heartbeat_at if state else None
    return {
        "paused": bool(state and state.paused),
        "running": heartbeat is not None and heartbeat >= timezone.now() - RELAY_FRESH,
        "heartbeat_at": heartbeat,
    }


def consumer_status() -> list[dict]:
    states = {
        state.consumer: state
        for state in ConsumerState.objects.filter(consumer__in=settings.EVENT_CONSUMERS)
    }
    return [
        {
            "name": name,
            "paused": bool(states.get(name) and states[name].paused),
            "reads": _reads(name, states.get(name)),
        }
        for name in settings.EVENT_CONSUMERS
    ]


def _reads(name: str, state) -> dict[str, int]:
    """The newest version of each consumed type the consumer's handlers take.

    An older event is upcast to it on the way in; in demo mode the lab may have
    made the consumer an older release (events/consumer_release.py).
    """
    declared = {c.name: c for c in registry()}.get(name)
    if declared is None:
        return {}
    reads: dict[str, int] = {}
    for event_type, version in declared.consumes:
        reads[event_type] = max(version, reads.get(event_type, 0))
    if settings.DEMO_MODE and state is not None:
        for event_type, cap in state.reads_up_to.items():
            if event_type in reads:
                reads[event_type] = min(cap, reads[event_type])
    return reads


def _event(row) -> dict:
    partition = partition_of(row.partition_key)
    deliveries = [
        {
            "consumer": delivery.consumer,
            "status": delivery.status,
            "at": delivery.at,
            "error": delivery.error or None,
        }
        for delivery in row.deliveries
    ]
    latest = {d["consumer"]: d["status"] for d in deliveries}
    # Only the consumers whose queues are bound to the type receive it: those
    # that read its stream (docs/adr/0019-bindings-per-stream.md).
    bound = receivers([row.event_type])
    settled = row.published_at is not None and all(
        latest.get(name) in SETTLED for name in bound
    )
    return {
        "id": str(row.event_id),
        "type": row.event_type,
        "version": row.schema_version,
        "sequence": row.sequence,
        "partition_key": row.partition_key,
        "partition": partition,
        "exchange": EXCHANGE.name,
        "routing_key": routing_key(row.event_type, partition),
        "queues": {name: partition_queue_name(name, partition) for name in bound},
        "effects": {
            name: effect_of(name, row.event_type, row.schema_version) for name in bound
        },
        "created_at": row.created_at,
        "published_at": row.published_at,
        "attempts": row.attempts,
        "last_error": row.last_error or None,
        "envelope": row.envelope,
        # The producer's trace (the envelope's traceparent); None when untraced.
        "trace_id": trace_id_of(row.envelope.get("traceparent")),
        "deliveries": deliveries,
        "settled": settled,
    }


def payment_flow(*, organisation_id, payment) -> dict:
    """Return the payment's events with every hop's timestamps, for the flow view."""
    events = [
        _event(row)
        for row in payment_event_list(
            organisation_id=organisation_id, payment_id=payment.id
        )
    ]
    return {
        "payment": {
            "id": str(payment.id),
            "status": payment.status,
            "version": payment.version,
        },
        "consumers": consumer_status(),
        "relay": relay_status(),
        "events": events,
        # e.g. http://localhost:16686/trace/{trace_id}: each trace id links there.
        "tracing_ui_url": settings.TRACING_UI_URL or None,
        "pending": any(not event["settled"] for event in events),
    }
