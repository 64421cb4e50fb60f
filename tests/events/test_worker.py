"""One Celery app per consumer: its settings, its dispatcher, retries and dead letters.

The task is run in-process (task.apply) only to check dispatch; the dead-letter
and retry messages it publishes land in a private filesystem broker, read back
from the consumer's queues. A real worker process is in test_worker_process.py.
"""

import uuid

import pytest
from celery.exceptions import Reject, Retry
from django.db import IntegrityError, InterfaceError, OperationalError

from events.bursts import burst_strategy
from events.models import Delivery, DeliveryStatus, InboxEntry
from events.topology import (
    STREAM,
    dead_letter_queue_name,
    partition_of,
    partition_queue_name,
)
from events.worker import (
    consume_waiting_for_database,
    consumer_app,
    periodic_guarded,
    retry_delay,
)
from ledger.handlers import HANDLERS as LEDGER_HANDLERS
from ledger.models import JournalEntry
from tests.events_builders import payment_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(acme, alice, bob) -> dict:
    return payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob
    ).envelope


@pytest.fixture
def fast_retries(settings):
    settings.CONSUMER_MAX_RETRIES = 1
    settings.CONSUMER_RETRY_BACKOFF_SECONDS = 0.01
    settings.CONSUMER_RETRY_BACKOFF_MAX_SECONDS = 0.01


def statuses(consumer: str, envelope) -> list[str]:
    return list(
        Delivery.objects.filter(consumer=consumer, event_id=envelope["id"])
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_the_consumer_app_acks_late_prefetches_a_burst_and_accepts_only_json(
    broker, settings
):
    # given
    settings.CONSUMER_BURST_SIZE = 20

    # when
    app = consumer_app("ledger", LEDGER_HANDLERS)

    # then
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    # a task that fails anyway is rejected into the dead-letter queue, not acked
    task = app.tasks[STREAM]
    assert task.acks_on_failure is False
    assert task.acks_on_timeout is False
    assert conf.worker_prefetch_multiplier == 20
    assert task.Strategy.func is burst_strategy
    assert task.Strategy.keywords["size"] == 20
    assert list(conf.accept_content) == ["json"]
    assert conf.task_serializer == "json"
    assert conf.broker_url == "filesystem://"
    queues = [queue.name for queue in conf.task_queues]
    assert queues == [
        partition_queue_name("ledger", n) for n in range(settings.EVENT_PARTITIONS)
    ]
    assert dead_letter_queue_name("ledger") not in queues
    assert all(
        queue.queue_arguments
        == {
            "x-single-active-consumer": True,
            "x-dead-letter-exchange": "payments.dead",
            "x-dead-letter-routing-key": "ledger",
        }
        for queue in conf.task_queues
    )
    assert STREAM in app.tasks


def test_a_burst_size_of_one_is_celerys_own_strategy_and_prefetch(broker, settings):
    # given
    settings.CONSUMER_BURST_SIZE = 1

    # when
    app = consumer_app("ledger", LEDGER_HANDLERS)

    # then
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.tasks[STREAM].Strategy == "celery.worker.strategy:default"


def test_each_consumer_app_dispatches_the_stream_to_its_own_handlers(
    broker, acme, alice, bob
):
    # given: two consumers registering the same task name in their own apps
    payment_id = uuid.uuid4()
    events = [
        payment_event(
            event_type,
            organisation=acme,
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
        ).envelope
        for event_type in ("PaymentSubmitted", "PaymentApproved")
    ]
    audited = []
    audit = consumer_app(
        "audit", {("PaymentSubmitted", 1): lambda e: audited.append(e.type)}
    )
    ledger = consumer_app("ledger", LEDGER_HANDLERS)

    # when: each app receives the whole stream
    outcomes = [
        app.tasks[STREAM].apply(args=[envelope]).get()
        for app in (audit, ledger)
        for envelope in events
    ]

    # then: each ran only its own handlers
    assert outcomes == [DeliveryStatus.APPLIED] * 4
    assert audited == ["PaymentSubmitted"]
    assert JournalEntry.objects.filter(payment_id=payment_id).count() == 1
    for consumer in ("audit", "ledger"):
        assert statuses(consumer, events[1]) == [DeliveryStatus.APPLIED]


def test_a_contract_violating_message_is_dead_lettered_at_once(broker, approved):
    # given: the amount is a string, which the contract forbids
    approved["data"]["amount"] = "12550"
    calls = []
    app = consumer_app("ledger", {("PaymentApproved", 1): calls.append})

    # when
    result = app.tasks[STREAM].apply(args=[approved])

    # then: no attempt at the handler, no retry; recorded and parked in ledger.dead
    assert result.get() == DeliveryStatus.DEAD_LETTERED
    assert calls == []
    assert statuses("ledger", approved) == [DeliveryStatus.DEAD_LETTERED]
    entry = InboxEntry.objects.get(consumer="ledger", event_id=approved["id"])
    assert entry.status == DeliveryStatus.DEAD_LETTERED
    assert "amount" in entry.error
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope == approved
    assert dead.headers["x-consumer"] == "ledger"
    assert dead.headers["x-error"].startswith("contract:")
    assert broker.waiting() == {}  # no retry was queued anywhere


def test_a_message_that_is_not_an_envelope_is_dead_lettered_byte_for_byte(broker):
    # given
    app = consumer_app("ledger", LEDGER_HANDLERS)
    garbage = {"not": "an envelope"}

    # when
    result = app.tasks[STREAM].apply(args=[garbage])

    # then
    assert result.get() == DeliveryStatus.DEAD_LETTERED
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope == garbage
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    "error",
    [RuntimeError("the ledger is closed"), IntegrityError("the ledger is closed")],
    ids=["bug", "constraint"],
)
def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    broker, submitted, fast_retries, error
):
    # given: a handler that always fails, also on a database constraint (which,
    # unlike a lost connection, is the event's fault and must not retry forever)
    attempts = []

    def always_fails(event):
        attempts.append(event.id)
        raise error

    app = consumer_app("ledger", {("PaymentSubmitted", 1): always_fails})

    # when
    result = app.tasks[STREAM].apply(args=[submitted])

    # then: the first attempt and CONSUMER_MAX_RETRIES=1 retry, then the DLQ
    assert result.get() == DeliveryStatus.DEAD_LETTERED
    assert len(attempts) == 2
    assert statuses("ledger", submitted) == [
        DeliveryStatus.FAILED,
        DeliveryStatus.DEAD_LETTERED,
    ]
    entry = InboxEntry.objects.get(consumer="ledger", event_id=submitted["id"])
    assert entry.status == DeliveryStatus.DEAD_LETTERED
    expected = f"{error.__class__.__name__}: the ledger is closed"
    assert entry.error == expected
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope == submitted
    assert dead.headers["x-error"] == expected


