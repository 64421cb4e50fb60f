"""One Celery app per consumer: its queues, its dispatcher for the stream, its retries.

Each consumer registers its own task under the stream's name (`payments.events`)
in its own Celery app, so the message stays an event: the envelope says what
happened; each app decides what that means for it. See
docs/adr/0006-events-as-celery-messages.md.
"""

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import TypeVar

from celery import Celery, bootsteps
from celery.exceptions import Reject
from celery.worker import state as worker_state
from celery.worker.consumer import Consumer
from django.conf import settings
from django.db import DatabaseError, Error, close_old_connections, connection

from contracts.registry import ContractViolation, UnknownContract
from events.backoff import backoff_seconds
from events.beats import consumer_beat
from events.bursts import burst_strategy
from events.consumer_release import handlers_of_release
from events.db_errors import Fault, classify
from events.inbox import (
    Handlers,
    UnsupportedVersion,
    consume,
    failed_attempts,
    failure_record,
    parked_ready,
    positions_lock,
)
from events.messages import task_message
from events.metrics_server import heartbeat_beat
from events.models import ConsumerState, DeliveryStatus
from events.topology import (
    DEAD_LETTER_EXCHANGE,
    RETRY_EXCHANGE,
    STREAM,
    dead_letter_queue,
    is_rabbitmq,
    partition_bindings_declare,
    partition_of,
    partition_queue_name,
    partition_queues,
    retry_queue,
)
from events.traces import apply_traced
from events.worker_metrics import WorkerMetrics
from observability.cause import Cause, caused_by

logger = logging.getLogger("events.worker")
T = TypeVar("T")


def retry_delay(retries: int) -> float:
    """Return how long a consumer waits before retry number `retries` + 1, jittered."""
    return backoff_seconds(
        retries,
        base=settings.CONSUMER_RETRY_BACKOFF_SECONDS,
        cap=settings.CONSUMER_RETRY_BACKOFF_MAX_SECONDS,
    )


def _own_queue(consumer: str, envelope) -> str:
    """The partition queue this event belongs to, for retries that skip the fan-out."""
    key = envelope.get("partitionkey", "") if isinstance(envelope, dict) else ""
    return partition_queue_name(consumer, partition_of(str(key)))


# One publish attempt reconnects a few times before it gives up; `hold` then
# tries the whole step again, the event held: never a silent drop.
PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 2.0,
}


def worker_stopping() -> bool:
    """True once the worker was asked to stop (warm or cold shutdown)."""
    return (
        worker_state.should_stop is not None
        or worker_state.should_terminate is not None
    )


