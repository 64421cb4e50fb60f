"""The idempotent consumer: each event applied once, in per-payment sequence order.

events.inbox.consume is called directly, as a worker's task would call it, with
small handler tables whose effects are visible rows or a list of calls.
"""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contracts.registry import ContractViolation
from events.inbox import consume, failure_record
from events.models import ConsumerPosition, Delivery, DeliveryStatus, InboxEntry
from tests.events_builders import payment_event

pytestmark = pytest.mark.django_db

parked_mark = importlib.import_module(
    "events.migrations.0008_position_parked_flag"
).parked_mark

APPLIED = DeliveryStatus.APPLIED
PARKED = DeliveryStatus.PARKED
SKIPPED = DeliveryStatus.SKIPPED_DUPLICATE
DEAD = DeliveryStatus.DEAD_LETTERED


class Recorder:
    """A handler table that records (type, sequence) of every call."""

    def __init__(self, *types: str):
        self.calls: list[tuple[str, int]] = []
        self.handlers = {(t, 1): self.handle for t in types}

    def handle(self, event) -> None:
        self.calls.append((event.type, event.sequence))


def position(consumer: str, subject: str) -> int:
    row = ConsumerPosition.objects.filter(consumer=consumer, subject=subject).first()
    return row.last_sequence if row else 0


def statuses(consumer: str, envelope: dict) -> list[str]:
    return list(
        Delivery.objects.filter(consumer=consumer, event_id=envelope["id"])
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_an_event_is_applied_with_its_inbox_row_and_position(stream):
    # given
    recorder = Recorder("PaymentSubmitted")
    submitted = stream(1)

    # when
    outcome = consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)

    # then
    assert outcome == APPLIED
    assert recorder.calls == [("PaymentSubmitted", 1)]
    entry = InboxEntry.objects.get(consumer="ledger", event_id=submitted["id"])
    assert entry.status == APPLIED
    assert entry.applied_at is not None
    assert entry.envelope == submitted
    assert position("ledger", stream.subject) == 1
    assert statuses("ledger", submitted) == [APPLIED]


def test_the_same_event_twice_is_applied_once_and_the_duplicate_recorded(stream):
    # given
    recorder = Recorder("PaymentSubmitted")
    submitted = stream(1)
    consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)

    # when
    outcome = consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)

    # then
    assert outcome == SKIPPED
    assert recorder.calls == [("PaymentSubmitted", 1)]
    assert InboxEntry.objects.filter(event_id=submitted["id"]).count() == 1
    assert statuses("ledger", submitted) == [APPLIED, SKIPPED]


def test_each_consumer_applies_the_event_for_itself(stream):
    # given
    ledger, notifications = Recorder("PaymentSubmitted"), Recorder("PaymentSubmitted")
    submitted = stream(1)
    consume(consumer="ledger", envelope=submitted, handlers=ledger.handlers)

    # when
    outcome = consume(
        consumer="notifications", envelope=submitted, handlers=notifications.handlers
    )

    # then: the ledger's inbox row does not make it a duplicate for notifications
    assert outcome == APPLIED
    assert notifications.calls == [("PaymentSubmitted", 1)]
    assert InboxEntry.objects.filter(event_id=submitted["id"]).count() == 2


def test_an_event_ahead_of_a_gap_is_parked_then_applied_when_the_gap_fills(stream):
    # given: the approval arrives before the submission
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    submitted, approved = stream(1), stream(2)
    early = consume(consumer="ledger", envelope=approved, handlers=recorder.handlers)
    assert early == PARKED
    assert recorder.calls == []
    assert position("ledger", stream.subject) == 0
    parked = InboxEntry.objects.get(event_id=approved["id"])
    assert parked.status == PARKED and parked.applied_at is None

    # when
    outcome = consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)

    # then: both applied, in sequence order, in that one delivery
    assert outcome == APPLIED
    assert recorder.calls == [("PaymentSubmitted", 1), ("PaymentApproved", 2)]
    assert position("ledger", stream.subject) == 2
    parked.refresh_from_db()
    assert parked.status == APPLIED and parked.applied_at is not None
    assert statuses("ledger", approved) == [PARKED, APPLIED]


