"""Every way out of a consumer's task: the effect committed, the message requeued,
or a copy in the dead-letter queue. Never acked away with nothing to show for it.

The task runs in-process as a worker would run it (not eager), against a private
filesystem broker; the RabbitMQ-specific guarantees (publisher confirms, the
broker's own dead-lettering) are at the end, in a private vhost.
"""

import contextlib
import time

import psycopg
import pytest
from celery.exceptions import Reject, Retry
from django.db import DataError, InternalError, OperationalError, connection
from kombu import Connection
from kombu.exceptions import OperationalError as KombuOperationalError

from events.db_errors import Fault, classify
from events.inbox import consume
from events.models import Delivery, DeliveryStatus, InboxEntry
from events.topology import (
    STREAM,
    consumer_queues,
    dead_letter_queue_name,
    partition_of,
    partition_queue_name,
    topology_declare,
)
from events.worker import broker_options, consume_waiting_for_database, consumer_app
from ledger.handlers import HANDLERS as LEDGER_HANDLERS
from tests.events.test_relay_rabbitmq import (
    RABBITMQ,
    rabbitmq_vhost,  # noqa: F401 - a session fixture shared with the relay's tests
)

pytestmark = pytest.mark.django_db


def django_error(django_class, psycopg_class, message="boom"):
    """A Django database error caused by psycopg's, as the ORM raises it."""
    error = django_class(message)
    error.__cause__ = psycopg_class(message)
    return error


READ_ONLY = (InternalError, psycopg.errors.ReadOnlySqlTransaction)
TOO_LONG = (DataError, psycopg.errors.StringDataRightTruncation)
STATEMENT_TIMEOUT = (OperationalError, psycopg.errors.QueryCanceled)
DEADLOCK = (OperationalError, psycopg.errors.DeadlockDetected)
SERVER_GONE = (OperationalError, psycopg.errors.AdminShutdown)


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr("events.worker.time.sleep", lambda seconds: None)


def run_as_worker(app, envelope: dict, retries: int = 0):
    """Run the task body as a worker's request would (retries publish, not recurse)."""
    task = app.tasks[STREAM]
    task.push_request(
        id=envelope["id"],
        args=[envelope],
        kwargs={},
        retries=retries,
        called_directly=False,
    )
    try:
        return task.run(envelope)
    finally:
        task.pop_request()


def failing_app(name: str = "ledger"):
    def fails(event):
        raise RuntimeError("the ledger is closed")

    return consumer_app(name, {("PaymentSubmitted", 1): fails})


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (READ_ONLY, Fault.UNAVAILABLE),
        (SERVER_GONE, Fault.UNAVAILABLE),
        ((OperationalError, psycopg.errors.CannotConnectNow), Fault.UNAVAILABLE),
        (DEADLOCK, Fault.CONFLICT),
        ((InternalError, psycopg.errors.SerializationFailure), Fault.CONFLICT),
        (TOO_LONG, Fault.EVENT),
        (STATEMENT_TIMEOUT, Fault.EVENT),
    ],
    ids=lambda value: value.name if isinstance(value, Fault) else value[1].__name__,
)
def test_database_errors_are_classified_by_sqlstate_not_by_class(error, fault):
    assert classify(django_error(*error)) is fault


def test_a_lost_connection_without_a_sqlstate_is_an_outage():
    assert classify(OperationalError("server closed the connection")) is (
        Fault.UNAVAILABLE
    )
    assert classify(RuntimeError("not a database error")) is None


def test_a_read_only_database_holds_the_event_instead_of_counting_an_attempt(
    settings, no_sleep
):
    # given: a failover window (the old primary is read-only), then writes work
    outcomes = [django_error(*READ_ONLY), django_error(*READ_ONLY), "applied"]

    def consume_call():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # when / then: held through the window, applied once it ends
    assert consume_waiting_for_database(consume_call) == "applied"
    assert outcomes == []


@pytest.mark.parametrize(
    "error", [TOO_LONG, STATEMENT_TIMEOUT], ids=["long", "timeout"]
)
def test_an_error_caused_by_the_event_is_raised_at_once_not_held(error, no_sleep):
    # given: a statement that fails because of what the event carries
    calls = []

    def consume_call():
        calls.append(1)
        raise django_error(*error)

    # when / then: no hold; the bounded retry path takes it
    with pytest.raises(type(django_error(*error))):
        consume_waiting_for_database(consume_call)
    assert calls == [1]


