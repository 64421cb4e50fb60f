"""A burst of delivered events: one transaction, acks after it, failures one by one.

The strategy runs on a real kombu connection (the in-memory transport) with
messages as Celery publishes them, and applies through the real inbox
(events.inbox.consume) into the test database. Celery's own strategy, the
fallback, is replaced by a recorder: what it would do with a message is the
task's business, proved in test_worker.py and test_worker_process.py.
"""

import uuid
from functools import partial

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from kombu import Connection, Queue

from events.burst_reads import read_once
from events.bursts import BurstStrategy
from events.inbox import consume, positions_lock, rows_insert
from events.messages import task_message
from events.models import ConsumerPosition, Delivery, DeliveryStatus, InboxEntry
from events.worker import consume_waiting_for_database
from tests.events_builders import payment_event

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMER = "audit"


class Recorder:
    def __init__(self):
        self.calls: list[tuple] = []

    def handle(self, event) -> None:
        if event.data.get("reference") == "FAILS":
            raise ValueError("the handler refuses this one")
        # Which transaction applied it: the outermost atomic block (kept, so
        # that no later block can reuse its identity).
        self.calls.append((event.sequence, connection.atomic_blocks[0]))


class Worker:
    """What a burst needs of Celery's consumer: its connection and call_soon."""

    def __init__(self, kombu: Connection):
        self.connection = kombu
        self.connection_errors = kombu.connection_errors
        self.soon: list = []
        self.acked: list[str] = []
        self.fell_back: list[str] = []

    def call_soon(self, callback) -> None:
        self.soon.append(callback)

    def run_soon(self) -> None:
        while self.soon:
            self.soon.pop(0)()


@pytest.fixture
def kombu():
    with Connection("memory://") as conn:
        yield conn


@pytest.fixture
def queue(kombu):
    """A queue of its own: the in-memory broker lives as long as the process."""
    return Queue(f"audit.{uuid.uuid4().hex}", routing_key="audit.p0")


def publish(kombu: Connection, queue: Queue, envelope: dict, **headers) -> None:
    message_headers, properties, body = task_message(envelope)
    message_headers.update(headers)
    with kombu.Producer() as producer:
        producer.publish(
            body,
            routing_key=queue.name,
            headers=message_headers,
            declare=[queue],
            **properties,
        )


def strategy_on(
    worker: Worker, recorder: Recorder, *, size: int = 50, hold=None, lock_ahead=None
):
    def handle(event) -> None:
        recorder.handle(event)  # looked up per call: a test may swap it

    handlers = {("PaymentSubmitted", 1): handle, ("PaymentApproved", 1): handle}
    burst = BurstStrategy(
        worker,
        fallback=lambda message, *args, **kw: worker.fell_back.append(
            message.decode()[0][0]["id"]
        ),
        size=size,
        apply=lambda envelope, savepoint=True, headers=None: consume(
            consumer=CONSUMER, envelope=envelope, handlers=handlers, savepoint=savepoint
        ),
        hold=hold or consume_waiting_for_database,
        lock_ahead=lock_ahead,
    )

    def on_message(message):
        def ack(logger, errors):
            # Acked only after the burst committed: its rows are visible here.
            assert not connection.in_atomic_block
            worker.acked.append(message.decode()[0][0]["id"])
            message.ack()

        burst(message, None, ack, lambda *a: message.reject(), set())

    return on_message


def consume_queue(kombu, queue, on_message, worker: Worker) -> None:
    """Deliver messages as Celery's loop does: one, then what it scheduled; again."""
    with kombu.Consumer([queue], on_message=on_message, prefetch_count=100):
        while True:
            try:
                kombu.drain_events(timeout=0.2)
            except TimeoutError:
                return
            worker.run_soon()


def applied() -> list[int]:
    return list(
        InboxEntry.objects.filter(consumer=CONSUMER, status=DeliveryStatus.APPLIED)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )


def test_the_delivered_events_are_applied_in_one_transaction_then_acked(
    kombu, queue, stream
):
    # given: five events of a payment waiting in the queue
    envelopes = [stream(n) for n in range(1, 6)]
    for envelope in envelopes:
        publish(kombu, queue, envelope)
    worker, recorder = Worker(kombu), Recorder()

    # when
    consume_queue(kombu, queue, strategy_on(worker, recorder), worker)

    # then: every one applied, in order, by one transaction, and acked after it
    assert [sequence for sequence, _ in recorder.calls] == [1, 2, 3, 4, 5]
    assert len({id(transaction) for _, transaction in recorder.calls}) == 1
    assert applied() == [1, 2, 3, 4, 5]
    assert worker.acked == [e["id"] for e in envelopes]
    assert worker.fell_back == []
    assert kombu.default_channel.queue_declare(queue.name, passive=True)[1] == 0