def hold(step: str, call: Callable[[], T], *, while_: Callable[[Exception], bool]) -> T:
    """Run `call` until it works, holding the message, unacked, at its queue's head.

    Why hold rather than give the message back (Reject with requeue): RabbitMQ
    may deliver the next message of the queue to a live consumer before the
    requeued one is back in place, so a requeue can reorder a partition (the
    fault run caught it; see docs/adr/0010-consumer-failure-paths.md). A held
    message keeps its place; if the worker dies meanwhile, the broker requeues
    it for a consumer that is not there yet, in order. Only when the worker is
    stopping (its consumers already cancelled) is the message given back.
    `while_(exc)` says whether an error is worth holding for; others raise.
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if not while_(exc):
                raise
            if worker_stopping():
                raise Reject(exc, requeue=True) from exc
            heartbeat_beat()  # holding on purpose is alive, not stuck
            if attempt % 30 == 0:
                logger.warning("could not %s (%s); holding the event", step, exc)
            if classify(exc) is not None:
                connection.close()
            time.sleep(min(2.0, retry_delay(attempt)))
            attempt += 1


def _database_busy(exc: Exception) -> bool:
    return classify(exc) in (Fault.UNAVAILABLE, Fault.CONFLICT)


def _always(exc: Exception) -> bool:
    return True


def record_or_hold(record: Callable[[], None]) -> None:
    """Write a failure's record, holding the event while the database cannot take it.

    A record the event itself makes impossible (garbage in a field) is given
    up on: the dead-letter queue or the retry still carries the event.
    """
    try:
        hold("record the failure", record, while_=_database_busy)
    except Reject:
        raise
    except Exception:
        logger.exception("the failure of an event for this consumer was not recorded")


def dead_letter(app: Celery, consumer: str, envelope, error: str) -> None:
    """Record the failure and put a confirmed copy in the consumer's dead-letter queue.

    Either step that fails is tried again, the message held (`hold`), so it is
    never acked away without a copy in the dead-letter queue.
    """
    record_or_hold(
        partial(
            failure_record,
            consumer=consumer,
            envelope=envelope,
            error=error,
            final=True,
        )
    )
    try:
        headers, properties, body = task_message(envelope)
    except (KeyError, TypeError):
        # Not an envelope at all: keep it byte for byte so it can be inspected.
        headers, properties = {"task": STREAM, "id": str(uuid.uuid4())}, {}
        body = json.dumps([[envelope], {}, {}], default=str).encode()
        properties = {"content_type": "application/json", "content_encoding": "utf-8"}
    headers["x-error"] = error[:1000]
    headers["x-consumer"] = consumer

    def publish() -> None:
        # Declared first, so the copy cannot be unroutable; on RabbitMQ the
        # publish waits for the broker's confirm (confirm_publish).
        with app.producer_or_acquire() as producer:
            producer.publish(
                body,
                exchange=DEAD_LETTER_EXCHANGE,
                routing_key=consumer,
                headers=headers,
                declare=[dead_letter_queue(consumer)],
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
                **properties,
            )

    hold("publish to the dead-letter queue", publish, while_=_always)
    logger.error("dead-lettered an event for %s: %s", consumer, error)


def redeliver_to_own_queue(app: Celery, consumer: str, envelope: dict) -> None:
    """Put an event back on this consumer's own partition queue (no fan-out)."""
    headers, properties, body = task_message(envelope)
    queue = _own_queue(consumer, envelope)
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="",
            routing_key=queue,
            headers=headers,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
            **properties,
        )


def retry_in_broker(
    app: Celery, consumer: str, envelope: dict, *, retries: int, headers=None
) -> None:
    """Publish retry number `retries` + 1 to wait in the consumer's retry queue.

    The broker dead-letters it to its partition queue when its wait is over
    (events.topology.retry_queue). Unlike a Celery countdown, nothing is held in
    the worker meanwhile, and it works on quorum queues, whose fixed prefetch
    a held countdown would block, and whose Celery delayed delivery cannot send
    to a queue by name (ADR 0020). Raises if the broker does not confirm it.
    """
    message_headers, properties, body = task_message(envelope, retries=retries + 1)
    if headers and headers.get("traceparent"):
        message_headers["traceparent"] = headers["traceparent"]
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange=RETRY_EXCHANGE,
            routing_key=_own_queue(consumer, envelope),
            headers=message_headers,
            expiration=retry_delay(retries),
            declare=[retry_queue(consumer)],
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
            **properties,
        )


def consume_waiting_for_database(consume_call) -> str:
    """Run one consume, waiting out a database outage with the message held.

    A database that is away or read-only (a failover) is not the event's fault,
    so it never counts as a failed attempt. Holding the unacked message, rather
    than re-publishing it behind later ones as a retry would (or requeueing it,
    which RabbitMQ may let the next message overtake), keeps the partition in
    order. Past CONSUMER_DATABASE_WAIT_SECONDS the worker says so at ERROR and
    holds on. A deadlock or serialization failure is tried again after a short
    pause, CONSUMER_MAX_RETRIES times. Anything else the database refuses (a value too
    long, a constraint, a statement timeout) is the event's fault and is
    raised: the bounded retry path. See events/db_errors.py.
    """
    started = time.monotonic()
    conflicts = 0
    alarmed = False

    def outage(exc: Exception) -> bool:
        nonlocal conflicts, alarmed
        fault = classify(exc)
        if fault is Fault.CONFLICT:
            conflicts += 1
            return conflicts <= settings.CONSUMER_MAX_RETRIES
        if fault is not Fault.UNAVAILABLE:
            return False
        waited = time.monotonic() - started
        if not alarmed and waited >= settings.CONSUMER_DATABASE_WAIT_SECONDS:
            alarmed = True
            logger.error("database unavailable for %.0f s; still holding", waited)
        return True

    return hold("reach the database", consume_call, while_=outage)