def test_a_deadlock_is_retried_in_place_a_bounded_number_of_times(settings, no_sleep):
    settings.CONSUMER_MAX_RETRIES = 2
    calls = []

    def consume_call():
        calls.append(1)
        raise django_error(*DEADLOCK)

    with pytest.raises(OperationalError):
        consume_waiting_for_database(consume_call)
    assert len(calls) == 3


def flaky(times: int, error: Exception, then):
    """A callable that raises `error` `times` times, then calls `then`."""
    calls = []

    def call(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise error
        return then(*args, **kwargs)

    call.calls = calls
    return call


def own_queue(envelope: dict) -> str:
    return partition_queue_name("ledger", partition_of(envelope["partitionkey"]))


@pytest.mark.django_db(transaction=True)
def test_a_failure_that_cannot_be_recorded_holds_the_event_until_it_can(
    broker, submitted, monkeypatch, no_sleep
):
    # given: a failing handler, and a database that is read-only for a while
    # when the failure is recorded (pooled connections on a former primary)
    from events.inbox import failure_record

    record = flaky(3, django_error(*READ_ONLY), failure_record)
    monkeypatch.setattr("events.worker.failure_record", record)

    # when
    with pytest.raises(Retry):
        run_as_worker(failing_app(), submitted)

    # then: held in place (never acked, never requeued) until the record was
    # written, then the retry went out as usual
    assert len(record.calls) == 4
    assert statuses(submitted) == [DeliveryStatus.FAILED]
    [retry] = broker.drain(own_queue(submitted))
    assert retry.headers["retries"] == 1


def test_a_retry_that_cannot_be_published_holds_the_original_until_it_can(
    broker, submitted, monkeypatch, no_sleep
):
    # given: the broker refuses the retry's publish twice (Celery alone would
    # reject the original without requeue, dropping it)
    app = failing_app()
    task = app.tasks[STREAM]
    publish = flaky(2, KombuOperationalError("connection reset"), task.apply_async)
    monkeypatch.setattr(task, "apply_async", publish)

    # when
    with pytest.raises(Retry):
        run_as_worker(app, submitted)

    # then: one retry in the event's own queue; the failure recorded once
    assert len(publish.calls) == 3
    assert broker.waiting() == {own_queue(submitted): 1}
    assert statuses(submitted) == [DeliveryStatus.FAILED]


def test_a_dead_letter_that_cannot_be_published_holds_the_event_until_it_can(
    broker, submitted, settings, monkeypatch, no_sleep
):
    # given: the last attempt fails and the dead-letter publish fails twice
    settings.CONSUMER_MAX_RETRIES = 0
    app = failing_app()
    real = app.producer_or_acquire
    attempts = []

    @contextlib.contextmanager
    def producer_refusing_twice(*args, **kwargs):
        attempts.append(1)
        if len(attempts) <= 2:
            raise KombuOperationalError("nacked by the broker")
        with real(*args, **kwargs) as producer:
            yield producer

    monkeypatch.setattr(app, "producer_or_acquire", producer_refusing_twice)

    # when
    outcome = run_as_worker(app, submitted)

    # then: never acked without a copy: the copy is in the dead-letter queue
    assert outcome == DeliveryStatus.DEAD_LETTERED
    assert len(attempts) == 3
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope["id"] == submitted["id"]


@pytest.mark.django_db(transaction=True)
def test_a_held_event_is_given_back_only_when_the_worker_stops(
    broker, submitted, monkeypatch, no_sleep
):
    # given: a database that stays read-only, and a worker asked to stop
    monkeypatch.setattr(
        "events.worker.failure_record",
        flaky(10**9, django_error(*READ_ONLY), None),
    )
    monkeypatch.setattr("events.worker.worker_state.should_stop", 0)

    # when / then: back to its queue (its consumer already cancelled), not acked
    with pytest.raises(Reject) as rejected:
        run_as_worker(failing_app(), submitted)
    assert rejected.value.requeue is True
    assert broker.waiting() == {}


def statuses(envelope: dict) -> list[str]:
    return list(
        Delivery.objects.filter(event_id=envelope["id"])
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_rabbitmq_publishes_of_a_worker_await_confirms():
    assert broker_options("amqp://guest:guest@127.0.0.1:5672//")["confirm_publish"]
    assert "confirm_publish" not in broker_options("filesystem://")


# --- against a real RabbitMQ ----------------------------------------------------


def poll(get, seconds: float = 5.0):
    """Dead-lettering is asynchronous in the broker: look until it shows."""
    deadline = time.monotonic() + seconds
    while (found := get()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture
def rabbit(rabbitmq_vhost, settings) -> str:  # noqa: F811 - the fixture above
    url = f"{RABBITMQ}/{rabbitmq_vhost}"
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    with Connection(url) as connection:
        channel = connection.default_channel
        for queue in consumer_queues("ledger"):
            channel.queue_delete(queue.name)
        topology_declare(channel, ["ledger"])
    return url


def test_rabbitmq_dead_letters_a_message_a_worker_rejects_without_requeue(rabbit):
    # given: an event in a ledger partition queue
    queue = partition_queue_name("ledger", 0)
    with Connection(rabbit) as connection:
        channel = connection.default_channel
        message = channel.prepare_message(b'{"id": "x"}')
        channel.basic_publish(message, exchange="", routing_key=queue)

        # when: a worker rejects it without requeue (a task that failed anyway)
        delivered = channel.basic_get(queue)
        channel.basic_reject(delivered.delivery_info["delivery_tag"], requeue=False)

        # then: the broker moved it to the dead-letter queue, not into the void
        dead = poll(
            lambda: channel.basic_get(dead_letter_queue_name("ledger"), no_ack=True)
        )
    assert dead is not None
    assert dead.body == b'{"id": "x"}'
    assert dead.headers["x-death"][0]["queue"] == queue


def test_rabbitmq_dead_letter_publish_is_confirmed(rabbit, submitted, settings):
    # given: a handler that fails on its last attempt
    settings.CONSUMER_MAX_RETRIES = 0
    app = failing_app()

    # when
    outcome = run_as_worker(app, submitted)

    # then: the copy is in the dead-letter queue, published on a confirm channel
    assert outcome == DeliveryStatus.DEAD_LETTERED
    with app.producer_or_acquire() as producer:
        assert producer.channel._confirm_selected is True
    with Connection(rabbit) as connection:
        channel = connection.default_channel
        dead = poll(
            lambda: channel.basic_get(dead_letter_queue_name("ledger"), no_ack=True)
        )
    assert dead is not None
    assert dead.headers["x-consumer"] == "ledger"
    entry = InboxEntry.objects.get(consumer="ledger", event_id=submitted["id"])
    assert entry.status == DeliveryStatus.DEAD_LETTERED


# --- against a real PostgreSQL ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_a_read_only_session_holds_the_event_until_writes_work(
    submitted, no_sleep
):
    # given: the worker's pooled session is on a read-only server (a failover)
    attempts = []

    def consume_call():
        attempts.append(1)
        if len(attempts) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        return consume(consumer="ledger", envelope=submitted, handlers=LEDGER_HANDLERS)

    # when
    outcome = consume_waiting_for_database(consume_call)

    # then: held, not counted as a failure; applied on a fresh session
    assert outcome == DeliveryStatus.APPLIED
    assert len(attempts) == 2
    assert InboxEntry.objects.get(event_id=submitted["id"]).status == "applied"
    assert not Delivery.objects.filter(status=DeliveryStatus.FAILED).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_a_statement_timeout_takes_the_bounded_retry_path(
    submitted, settings, no_sleep
):
    # given: a handler whose statement outlives the statement timeout
    settings.CONSUMER_DATABASE_WAIT_SECONDS = 60
    attempts = []

    def slow(event):
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '20ms'")
            cursor.execute("SELECT pg_sleep(1)")

    def consume_call():
        return consume(
            consumer="ledger",
            envelope=submitted,
            handlers={("PaymentSubmitted", 1): slow},
        )

    # when / then: raised at once (not held for a minute), nothing applied
    with pytest.raises(OperationalError):
        consume_waiting_for_database(consume_call)
    assert attempts == [1]
    assert not InboxEntry.objects.filter(event_id=submitted["id"]).exists()
