"""The fault lab's own controls, beside the ones events/faults.py offers over the API.

- a poison message: a copy of a real event that breaks its contract, put in
  place of the real copy in one paused consumer's partition queue;
- redrive from the outbox: the honest way out of a poison message, which a plain
  redrive would only dead-letter again (the fault travels inside the message);
- replay one organisation's events to one consumer (events/replay.py);
- a test payment, submitted as the signed-in user through the payments service
  (approving it is the payments service's own command, maker-checker intact).

Like events/faults.py, nothing here deletes consumer data or bypasses the inbox.
See docs/lessons/fault-controls.md and docs/demo.md.
"""

import copy
import itertools
from decimal import Decimal

from django.db.models import Count, Min

from contracts.currencies import minor_units
from domain.errors import Conflict, NotFound
from events.faults import BrokerUnreachable, consumer_check
from events.models import ConsumerPosition, ConsumerState, Delivery
from events.publishers import BrokerUnavailable
from events.queues import send, taken, to_queue
from events.replay import events_replay
from events.topology import dead_letter_queue_name, partition_of, partition_queue_name
from organisations.selectors import organisation_id_for
from payments.selectors import account_list, payment_list
from payments.services import payment_submit
from web.selectors import organisation_events


class PoisonNotPossible(Conflict):
    code = "poison-not-possible"
    title = "A poison message cannot be placed now"


class NothingToRepair(NotFound):
    code = "nothing-to-repair"
    title = "No dead letter that the outbox can repair"


class DemoPaymentNotPossible(Conflict):
    code = "demo-payment-not-possible"
    title = "The lab cannot make this payment"


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
    digits = minor_units(data["currency"]) or 0
    data["amount"] = str(Decimal(data["amount"]).scaleb(-digits))
    return broken


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
        organisation_events(organisation_id=organisation_id)
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
        "broken_amount": broken["data"]["amount"],
        "detail": (
            f"{consumer}'s copy of {target.event_type} #{target.sequence} in {queue} "
            f"now carries amount {broken['data']['amount']!r} (a string) where the "
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
            for row in organisation_events(organisation_id=organisation_id).filter(
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


def organisation_replay(*, consumer: str, organisation_id, payment_id=None) -> dict:
    """Replay the organisation's published events (or one payment's) to a consumer.

    Calls events_replay once per payment, in the order the payments' first
    events were written; each payment's events go in sequence order.
    """
    consumer_check(consumer)
    events = organisation_events(organisation_id=organisation_id).filter(
        published_at__isnull=False
    )
    if payment_id is not None:
        events = events.filter(subject=str(payment_id))
    subjects = list(
        events.values("subject")
        .annotate(first=Min("id"))
        .order_by("first")
        .values_list("subject", flat=True)
    )
    sent = 0
    try:
        for subject in subjects:
            sent += events_replay(consumer=consumer, subject=subject)
    except BrokerUnavailable as exc:
        raise BrokerUnreachable(f"{exc} ({sent} events were sent before)") from exc
    return {
        "consumer": consumer,
        "payments": len(subjects),
        "sent": sent,
        "detail": (
            f"Sent {sent} stored events of {len(subjects)} payments to {consumer}'s "
            "partition queues only; the other consumers see nothing."
        ),
    }


def delivery_tally(*, consumer: str, organisation_id, since) -> dict[str, int]:
    """Count the consumer's deliveries of the organisation's events since a moment."""
    consumer_check(consumer)
    rows = (
        Delivery.objects.filter(
            consumer=consumer,
            at__gte=since,
            event_id__in=organisation_events(organisation_id=organisation_id).values(
                "event_id"
            ),
        )
        .values("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["status"]: row["count"] for row in rows}


CREDITORS = itertools.cycle(
    [
        ("Bolt Supplies GmbH", "DE75512108001245126199"),
        ("Northwind Traders", "GB33BUKB20201555555555"),
        ("Contoso Office BV", "NL91ABNA0417164300"),
    ]
)


def lab_payment_submit(*, actor):
    """Submit a payment with made-up creditor details, as `actor`.

    The very command of the payments page (payments.services.payment_submit),
    so its rules hold here too: only a maker may submit. The lab never acts as
    anyone but the signed-in user; the second person of maker-checker is a
    second demo user (switch in the header).
    """
    organisation_id = organisation_id_for(user=actor)
    account = account_list(organisation_id=organisation_id).first()
    if account is None:
        raise DemoPaymentNotPossible("Your organisation has no debtor account.")
    made = payment_list(organisation_id=organisation_id).count()
    name, iban = next(CREDITORS)
    return payment_submit(
        actor=actor,
        debtor_account_id=account.id,
        amount=10_000 + (made % 40) * 1_275,
        currency=account.currency,
        creditor_name=name,
        creditor_iban=iban,
        reference=f"LAB-{made + 1:04d}",
    )