def test_only_the_parked_events_that_follow_without_a_gap_are_applied(stream):
    # given: 3 and 5 arrive early; 4 is still missing
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    events = {n: stream(n) for n in range(1, 6)}
    consume(consumer="ledger", envelope=events[1], handlers=recorder.handlers)
    for n in (5, 3):
        consume(consumer="ledger", envelope=events[n], handlers=recorder.handlers)

    # when
    consume(consumer="ledger", envelope=events[2], handlers=recorder.handlers)

    # then
    assert [seq for _, seq in recorder.calls] == [1, 2, 3]
    assert position("ledger", stream.subject) == 3
    assert InboxEntry.objects.get(event_id=events[5]["id"]).status == PARKED
    # and 4 releases 5
    consume(consumer="ledger", envelope=events[4], handlers=recorder.handlers)
    assert [seq for _, seq in recorder.calls] == [1, 2, 3, 4, 5]
    assert position("ledger", stream.subject) == 5


def test_a_parked_event_delivered_again_stays_parked_once(stream):
    # given
    recorder = Recorder("PaymentApproved")
    approved = stream(2)
    consume(consumer="ledger", envelope=approved, handlers=recorder.handlers)

    # when
    outcome = consume(consumer="ledger", envelope=approved, handlers=recorder.handlers)

    # then
    assert outcome == PARKED
    assert recorder.calls == []
    assert InboxEntry.objects.filter(event_id=approved["id"]).count() == 1
    assert statuses("ledger", approved) == [PARKED, PARKED]


def test_a_stale_event_at_or_below_the_position_is_skipped(stream):
    # given: the position is at 2, reached by events with other ids
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    consume(consumer="ledger", envelope=stream(1), handlers=recorder.handlers)
    consume(consumer="ledger", envelope=stream(2), handlers=recorder.handlers)
    stale = stream(1)  # a new event id claiming an old sequence

    # when
    outcome = consume(consumer="ledger", envelope=stale, handlers=recorder.handlers)

    # then
    assert outcome == SKIPPED
    assert len(recorder.calls) == 2
    assert not InboxEntry.objects.filter(event_id=stale["id"]).exists()
    assert statuses("ledger", stale) == [SKIPPED]
    assert position("ledger", stream.subject) == 2


def test_an_event_the_consumer_does_not_act_on_still_advances_its_position(stream):
    # given: this consumer has a handler for approvals only
    recorder = Recorder("PaymentApproved")
    submitted, approved = stream(1), stream(2)

    # when
    first = consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)
    second = consume(consumer="ledger", envelope=approved, handlers=recorder.handlers)

    # then: the approval is not held back behind a "gap" at 1
    assert (first, second) == (APPLIED, APPLIED)
    assert recorder.calls == [("PaymentApproved", 2)]
    assert InboxEntry.objects.get(event_id=submitted["id"]).status == APPLIED
    assert position("ledger", stream.subject) == 2


def test_a_failing_handler_rolls_back_its_effect_the_inbox_row_and_the_position(
    stream,
):
    # given: a handler that writes a row and then fails
    def write_then_fail(event):
        Group.objects.create(name=f"effect of {event.id}")
        raise RuntimeError("downstream refused")

    submitted = stream(1)

    # when
    with pytest.raises(RuntimeError, match="downstream refused"):
        consume(
            consumer="ledger",
            envelope=submitted,
            handlers={("PaymentSubmitted", 1): write_then_fail},
        )

    # then: nothing of the attempt remains
    assert not Group.objects.exists()
    assert not InboxEntry.objects.exists()
    assert not Delivery.objects.exists()
    assert position("ledger", stream.subject) == 0
    # and a later delivery applies it as new
    recorder = Recorder("PaymentSubmitted")
    assert (
        consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)
        == APPLIED
    )


