"""A poison message, and the repair from the outbox (demo mode only).

- a poison message: a copy of a real event that breaks its contract, put in
  place of the real copy in one paused consumer's partition queue;
- redrive from the outbox: the honest way out of a poison message, which a plain
  redrive would only dead-letter again (the fault travels inside the message).

Like lab/faults.py, nothing here deletes consumer data or bypasses the inbox.
See docs/lessons/fault-controls.md and docs/demo.md.
"""

import copy
from decimal import Decimal

from contracts.currencies import minor_units
from events.models import ConsumerPosition, ConsumerState
from events.publishers import BrokerUnavailable
from events.queues import send, taken, to_queue
from events.selectors import organisation_event_list
from events.topology import dead_letter_queue_name, partition_of, partition_queue_name
from lab.errors import BrokerUnreachable, NothingToRepair, PoisonNotPossible
from lab.faults import consumer_check


def _sent(messages) -> int:
    try:
        return send(messages)
    except BrokerUnavailable as exc:
        raise BrokerUnreachable(str(exc)) from exc


def poison_envelope(envelope: dict) -> dict:
    """Return a copy that breaks the contract the way a buggy producer would.

    The amount becomes a major-unit string ("125.50") where the schema says an
    integer in minor units: valid JSON, plausible, and wrong.
    """
    broken = copy.deepcopy(envelope)
    data = broken["data"]
    # PaymentApproved v2 carries its money as one object (contracts/schemas).
    money = data["amount"] if isinstance(data["amount"], dict) else None
    currency = money["currency"] if money else data["currency"]
    digits = minor_units(currency) or 0
    if money:
        money["value"] = str(Decimal(money["value"]).scaleb(-digits))
    else:
        data["amount"] = str(Decimal(data["amount"]).scaleb(-digits))
    return broken


def _amount_of(data: dict):
    amount = data["amount"]
    return amount["value"] if isinstance(amount, dict) else amount


def poison_send(*, consumer: str, payment_id, organisation_id) -> dict:
    """Put a contract-breaking copy of the payment's latest event in the place of
    the real copy in a paused consumer's partition queue.

    The consumer must be paused and must not have applied that event yet (pause
    it, then submit a payment): only then is the broken copy the one it meets
    first, as it would be after a faulty producer release.
    """
    consumer_check(consumer)
    subject = str(payment_id)
    target = (
        organisation_event_list(organisation_id=organisation_id)
        .filter(subject=subject, published_at__isnull=False)
        .order_by("-sequence")
        .first()
    )
    how = (
        f"Pause {consumer}, submit a new payment (the relay publishes it while "
        f"{consumer} is paused), then send the poison message for that payment."
    )
    if target is None:
        raise PoisonNotPossible(f"This payment has no published event yet. {how}")
    if not ConsumerState.objects.filter(consumer=consumer, paused=True).exists():
        raise PoisonNotPossible(
            f"{consumer} is running, so it would take the real copy first. {how}"
        )
    position = (
        ConsumerPosition.objects.filter(consumer=consumer, subject=subject)
        .values_list("last_sequence", flat=True)
        .first()
        or 0
    )
    if position >= target.sequence:
        raise PoisonNotPossible(
            f"{consumer} already applied {target.event_type} #{target.sequence}. {how}"
        )
    queue = partition_queue_name(consumer, partition_of(target.partition_key))
    broken = poison_envelope(target.envelope)
    with taken(queue) as messages:
        others = [m for m in messages if m.event_id != str(target.event_id)]
        _sent([m.forward(queue) for m in others] + [to_queue(broken, queue)])
        for message in messages:
            message.message.ack()
    return {
        "consumer": consumer,
        "queue": queue,
        "event_id": str(target.event_id),
        "type": target.event_type,
        "sequence": target.sequence,
        "replaced_real_copy": len(messages) - len(others),
        "broken_amount": _amount_of(broken["data"]),
        "detail": (
            f"{consumer}'s copy of {target.event_type} #{target.sequence} in {queue} "
            f"now carries amount {_amount_of(broken['data'])!r} (a string) where the "
            "contract says an integer in minor units. Resume "
            f"{consumer}: it checks the contract first and dead-letters the message "
            "at once, without retries."
        ),
    }


def dead_letters_repair(*, consumer: str, organisation_id, event_id=None) -> dict:
    """Replace the consumer's dead letters of the organisation's events with the
    outbox's copy of the same event, and send those to its partition queues.

    The outbox holds every event exactly as the producer committed it, so it is
    the source to repair from. A dead letter whose id is not an event of the
    organisation is left where it is.
    """
    consumer_check(consumer)
    dead_queue = dead_letter_queue_name(consumer)
    with taken(dead_queue) as messages:
        wanted = {m.event_id for m in messages if m.event_id}
        if event_id is not None:
            wanted &= {str(event_id)}
        rows = {
            str(row.event_id): row
            for row in organisation_event_list(organisation_id=organisation_id).filter(
                event_id__in=list(wanted), published_at__isnull=False
            )
        }
        chosen = [m for m in messages if m.event_id in rows]
        if not chosen:
            raise NothingToRepair(
                f"{dead_queue} holds no dead letter of your organisation's events."
            )
        repaired = {}
        for message in chosen:
            row = rows[message.event_id]
            queue = partition_queue_name(consumer, partition_of(row.partition_key))
            repaired[message.event_id] = to_queue(row.envelope, queue)
        # One copy per event, even if the dead queue held several of it.
        _sent(repaired.values())
        for message in chosen:
            message.message.ack()
    return {
        "consumer": consumer,
        "dead_letter_queue": dead_queue,
        "repaired": len(repaired),
        "event_ids": list(repaired),
        "left": len(messages) - len(chosen),
        "detail": (
            f"Replaced {len(chosen)} dead letters with the outbox's copies and sent "
            f"{len(repaired)} to {consumer}'s partition queues; "
            f"{len(messages) - len(chosen)} other messages stay in {dead_queue}."
        ),
    }