def test_a_burst_takes_no_more_than_its_size(kombu, queue, stream):
    # given
    for n in range(1, 6):
        publish(kombu, queue, stream(n))
    worker, recorder = Worker(kombu), Recorder()

    # when: bursts of two
    consume_queue(kombu, queue, strategy_on(worker, recorder, size=2), worker)

    # then: three transactions, of two, two and one
    first, second, third, fourth, fifth = (t for _, t in recorder.calls)
    assert first is second and third is fourth
    assert len({id(first), id(third), id(fifth)}) == 3
    assert applied() == [1, 2, 3, 4, 5]


def test_an_event_that_fails_is_rolled_back_alone_and_left_to_the_task(
    kombu, queue, stream
):
    # given: the second of three events makes its handler raise
    first, failing, third = stream(1), stream(2, "FAILS"), stream(3)
    for envelope in (first, failing, third):
        publish(kombu, queue, envelope)
    worker, recorder = Worker(kombu), Recorder()

    # when
    consume_queue(kombu, queue, strategy_on(worker, recorder), worker)

    # then: the first applied; the third parked behind the gap (its inbox
    # row); only the failing one is handed to Celery's path, after the acks
    assert applied() == [1]
    assert InboxEntry.objects.get(event_id=third["id"]).status == DeliveryStatus.PARKED
    assert not InboxEntry.objects.filter(event_id=failing["id"]).exists()
    assert worker.acked == [first["id"], third["id"]]
    assert worker.fell_back == [failing["id"]]
    # and the records of what the burst kept, nothing of the failed attempt
    # (rolled back with it: the task records its own)
    assert list(
        Delivery.objects.filter(consumer=CONSUMER)
        .order_by("id")
        .values_list("event_id", "status")
    ) == [
        (uuid.UUID(first["id"]), DeliveryStatus.APPLIED),
        (uuid.UUID(third["id"]), DeliveryStatus.PARKED),
    ]


def test_a_retry_is_left_to_the_task_and_not_applied_in_the_burst(kombu, queue, stream):
    # given: a first delivery, then a retry of another event
    first, retried = stream(1), stream(2)
    publish(kombu, queue, first)
    publish(kombu, queue, retried, retries=1)
    worker, recorder = Worker(kombu), Recorder()

    # when
    consume_queue(kombu, queue, strategy_on(worker, recorder), worker)

    # then
    assert applied() == [1]
    assert worker.acked == [first["id"]]
    assert worker.fell_back == [retried["id"]]


def test_a_database_outage_mid_burst_rolls_it_all_back_and_holds_it(
    kombu, queue, stream, settings
):
    # given: the database goes away while the third event is applied, once
    settings.CONSUMER_RETRY_BACKOFF_SECONDS = 0.01
    envelopes = [stream(n) for n in range(1, 5)]
    for envelope in envelopes:
        publish(kombu, queue, envelope)
    worker, recorder = Worker(kombu), Recorder()
    attempts: list[int] = []

    def hold(call):
        def flaky():
            attempts.append(len(attempts) + 1)
            if len(attempts) == 1:
                handle = recorder.handle

                def outage(event):
                    if event.sequence == 3:
                        raise OperationalError("server closed the connection")
                    handle(event)

                recorder.handle = outage
                try:
                    return call()
                finally:
                    recorder.handle = handle
            return call()

        return consume_waiting_for_database(flaky)

    on_message = strategy_on(worker, recorder, hold=hold)

    # when
    consume_queue(kombu, queue, on_message, worker)

    # then: nothing of the first attempt stayed or was acked; the second applied
    # all four once, in one transaction, and only then were they acked
    assert attempts == [1, 2]
    assert applied() == [1, 2, 3, 4]
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == 4
    assert worker.acked == [e["id"] for e in envelopes]
    assert worker.fell_back == []


