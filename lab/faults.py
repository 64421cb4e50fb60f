"""The fault controls the REST API offers in demo mode (lab/api/): provoke a
duplicate, an out-of-order delivery, an offline consumer and a dead letter on
purpose, and watch the consumers stay correct.

Nothing here deletes consumer data or bypasses the inbox: every control only adds
deliveries or moves messages between one consumer's own queues, so what the
consumers do next is exactly what they would do with a misbehaving broker.
Tenant-scoped controls find events through the outbox's `organisation_id` column.
See docs/lessons/fault-controls.md.
"""

import functools

from amqp.exceptions import AMQPError
from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError

from events.models import ConsumerPosition, ConsumerState
from events.publishers import BrokerUnavailable
from events.queues import Taken, send, taken, to_queue
from events.relay import outgoing
from events.selectors import organisation_event_list
from events.topology import (
    dead_letter_queue_name,
    partition_of,
    partition_queue_name,
    receivers,
)
from lab.errors import (
    BrokerUnreachable,
    ConsumerNotFound,
    DeadLetterNotFound,
    EventNotFound,
    EventNotPublished,
    PaymentEventsNotFound,
    ReversalNotPossible,
)

# Headers dead_letter() adds; a redriven message goes back as it first arrived.
DEAD_LETTER_HEADERS = ("x-error", "x-consumer")


def consumer_check(name: str) -> str:
    """Return the consumer's name, or raise ConsumerNotFound."""
    if name not in settings.EVENT_CONSUMERS:
        raise ConsumerNotFound(
            f"No consumer named {name!r}; known: {', '.join(settings.EVENT_CONSUMERS)}."
        )
    return name


def _organisation_events(organisation_id):
    return organisation_event_list(organisation_id=organisation_id)


def _sent(messages) -> int:
    try:
        return send(messages)
    except BrokerUnavailable as exc:
        raise BrokerUnreachable(
            f"{exc}. Messages taken out of a queue were put back; copies published "
            "before the failure are duplicates the consumers will skip."
        ) from exc


def _broker_reachable(control):
    """Answer 503 (never 500) when the broker cannot be reached at all."""

    @functools.wraps(control)
    def wrapper(*args, **kwargs):
        try:
            return control(*args, **kwargs)
        except (BrokerUnavailable, OSError, KombuOperationalError, AMQPError) as exc:
            raise BrokerUnreachable(
                f"{exc.__class__.__name__}: {exc}. Nothing was moved."
            ) from exc

    return wrapper


@_broker_reachable
def event_redeliver(*, event_id, organisation_id) -> dict:
    """Publish a published event again, exactly as the relay did: one publish to the
    stream exchange, fanned out to every consumer bound to its type, which must
    skip it as a duplicate.
    """
    row = _organisation_events(organisation_id).filter(event_id=event_id).first()
    if row is None:
        raise EventNotFound("No event with this id in your organisation.")
    if row.published_at is None:
        raise EventNotPublished(
            "The relay has not published this event yet; redeliver it once it has."
        )
    message = outgoing(row)
    _sent([message])
    return {
        "event_id": str(row.event_id),
        "type": row.event_type,
        "sequence": row.sequence,
        "exchange": message.exchange,
        "routing_key": message.routing_key,
        "consumers": receivers([row.event_type]),
        "detail": (
            f"Published {row.event_type} #{row.sequence} again to {message.exchange}; "
            "every consumer bound to it receives one more copy, and whichever copy "
            "arrives after the event was applied is recorded as skipped_duplicate, "
            "with no second effect."
        ),
    }


def consumer_pause(*, name: str, paused: bool) -> dict:
    """Set the consumer's pause flag; its worker obeys within about a second."""
    consumer_check(name)
    ConsumerState.objects.update_or_create(consumer=name, defaults={"paused": paused})
    queues = f"{partition_queue_name(name, 0)}..p{settings.EVENT_PARTITIONS - 1}"
    if paused:
        detail = (
            f"{name} stops taking messages from {queues} within a second; new events "
            "wait in the broker until it is resumed (the producer never notices)."
        )
    else:
        detail = f"{name} takes messages from {queues} again and works off its backlog."
    return {"consumer": name, "paused": paused, "detail": detail}


def _reversal_refusals(consumers: list[str], subject: str, earlier) -> None:
    positions = dict(
        ConsumerPosition.objects.filter(
            consumer__in=consumers, subject=subject
        ).values_list("consumer", "last_sequence")
    )
    how = (
        "To watch an event park: pause the consumer (POST /api/v1/consumers/<name>/"
        "pause), submit and approve a new payment, call this control for that "
        "payment, then resume the consumer."
    )
    applied = [c for c in consumers if positions.get(c, 0) >= earlier.sequence]
    if applied:
        raise ReversalNotPossible(
            f"{', '.join(applied)} already applied event #{earlier.sequence}, so "
            f"both copies would only be skipped as duplicates. {how}"
        )
    paused = set(
        ConsumerState.objects.filter(consumer__in=consumers, paused=True).values_list(
            "consumer", flat=True
        )
    )
    running = [c for c in consumers if c not in paused]
    if running:
        raise ReversalNotPossible(
            f"Pause {', '.join(running)} first: a consumer that is taking messages "
            f"would receive the relay's in-order copies before these. {how}"
        )