def release_parked(
    app: Celery,
    consumer: str,
    handlers: Handlers,
    consumes: Collection[str] | None = None,
) -> int:
    """Apply parked events whose gap has filled; return how many were released.

    The release normally happens in the transaction that fills the gap, and a
    successor whose handler fails there is re-sent to the queue after commit.
    A worker killed between that commit and the re-send leaves it parked with
    nothing on its way: this sweep finds it. A successor that keeps failing is
    dead-lettered after CONSUMER_MAX_RETRIES failed attempts, like any event;
    one no attempt can apply (a version this consumer cannot read, a broken
    contract) is dead-lettered at once, as the task does.
    """
    released = 0
    for entry in parked_ready(consumer, limit=settings.CONSUMER_PARKED_SWEEP_BATCH):
        try:
            consume(
                consumer=consumer,
                envelope=entry.envelope,
                handlers=handlers,
                consumes=consumes,
            )
            released += 1
        except Error as exc:
            if classify(exc) is not Fault.EVENT:
                raise  # the database is away: the next sweep tries again
            _sweep_failure(app, consumer, entry.envelope, exc)
        except Exception as exc:
            _sweep_failure(app, consumer, entry.envelope, exc)
    if released:
        logger.info("released %d parked events of %s", released, consumer)
    return released


def _sweep_failure(app: Celery, consumer: str, envelope: dict, exc: Exception) -> None:
    error = f"{exc.__class__.__name__}: {exc}"
    if isinstance(exc, UnsupportedVersion):
        error = str(exc)  # the reason the task gives it too: unsupported-version
    never = isinstance(exc, UnsupportedVersion | ContractViolation | UnknownContract)
    if never or (
        failed_attempts(consumer, envelope["id"]) >= settings.CONSUMER_MAX_RETRIES
    ):
        # A Reject means nothing was lost: the entry stays parked for next time.
        with contextlib.suppress(Reject):
            dead_letter(app, consumer, envelope, error)
        return
    failure_record(consumer=consumer, envelope=envelope, error=error, final=False)


class EventConsumer(Consumer):
    """Celery's worker consumer without its native delayed delivery.

    On quorum queues Celery would declare 28 delay queues and route countdowns
    through them by the original exchange; retries here wait in the consumer's
    own retry queue instead (retry_in_broker, ADR 0020).
    """

    class Blueprint(Consumer.Blueprint):
        default_steps = [
            step
            for step in Consumer.Blueprint.default_steps
            if not step.endswith(":DelayedDelivery")
        ]


