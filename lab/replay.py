"""Replay one organisation's events to one consumer (demo mode only).

The other consumers see nothing: events_replay (events/replay.py) sends to the
one consumer's partition queues, and its inbox decides what each copy does.
"""

from django.db.models import Min

from contracts.subjects import payment_subjects
from events.publishers import BrokerUnavailable
from events.replay import events_replay
from events.selectors import organisation_event_list
from lab.errors import BrokerUnreachable
from lab.faults import consumer_check


def organisation_replay(*, consumer: str, organisation_id, payment_id=None) -> dict:
    """Replay the organisation's published events (or one payment's) to a consumer.

    Calls events_replay once per subject (a payment's own events, and its
    release and settlement by other producers), in the order their first
    events were written; each subject's events go in sequence order.
    """
    consumer_check(consumer)
    events = organisation_event_list(organisation_id=organisation_id).filter(
        published_at__isnull=False
    )
    if payment_id is not None:
        events = events.filter(subject__in=payment_subjects(payment_id))
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
    # A subject is a payment's id, or the id and an aspect (contracts/subjects.py).
    payments = len({subject.split("/", 1)[0] for subject in subjects})
    return {
        "consumer": consumer,
        "payments": payments,
        "sent": sent,
        "detail": (
            f"Sent {sent} stored events of {payments} payments to {consumer}'s "
            "partition queues only; the other consumers see nothing."
        ),
    }