def test_a_failing_parked_successor_stays_parked_and_is_handed_back_alone(
    stream, django_capture_on_commit_callbacks
):
    # given: 2 is parked, and its handler fails
    def record(event):
        Group.objects.create(name=f"seq {event.sequence}")

    def fail(event):
        raise RuntimeError("cannot apply 2")

    handlers = {("PaymentSubmitted", 1): record, ("PaymentApproved", 1): fail}
    submitted, approved = stream(1), stream(2)
    consume(consumer="ledger", envelope=approved, handlers=handlers)
    stuck = []

    # when: 1 arrives and releases 2, whose handler fails
    with django_capture_on_commit_callbacks(execute=True):
        result = consume(
            consumer="ledger",
            envelope=submitted,
            handlers=handlers,
            on_stuck=stuck.append,
        )

    # then: 1 is applied on its own merits; 2 stays parked with its error
    assert result == APPLIED
    assert list(Group.objects.values_list("name", flat=True)) == ["seq 1"]
    assert position("ledger", stream.subject) == 1
    parked = InboxEntry.objects.get(event_id=approved["id"])
    assert parked.status == PARKED
    assert "cannot apply 2" in parked.error
    assert Delivery.objects.filter(event_id=approved["id"], status="failed").exists()
    # and: after commit it is handed back to be delivered (and retried) as itself
    assert [envelope["id"] for envelope in stuck] == [approved["id"]]


def test_a_contract_violating_envelope_is_refused_and_writes_nothing(stream):
    # given: a negative amount breaks the PaymentApproved contract
    recorder = Recorder("PaymentApproved")
    approved = stream(2)
    approved["data"]["amount"] = -5

    # when
    with pytest.raises(ContractViolation, match="amount"):
        consume(consumer="ledger", envelope=approved, handlers=recorder.handlers)

    # then
    assert recorder.calls == []
    assert not InboxEntry.objects.exists()
    assert not Delivery.objects.exists()
    assert not ConsumerPosition.objects.exists()


def test_a_failed_attempt_is_recorded_without_an_inbox_row(stream):
    # given
    approved = stream(2)

    # when
    failure_record(
        consumer="ledger", envelope=approved, error="RuntimeError: x", final=False
    )

    # then
    delivery = Delivery.objects.get(event_id=approved["id"])
    assert (delivery.status, delivery.error) == (
        DeliveryStatus.FAILED,
        "RuntimeError: x",
    )
    assert not InboxEntry.objects.exists()


def test_the_final_failure_marks_the_inbox_row_dead_lettered(stream):
    # given
    approved = stream(2)

    # when
    failure_record(
        consumer="ledger", envelope=approved, error="RuntimeError: boom", final=True
    )

    # then
    entry = InboxEntry.objects.get(consumer="ledger", event_id=approved["id"])
    assert entry.status == DEAD
    assert entry.error == "RuntimeError: boom"
    assert entry.sequence == 2 and entry.subject == stream.subject
    assert statuses("ledger", approved) == [DEAD]


def test_a_dead_letter_without_an_event_id_writes_nothing():
    # given
    not_an_envelope = {"hello": "world"}

    # when
    with transaction.atomic():
        failure_record(
            consumer="ledger", envelope=not_an_envelope, error="contract", final=True
        )

    # then: the dead-letter queue alone holds such a message
    assert not Delivery.objects.exists()
    assert not InboxEntry.objects.exists()


def test_a_successor_of_a_dead_lettered_event_stays_parked_until_it_is_redriven(
    stream,
):
    # given: 1 applied, 2 dead-lettered, 3 arrives
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    events = {n: stream(n) for n in (1, 2, 3)}
    consume(consumer="ledger", envelope=events[1], handlers=recorder.handlers)
    failure_record(
        consumer="ledger", envelope=events[2], error="RuntimeError: boom", final=True
    )

    # when
    outcome = consume(consumer="ledger", envelope=events[3], handlers=recorder.handlers)

    # then: 3 waits visibly behind its payment's dead letter
    assert outcome == PARKED
    assert [seq for _, seq in recorder.calls] == [1]
    assert position("ledger", stream.subject) == 1
    assert InboxEntry.objects.get(event_id=events[3]["id"]).status == PARKED
    # and redriving the dead letter applies it, then releases 3
    redriven = consume(
        consumer="ledger", envelope=events[2], handlers=recorder.handlers
    )
    assert redriven == APPLIED
    assert [seq for _, seq in recorder.calls] == [1, 2, 3]
    assert InboxEntry.objects.get(event_id=events[2]["id"]).status == APPLIED
    assert position("ledger", stream.subject) == 3