def test_a_handler_that_fails_once_is_applied_on_its_retry(
    broker, submitted, fast_retries
):
    # given
    attempts = []

    def fails_first(event):
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("deadlock, try again")

    app = consumer_app("ledger", {("PaymentSubmitted", 1): fails_first})

    # when
    result = app.tasks[STREAM].apply(args=[submitted])

    # then
    assert result.get() == DeliveryStatus.APPLIED
    assert len(attempts) == 2
    assert statuses("ledger", submitted) == [
        DeliveryStatus.FAILED,
        DeliveryStatus.APPLIED,
    ]
    assert broker.drain(dead_letter_queue_name("ledger")) == []


def test_a_retry_goes_back_to_the_consumers_own_partition_queue_only(
    broker, submitted, settings
):
    # given: a worker's (not eager) request, for a handler that fails
    def fails(event):
        raise RuntimeError("try again")

    settings.CONSUMER_MAX_RETRIES = 3
    app = consumer_app("ledger", {("PaymentSubmitted", 1): fails})
    task = app.tasks[STREAM]
    task.push_request(
        id=submitted["id"],
        args=[submitted],
        kwargs={},
        retries=0,
        called_directly=False,
    )

    # when
    try:
        with pytest.raises(Retry):
            task.run(submitted)
    finally:
        task.pop_request()

    # then: one new message, for the ledger only, in the event's partition queue
    own = partition_queue_name("ledger", partition_of(submitted["partitionkey"]))
    assert broker.waiting() == {own: 1}
    [retry] = broker.drain(own)
    assert retry.envelope == submitted
    assert retry.headers["retries"] == 1
    assert retry.headers["eta"] is not None
    assert statuses("ledger", submitted) == [DeliveryStatus.FAILED]


def test_retry_delay_backs_off_exponentially_with_jitter_and_a_cap(settings):
    # given
    settings.CONSUMER_RETRY_BACKOFF_SECONDS = 0.5
    settings.CONSUMER_RETRY_BACKOFF_MAX_SECONDS = 30

    # when
    delays = {retries: retry_delay(retries) for retries in (0, 1, 2, 3, 10, 40)}

    # then
    assert 0.25 <= delays[0] <= 0.5
    assert 0.5 <= delays[1] <= 1.0
    assert 1.0 <= delays[2] <= 2.0
    assert 2.0 <= delays[3] <= 4.0
    assert 15 <= delays[10] <= 30
    assert 15 <= delays[40] <= 30


def test_a_database_outage_holds_the_event_instead_of_retrying_it_behind_others(
    settings, monkeypatch
):
    # given: a database that fails twice, then answers
    monkeypatch.setattr("events.worker.time.sleep", lambda seconds: None)
    outcomes = [OperationalError("server closed"), InterfaceError("closed"), "applied"]

    def consume_call():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # when / then: the same delivery is applied once the database is back
    assert consume_waiting_for_database(consume_call) == "applied"
    assert outcomes == []


def test_an_outage_longer_than_the_wait_is_reported_and_the_event_still_held(
    settings, monkeypatch, caplog
):
    # given: no patience at all, and a database that stays away until the
    # worker is asked to stop
    settings.CONSUMER_DATABASE_WAIT_SECONDS = 0
    monkeypatch.setattr("events.worker.time.sleep", lambda seconds: None)
    attempts = []

    def consume_call():
        attempts.append(1)
        if len(attempts) == 50:
            monkeypatch.setattr("events.worker.worker_state.should_stop", 0)
        raise OperationalError("the database system is shutting down")

    # when / then: held (never acked, dead-lettered or requeued while running),
    # said at ERROR once, and given back only when the worker stops
    with pytest.raises(Reject) as rejected:
        consume_waiting_for_database(consume_call)
    assert rejected.value.requeue is True
    assert len(attempts) == 50
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "still holding" in errors[0].getMessage()


def test_housekeeping_jobs_run_on_the_workers_timer_and_survive_failures(caplog):
    # given: a consumer app with a periodic job
    calls = []
    app = consumer_app("ledger", LEDGER_HANDLERS, periodic=[(5.0, calls.append)])

    # then: the worker's consumer blueprint runs it
    assert any(step.__name__ == "Housekeeping" for step in app.steps["consumer"])

    # and: a failing job is logged, never raised into the worker's timer
    def broken():
        raise OperationalError("the database system is shutting down")

    periodic_guarded(broken)
    assert "periodic job" in caplog.text