class PauseSwitch(bootsteps.StartStopStep):
    """Poll the consumer's pause flag; stop or resume consuming its queues.

    A paused consumer leaves its events in the broker, which is the point of
    the lesson: the producer does not need the consumer to be online.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}
    interval = 1.0

    def __init__(self, parent, **kwargs):
        self.paused = False
        self.reads_up_to: dict = {}

    def start(self, parent):
        parent.timer.call_repeatedly(self.interval, self.check, (parent,), priority=10)

    def check(self, parent):
        name = parent.app.consumer_name
        try:
            close_old_connections()
            state = consumer_beat(name)
        except DatabaseError as exc:
            logger.warning("pause switch cannot read the database: %s", exc)
            return
        self.release_check(parent.app, state)
        if state.paused == self.paused:
            return
        self.paused = state.paused
        for queue in partition_queues(name):
            if self.paused:
                parent.cancel_task_queue(queue.name)
            else:
                parent.add_task_queue(queue.name)
        logger.info("%s %s", name, "paused" if self.paused else "resumed")

    def release_check(self, app: Celery, state: ConsumerState) -> None:
        # Demo mode only: the lab may make this worker an older release.
        reads_up_to = state.reads_up_to if settings.DEMO_MODE else {}
        if reads_up_to == self.reads_up_to:
            return
        self.reads_up_to = reads_up_to
        app.handlers_now = handlers_of_release(app.handlers_declared, reads_up_to)
        logger.info(
            "%s now reads %s",
            app.consumer_name,
            ", ".join(f"{t} up to v{v}" for t, v in reads_up_to.items())
            or "every version it declares",
        )


def periodic_guarded(job: Callable[[], object]) -> None:
    """Run a housekeeping job; a failure is logged and tried again next time."""
    try:
        close_old_connections()
        with caused_by(Cause.fresh()):  # what one run publishes, correlated
            job()
    except Exception:
        logger.exception("periodic job %s failed; will try again", job)


def broker_options(url: str) -> dict:
    """The consumer's broker options: on RabbitMQ, every publish awaits its confirm.

    A worker publishes retries, dead letters and re-sends of parked events; an
    unconfirmed publish followed by the ack of the original could lose both.
    """
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if is_rabbitmq(url):
        options["confirm_publish"] = True
    return options


def consumer_app(
    name: str,
    handlers: Handlers,
    periodic: Sequence[tuple[float, Callable[[], object]]] = (),
    consumes: Collection[str] | None = None,
) -> Celery:
    """Build the Celery app of one consumer, consuming only its partition queues.

    `consumes` names the event types it acts on (its declaration's; by default
    those of `handlers`): a version of one of them it cannot read is
    dead-lettered as `unsupported-version`, never applied.

    `periodic` lists (seconds, job) pairs the worker runs on its own timer, such
    as catching up on side effects an outage left undone; the sweep of parked
    events whose gap has filled always runs.
    """
    app = Celery(f"consumer.{name}")
    app.consumer_name = name
    # What the task applies with: the declared handlers, unless the lab made
    # this worker an older release (PauseSwitch.release_check, demo mode only).
    app.handlers_declared = app.handlers_now = handlers
    app.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        broker_transport_options=broker_options(settings.CELERY_BROKER_URL),
        broker_connection_retry_on_startup=True,
        task_queues=partition_queues(name),
        task_create_missing_queues=False,
        task_default_queue=partition_queue_name(name, 0),
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        # At least once: ack after the handler's transaction committed, and give
        # the message back if the worker process dies mid-task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # The task runs in the worker's own process, not a prefork child: when a
        # child dies, Celery requeues its message to a consumer still alive, and
        # RabbitMQ may then deliver the partition's next message first. A dead
        # worker is a dead consumer; the broker requeues its message in order.
        worker_pool="solo",
        worker_consumer="events.worker:EventConsumer",
        # A task that fails anyway (the failure path itself failed) is rejected
        # without requeue, which the broker dead-letters (see topology.py),
        # instead of being acked away.
        task_acks_on_failure=False,
        task_acks_on_timeout=False,
        # A worker that is behind is sent up to a burst of each partition's
        # messages, applied in one transaction (events/bursts.py); 1 turns
        # bursts off: one message, one transaction, as before.
        worker_prefetch_multiplier=settings.CONSUMER_BURST_SIZE,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts_level="INFO",
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    # Celery's Django fix-up closes the database connection around every task
    # unless told to reuse it; a new session per event was the worker's largest
    # cost. A broken connection is dropped by consume_waiting_for_database.
    app.conf["CELERY_DB_REUSE_MAX"] = settings.CONSUMER_DB_REUSE_MAX
    app.steps["consumer"].add(PauseSwitch)
    app.steps["consumer"].add(WorkerMetrics)
    jobs = [
        *periodic,
        (
            settings.CONSUMER_PARKED_SWEEP_SECONDS,
            lambda: release_parked(app, name, app.handlers_now, consumes),
        ),
    ]

    class Housekeeping(bootsteps.StartStopStep):
        requires = {"celery.worker.consumer.tasks:Tasks"}

        def start(self, parent):
            for seconds, job in jobs:
                parent.timer.call_repeatedly(
                    seconds, periodic_guarded, (job,), priority=20
                )

    app.steps["consumer"].add(Housekeeping)

    class Bindings(bootsteps.StartStopStep):
        """Bind the queues to every type they receive (Celery binds only one)."""

        requires = {"celery.worker.consumer.tasks:Tasks"}

        def start(self, parent):
            # On every (re)connection: a broker that lost its state gets the
            # bindings again before events are routed by them.
            partition_bindings_declare(parent.connection.default_channel, name)

    app.steps["consumer"].add(Bindings)

    def consume_for(envelope: dict, savepoint: bool = True, headers=None) -> str:
        return consume(
            consumer=name,
            envelope=envelope,
            handlers=app.handlers_now,
            consumes=consumes,
            on_stuck=partial(redeliver_to_own_queue, app, name),
            savepoint=savepoint,
        )

    # A CONSUMER span per event when tracing is on; consume_for itself if not.
    consume_for = apply_traced(name, consume_for)

    # On RabbitMQ a retry waits in the broker (ADR 0020); on the embedded broker,
    # which has no message TTL, it is a Celery countdown.
    retry_waits_in_broker = is_rabbitmq(settings.CELERY_BROKER_URL)
    burst = settings.CONSUMER_BURST_SIZE
    strategy = (
        partial(
            burst_strategy,
            size=burst,
            apply=consume_for,
            hold=consume_waiting_for_database,
            lock_ahead=partial(positions_lock, name),
        )
        if burst > 1
        else "celery.worker.strategy:default"
    )

    # shared=False: a shared task is added to every Celery app finalized later in
    # the process, so two consumers' apps would share one dispatcher.
    @app.task(name=STREAM, bind=True, max_retries=None, shared=False, Strategy=strategy)
    def payments_events_task(self, *args, **kwargs):
        # Any shape of message reaches the body, so a malformed one is
        # dead-lettered here instead of failing in Celery and being acked away.
        envelope = args[0] if len(args) == 1 and not kwargs else {"args": args}
        try:
            return consume_waiting_for_database(
                partial(consume_for, envelope, headers=self.request.headers)
            )
        except Reject:
            raise
        except UnsupportedVersion as exc:
            # No retry reads it either: dead-lettered, visible, redriven once
            # the consumer has learned the version.
            dead_letter(self.app, name, envelope, str(exc))
            return DeliveryStatus.DEAD_LETTERED
        except (ContractViolation, UnknownContract) as exc:
            # A message that breaks its contract will never succeed: no retries.
            dead_letter(self.app, name, envelope, f"contract: {exc}")
            return DeliveryStatus.DEAD_LETTERED
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            if self.request.retries >= settings.CONSUMER_MAX_RETRIES:
                dead_letter(self.app, name, envelope, error)
                return DeliveryStatus.DEAD_LETTERED
            record_or_hold(
                partial(
                    failure_record,
                    consumer=name,
                    envelope=envelope,
                    error=error,
                    final=False,
                )
            )
            if retry_waits_in_broker:
                # Confirmed before the original is acked (the task returns).
                hold(
                    "publish the retry",
                    partial(
                        retry_in_broker,
                        self.app,
                        name,
                        envelope,
                        retries=self.request.retries,
                        headers=self.request.headers,
                    ),
                    while_=_always,
                )
                return DeliveryStatus.FAILED
            # Celery rejects without requeue when the retry cannot be published,
            # which would drop the original as well: hold it until it can be.
            retry = hold(
                "publish the retry",
                partial(
                    self.retry,
                    exc=exc,
                    countdown=retry_delay(self.request.retries),
                    exchange="",
                    routing_key=_own_queue(name, envelope),
                    retry_policy=PUBLISH_RETRY_POLICY,
                    throw=False,
                ),
                while_=_always,
            )
            raise retry from exc

    return app