def test_events_of_other_payments_are_not_held_back_by_a_gap(acme, alice, stream):
    # given: one payment has a gap (its 1 never arrived)
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    consume(consumer="ledger", envelope=stream(2), handlers=recorder.handlers)
    other = payment_event(
        "PaymentSubmitted", organisation=acme, submitted_by=alice
    ).envelope

    # when
    outcome = consume(consumer="ledger", envelope=other, handlers=recorder.handlers)

    # then
    assert outcome == APPLIED
    assert recorder.calls == [("PaymentSubmitted", 1)]


def test_a_dead_lettered_copy_of_an_applied_event_leaves_it_applied(stream):
    # given: an applied event
    recorder = Recorder("PaymentSubmitted")
    submitted = stream(1)
    consume(consumer="ledger", envelope=submitted, handlers=recorder.handlers)

    # when: a broken copy of it is dead-lettered
    failure_record(
        consumer="ledger", envelope=submitted, error="contract: broken", final=True
    )

    # then: the delivery is on record, but the event still counts as applied
    entry = InboxEntry.objects.get(consumer="ledger", event_id=submitted["id"])
    assert entry.status == APPLIED
    assert Delivery.objects.filter(
        event_id=submitted["id"], status="dead_lettered"
    ).exists()


def parked_flag(consumer: str, subject: str) -> bool:
    return ConsumerPosition.objects.get(consumer=consumer, subject=subject).parked


def test_an_in_order_event_with_nothing_parked_is_applied_without_a_lookup(stream):
    # given: the payment's first event applied, nothing parked
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    consume(consumer="ledger", envelope=stream(1), handlers=recorder.handlers)

    # when
    with CaptureQueriesContext(connection) as queries:
        consume(consumer="ledger", envelope=stream(2), handlers=recorder.handlers)

    # then: position, inbox row, position again and the delivery record; the
    # inbox is never read
    sql = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert not [s for s in sql if s.lstrip().upper().startswith("SELECT")]
    assert len(sql) == 4
    assert [seq for _, seq in recorder.calls] == [1, 2]
    assert parked_flag("ledger", stream.subject) is False


def test_parking_marks_the_position_and_the_last_release_clears_it(stream):
    # given: 3 and 5 park (4 still missing after 3)
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    events = {n: stream(n) for n in range(1, 6)}
    consume(consumer="ledger", envelope=events[1], handlers=recorder.handlers)
    consume(consumer="ledger", envelope=events[3], handlers=recorder.handlers)
    consume(consumer="ledger", envelope=events[5], handlers=recorder.handlers)
    assert parked_flag("ledger", stream.subject) is True

    # when: 2 releases 3 only; 5 still waits behind the gap at 4
    consume(consumer="ledger", envelope=events[2], handlers=recorder.handlers)

    # then
    assert position("ledger", stream.subject) == 3
    assert parked_flag("ledger", stream.subject) is True
    # and when 4 releases 5, nothing is parked any more
    consume(consumer="ledger", envelope=events[4], handlers=recorder.handlers)
    assert [seq for _, seq in recorder.calls] == [1, 2, 3, 4, 5]
    assert parked_flag("ledger", stream.subject) is False


def test_a_redriven_dead_letter_with_nothing_parked_becomes_the_applied_row(stream):
    # given: 1 applied, 2 dead-lettered, nothing parked behind it
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    events = {n: stream(n) for n in (1, 2)}
    consume(consumer="ledger", envelope=events[1], handlers=recorder.handlers)
    failure_record(
        consumer="ledger", envelope=events[2], error="RuntimeError: boom", final=True
    )

    # when: it is redriven (the fast path: no lookup of its dead-lettered row)
    outcome = consume(consumer="ledger", envelope=events[2], handlers=recorder.handlers)

    # then: the one inbox row of the event is now applied, its error cleared
    assert outcome == APPLIED
    [entry] = InboxEntry.objects.filter(consumer="ledger", event_id=events[2]["id"])
    assert (entry.status, entry.error) == (APPLIED, "")
    assert entry.applied_at is not None
    assert position("ledger", stream.subject) == 2


def test_the_migration_marks_positions_with_events_parked_at_the_time(stream):
    # given: a parked event whose position predates the flag (flag cleared)
    recorder = Recorder("PaymentSubmitted", "PaymentApproved")
    consume(consumer="ledger", envelope=stream(2), handlers=recorder.handlers)
    ConsumerPosition.objects.update(parked=False)

    # when
    parked_mark(django_apps, None)

    # then
    assert parked_flag("ledger", stream.subject) is True
