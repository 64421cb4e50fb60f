"""One Celery app per consumer: its queues, its dispatcher for the stream, its retries.

Each consumer registers its own task under the stream's name (`payments.events`)
in its own Celery app, so the message stays an event: the envelope says what
happened; each app decides what that means for it. See
docs/adr/0006-events-as-celery-messages.md.
"""

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial

from celery import Celery, bootsteps
from celery.exceptions import Reject
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.utils import timezone

from contracts.registry import ContractViolation, UnknownContract
from events.inbox import Handlers, consume, failure_record
from events.messages import task_message
from events.models import ConsumerState, DeliveryStatus
from events.topology import (
    DEAD_LETTER_EXCHANGE,
    STREAM,
    dead_letter_queue,
    partition_of,
    partition_queue_name,
    partition_queues,
)

logger = logging.getLogger("events.worker")


def retry_delay(retries: int) -> float:
    """Capped exponential backoff with jitter, in seconds."""
    ceiling = min(
        settings.CONSUMER_RETRY_BACKOFF_MAX_SECONDS,
        settings.CONSUMER_RETRY_BACKOFF_SECONDS * 2 ** min(retries, 20),
    )
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


def _own_queue(consumer: str, envelope) -> str:
    """The partition queue this event belongs to, for retries that skip the fan-out."""
    key = envelope.get("partitionkey", "") if isinstance(envelope, dict) else ""
    return partition_queue_name(consumer, partition_of(str(key)))


def dead_letter(app: Celery, consumer: str, envelope, error: str) -> None:
    """Record the failure and park the message in the consumer's dead-letter queue."""
    try:
        failure_record(consumer=consumer, envelope=envelope, error=error, final=True)
    except DatabaseError:
        logger.exception("could not record the dead letter of %s", consumer)
    try:
        headers, properties, body = task_message(envelope)
    except (KeyError, TypeError):
        # Not an envelope at all: keep it byte for byte so it can be inspected.
        headers, properties = {"task": STREAM, "id": str(uuid.uuid4())}, {}
        body = json.dumps([[envelope], {}, {}], default=str).encode()
        properties = {"content_type": "application/json", "content_encoding": "utf-8"}
    headers["x-error"] = error[:1000]
    headers["x-consumer"] = consumer
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange=DEAD_LETTER_EXCHANGE,
            routing_key=consumer,
            headers=headers,
            declare=[dead_letter_queue(consumer)],
            retry=True,
            **properties,
        )
    logger.error("dead-lettered an event for %s: %s", consumer, error)


def redeliver_to_own_queue(app: Celery, consumer: str, envelope: dict) -> None:
    """Put an event back on this consumer's own partition queue (no fan-out)."""
    headers, properties, body = task_message(envelope)
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="",
            routing_key=_own_queue(consumer, envelope),
            headers=headers,
            retry=True,
            **properties,
        )


def consume_waiting_for_database(consume_call) -> str:
    """Run one consume, waiting out a database outage with the message held.

    A lost database is not the event's fault, so it never counts as a failed
    attempt. Holding the unacked message, rather than re-publishing it behind
    later ones as a retry would, keeps the partition in order. After
    CONSUMER_DATABASE_WAIT_SECONDS the message goes back to the head of its queue.
    (An IntegrityError is the event's fault: it takes the bounded retry path.)
    """
    deadline = time.monotonic() + settings.CONSUMER_DATABASE_WAIT_SECONDS
    attempt = 0
    while True:
        try:
            return consume_call()
        except (OperationalError, InterfaceError) as exc:
            connection.close()
            if time.monotonic() >= deadline:
                raise Reject(exc, requeue=True) from exc
            logger.warning("database unavailable (%s); holding the event", exc)
            time.sleep(min(2.0, retry_delay(attempt)))
            attempt += 1


class PauseSwitch(bootsteps.StartStopStep):
    """Poll the consumer's pause flag; stop or resume consuming its queues.

    A paused consumer leaves its events in the broker, which is the point of
    the lesson: the producer does not need the consumer to be online.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}
    interval = 1.0

    def __init__(self, parent, **kwargs):
        self.paused = False

    def start(self, parent):
        parent.timer.call_repeatedly(self.interval, self.check, (parent,), priority=10)

    def check(self, parent):
        name = parent.app.consumer_name
        try:
            close_old_connections()
            state, _ = ConsumerState.objects.get_or_create(consumer=name)
            ConsumerState.objects.filter(pk=state.pk).update(
                heartbeat_at=timezone.now()
            )
        except DatabaseError as exc:
            logger.warning("pause switch cannot read the database: %s", exc)
            return
        if state.paused == self.paused:
            return
        self.paused = state.paused
        for queue in partition_queues(name):
            if self.paused:
                parent.cancel_task_queue(queue.name)
            else:
                parent.add_task_queue(queue.name)
        logger.info("%s %s", name, "paused" if self.paused else "resumed")


def periodic_guarded(job: Callable[[], object]) -> None:
    """Run a housekeeping job; a failure is logged and tried again next time."""
    try:
        close_old_connections()
        job()
    except Exception:
        logger.exception("periodic job %s failed; will try again", job)


def consumer_app(
    name: str,
    handlers: Handlers,
    periodic: Sequence[tuple[float, Callable[[], object]]] = (),
) -> Celery:
    """Build the Celery app of one consumer, consuming only its partition queues.

    `periodic` lists (seconds, job) pairs the worker runs on its own timer, such
    as catching up on side effects an outage left undone.
    """
    app = Celery(f"consumer.{name}")
    app.consumer_name = name
    app.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
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
        worker_prefetch_multiplier=1,
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
    if periodic:

        class Housekeeping(bootsteps.StartStopStep):
            requires = {"celery.worker.consumer.tasks:Tasks"}

            def start(self, parent):
                for seconds, job in periodic:
                    parent.timer.call_repeatedly(
                        seconds, periodic_guarded, (job,), priority=20
                    )

        app.steps["consumer"].add(Housekeeping)

    # shared=False: a shared task is added to every Celery app finalized later in
    # the process, so two consumers' apps would share one dispatcher.
    @app.task(name=STREAM, bind=True, max_retries=None, shared=False)
    def payments_events_task(self, *args, **kwargs):
        # Any shape of message reaches the body, so a malformed one is
        # dead-lettered here instead of failing in Celery and being acked away.
        envelope = args[0] if len(args) == 1 and not kwargs else {"args": args}
        try:
            return consume_waiting_for_database(
                partial(
                    consume,
                    consumer=name,
                    envelope=envelope,
                    handlers=handlers,
                    on_stuck=partial(redeliver_to_own_queue, self.app, name),
                )
            )
        except Reject:
            raise
        except (ContractViolation, UnknownContract) as exc:
            # A message that breaks its contract will never succeed: no retries.
            dead_letter(self.app, name, envelope, f"contract: {exc}")
            return DeliveryStatus.DEAD_LETTERED
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            if self.request.retries >= settings.CONSUMER_MAX_RETRIES:
                dead_letter(self.app, name, envelope, error)
                return DeliveryStatus.DEAD_LETTERED
            failure_record(consumer=name, envelope=envelope, error=error, final=False)
            raise self.retry(
                exc=exc,
                countdown=retry_delay(self.request.retries),
                exchange="",
                routing_key=_own_queue(name, envelope),
            ) from exc

    return app