def test_a_burst_takes_no_savepoint_and_writes_each_kind_of_row_once(
    kombu, queue, stream
):
    # given: five events of one payment, in order
    for n in range(1, 6):
        publish(kombu, queue, stream(n))
    worker, recorder = Worker(kombu), Recorder()

    # when
    with CaptureQueriesContext(connection) as queries:
        consume_queue(kombu, queue, strategy_on(worker, recorder), worker)

    # then: no savepoint; one lock of the position, one insert of the inbox
    # rows, one update of the position, one insert of the delivery records
    statements = [q["sql"] for q in queries.captured_queries]

    def count(fragment: str) -> int:
        return len([sql for sql in statements if fragment in sql])

    assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()]
    assert count('INTO "events_consumerposition"') == 1
    assert count('INTO "events_inboxentry"') == 1
    assert count('UPDATE "events_consumerposition"') == 1
    assert count('INTO "events_delivery"') == 1
    assert (
        list(
            Delivery.objects.filter(consumer=CONSUMER)
            .order_by("id")
            .values_list("status", flat=True)
        )
        == [DeliveryStatus.APPLIED] * 5
    )
    assert applied() == [1, 2, 3, 4, 5]
    assert ConsumerPosition.objects.get(consumer=CONSUMER).last_sequence == 5


def test_a_copy_and_a_gap_filled_within_one_burst(kombu, queue, stream):
    # given: 1, then 3 (early), a second copy of 1, then 2
    events = {n: stream(n) for n in (1, 2, 3)}
    for n in (1, 3, 1, 2):
        publish(kombu, queue, events[n])
    worker, recorder = Worker(kombu), Recorder()

    # when: all four arrive in one burst
    consume_queue(kombu, queue, strategy_on(worker, recorder), worker)

    # then: the copy skipped, 3 parked then released by 2; nothing left parked
    assert [sequence for sequence, _ in recorder.calls] == [1, 2, 3]
    assert len({id(transaction) for _, transaction in recorder.calls}) == 1
    assert applied() == [1, 2, 3]
    position = ConsumerPosition.objects.get(consumer=CONSUMER)
    assert (position.last_sequence, position.parked) == (3, False)
    assert list(
        Delivery.objects.filter(consumer=CONSUMER, event_id=events[1]["id"])
        .order_by("id")
        .values_list("status", flat=True)
    ) == [DeliveryStatus.APPLIED, DeliveryStatus.SKIPPED_DUPLICATE]
    assert worker.fell_back == []


def test_a_burst_of_several_payments_locks_their_positions_in_one_statement(
    kombu, queue, acme, alice
):
    # given: the first events of five payments, and one position already there
    envelopes = [
        payment_event(
            "PaymentSubmitted", organisation=acme, submitted_by=alice
        ).envelope
        for _ in range(5)
    ]
    ConsumerPosition.objects.create(
        consumer=CONSUMER, subject=envelopes[2]["subject"], last_sequence=0
    )
    for envelope in envelopes:
        publish(kombu, queue, envelope)
    worker, recorder = Worker(kombu), Recorder()
    on_message = strategy_on(
        worker, recorder, lock_ahead=partial(positions_lock, CONSUMER)
    )

    # when
    with CaptureQueriesContext(connection) as queries:
        consume_queue(kombu, queue, on_message, worker)

    # then: one statement created or locked all five positions, and each event
    # was applied against its own
    upserts = [
        q["sql"]
        for q in queries.captured_queries
        if 'INTO "events_consumerposition"' in q["sql"]
    ]
    assert len(upserts) == 1
    assert worker.acked == [e["id"] for e in envelopes]
    positions = ConsumerPosition.objects.filter(consumer=CONSUMER)
    assert sorted(positions.values_list("subject", flat=True)) == sorted(
        e["subject"] for e in envelopes
    )
    assert set(positions.values_list("last_sequence", flat=True)) == {1}
    assert (
        InboxEntry.objects.filter(
            consumer=CONSUMER, status=DeliveryStatus.APPLIED
        ).count()
        == 5
    )


class EffectWriter(Recorder):
    """A handler whose effect is a new row nothing in the burst reads back: an
    inbox row of another consumer, which has a unique key to break."""

    def __init__(self):
        super().__init__()
        self.seen_before_commit: list[bool] = []

    def handle(self, event) -> None:
        super().handle(event)
        rows_insert([effect_row(event.id)])
        self.seen_before_commit.append(effect_rows().filter(event_id=event.id).exists())


def effect_row(event_id) -> InboxEntry:
    return InboxEntry(
        consumer=EFFECTS,
        event_id=event_id,
        event_type="PaymentSubmitted",
        subject="effect",
        sequence=1,
        partition_key="effect",
        status=DeliveryStatus.APPLIED,
        envelope={"effect": True},
    )