@_broker_reachable
def payment_deliver_reversed(
    *, payment_id, organisation_id, consumer: str | None = None
) -> dict:
    """Deliver the payment's last two published events to paused consumers, later
    one first, so the later one parks until the earlier one arrives.

    A queue is first in, first out, and the relay's in-order copies already wait
    in it, so a reversed pair published behind them would only be skipped. So the
    paused consumer's partition queue is rewritten: every message is taken, the
    others are put back in their order, then the pair, reversed. Each taken
    message is acknowledged only after its copy is published (on RabbitMQ a crash
    in between leaves duplicates, which the inbox skips, never a gap).
    """
    subject = str(payment_id)
    events = _organisation_events(organisation_id).filter(subject=subject)
    if not events.exists():
        raise PaymentEventsNotFound("No payment with this id in your organisation.")
    pair = list(events.filter(published_at__isnull=False).order_by("-sequence")[:2])
    if len(pair) < 2:
        raise ReversalNotPossible(
            "The payment needs two published events (e.g. submitted and approved)."
        )
    later, earlier = pair
    if later.partition_key != earlier.partition_key:
        raise ReversalNotPossible(
            "The two events travel in different partitions, which have no order "
            "between them to reverse."
        )
    bound = receivers([later.event_type, earlier.event_type])
    consumers = [consumer_check(consumer)] if consumer else bound
    if consumer and consumer not in bound:
        raise ReversalNotPossible(
            f"{consumer} reads none of this payment's events: its queues are not "
            "bound to them."
        )
    _reversal_refusals(list(consumers), subject, earlier)
    pair_ids = {str(later.event_id), str(earlier.event_id)}
    outcome = []
    for name in consumers:
        queue = partition_queue_name(name, partition_of(later.partition_key))
        with taken(queue) as messages:
            others = [m for m in messages if m.event_id not in pair_ids]
            _sent(
                [m.forward(queue) for m in others]
                + [to_queue(later.envelope, queue), to_queue(earlier.envelope, queue)]
            )
            for message in messages:
                message.message.ack()
        outcome.append(
            {
                "name": name,
                "queue": queue,
                "in_order_copies_taken_out": len(messages) - len(others),
                "other_messages_kept": len(others),
            }
        )
    return {
        "payment_id": subject,
        "events": [
            {"id": str(row.event_id), "type": row.event_type, "sequence": row.sequence}
            for row in (later, earlier)
        ],
        "consumers": outcome,
        "detail": (
            f"Queued {later.event_type} #{later.sequence} before {earlier.event_type} "
            f"#{earlier.sequence}. Resume the consumer: it parks #{later.sequence}, "
            f"applies #{earlier.sequence}, then the parked one; the payment's events "
            "list shows each delivery."
        ),
    }


def _belongs(message: Taken, organisation_id) -> bool:
    data = (message.envelope or {}).get("data")
    return (
        organisation_id is not None
        and isinstance(data, dict)
        and data.get("organisation_id") == str(organisation_id)
    )


@_broker_reachable
def dead_letters_redrive(*, consumer: str, organisation_id, event_id=None) -> dict:
    """Move the organisation's dead letters of a consumer back to its partition
    queues (or only the one with `event_id`); every other message stays put.

    The consumer then handles them like any delivery: applied, parked behind a
    gap, or dead-lettered again if the cause is still there.
    """
    consumer_check(consumer)
    dead_queue = dead_letter_queue_name(consumer)
    with taken(dead_queue) as messages:
        chosen = [
            m
            for m in messages
            if _belongs(m, organisation_id)
            and (event_id is None or m.event_id == str(event_id))
        ]
        if event_id is not None and not chosen:
            raise DeadLetterNotFound(
                f"No dead letter of event {event_id} of your organisation in "
                f"{dead_queue}."
            )
        _sent(
            m.forward(
                partition_queue_name(
                    consumer, partition_of(str(m.envelope.get("partitionkey", "")))
                ),
                drop_headers=DEAD_LETTER_HEADERS,
            )
            for m in chosen
        )
        for message in chosen:
            message.message.ack()
    return {
        "consumer": consumer,
        "dead_letter_queue": dead_queue,
        "moved": len(chosen),
        "event_ids": [m.event_id for m in chosen],
        "left": len(messages) - len(chosen),
        "detail": (
            f"Moved {len(chosen)} dead letters of {consumer} back to its partition "
            f"queues; {len(messages) - len(chosen)} other messages stay in "
            f"{dead_queue}."
        ),
    }