def effect_rows():
    return InboxEntry.objects.filter(consumer=EFFECTS)


EFFECTS = "audit-effects"


def test_a_handlers_new_rows_join_the_bursts_last_statement(kombu, queue, stream):
    # given: three events whose handler inserts a row each through rows_insert
    envelopes = [stream(n) for n in range(1, 4)]
    for envelope in envelopes:
        publish(kombu, queue, envelope)
    worker, writer = Worker(kombu), EffectWriter()

    # when
    with CaptureQueriesContext(connection) as queries:
        consume_queue(kombu, queue, strategy_on(worker, writer), worker)

    # then: no row was there while the burst ran; all three were written at its
    # end, on PostgreSQL by the one statement that wrote its own inbox rows
    assert writer.seen_before_commit == [False, False, False]
    assert sorted(str(e) for e in effect_rows().values_list("event_id", flat=True)) == (
        sorted(e["id"] for e in envelopes)
    )
    inbox_writes = [
        q["sql"]
        for q in queries.captured_queries
        if 'INTO "events_inboxentry"' in q["sql"]
    ]
    # (elsewhere the ORM's bulk inserts: one for the effects, one for the inbox)
    assert len(inbox_writes) == (1 if connection.vendor == "postgresql" else 2)
    assert applied() == [1, 2, 3]
    assert worker.acked == [e["id"] for e in envelopes]


def test_a_handlers_row_that_breaks_a_constraint_fails_the_burst_not_its_neighbours(
    kombu, queue, stream
):
    # given: the second event's effect row is there already (a unique key)
    first, clashing, third = stream(1), stream(2), stream(3)
    effect_row(clashing["id"]).save()
    for envelope in (first, clashing, third):
        publish(kombu, queue, envelope)
    worker, writer = Worker(kombu), EffectWriter()

    # when
    consume_queue(kombu, queue, strategy_on(worker, writer), worker)

    # then: the burst's last statement failed, so it ran again event by event,
    # each inserting at once in its savepoint: the first applied with its row,
    # the third parked behind the gap (not applied, so no row), the clashing
    # one left to the task
    assert applied() == [1]
    assert InboxEntry.objects.get(event_id=third["id"], consumer=CONSUMER).status == (
        DeliveryStatus.PARKED
    )
    assert worker.fell_back == [clashing["id"]]
    assert worker.acked == [first["id"], third["id"]]
    assert sorted(str(e) for e in effect_rows().values_list("event_id", flat=True)) == (
        sorted([first["id"], clashing["id"]])
    )


class SharedReader(Recorder):
    """Asks the same question for every event, as notifications asks who the
    approvers are; counts how often it is really asked."""

    def __init__(self):
        super().__init__()
        self.asked = 0
        self.answers: list[int] = []

    def handle(self, event) -> None:
        super().handle(event)
        self.answers.append(read_once("question", self._ask))

    def _ask(self) -> int:
        self.asked += 1
        return self.asked


def test_the_events_of_a_burst_share_a_read_and_the_next_burst_asks_again(
    kombu, queue, stream
):
    # given
    for n in range(1, 6):
        publish(kombu, queue, stream(n))
    worker, reader = Worker(kombu), SharedReader()

    # when: bursts of three and two
    consume_queue(kombu, queue, strategy_on(worker, reader, size=3), worker)

    # then: asked once per burst, each event of a burst given its burst's answer
    assert reader.answers == [1, 1, 1, 2, 2]
    assert applied() == [1, 2, 3, 4, 5]


def test_the_careful_pass_asks_afresh(kombu, queue, stream):
    # given: the second event fails, so the burst runs again event by event
    for envelope in (stream(1), stream(2, "FAILS"), stream(3)):
        publish(kombu, queue, envelope)
    worker, reader = Worker(kombu), SharedReader()

    # when
    consume_queue(kombu, queue, strategy_on(worker, reader), worker)

    # then: the first event was applied twice (its fast pass rolled back) and
    # the careful pass asked again rather than reuse the abandoned answer
    # (the failing one raises before it asks; the third is parked unhandled)
    assert reader.answers == [1, 2]
    assert applied() == [1]


def test_outside_a_burst_every_read_is_asked():
    answers = iter([1, 2])
    assert [read_once("question", lambda: next(answers)) for _ in range(2)] == [1, 2]
