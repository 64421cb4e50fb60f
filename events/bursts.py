"""Apply a burst of delivered events in one transaction, then ack them all.

A consumer's largest cost per event was its own commit (and Celery's work
around one task). With a prefetch window of CONSUMER_BURST_SIZE, the broker
hands a worker that is behind several of its partitions' messages at once. This
task strategy takes every message already delivered (it never waits for more:
an idle consumer applies a lone event at once) and applies them in one
transaction, each through the inbox as before (applied, skipped as a
duplicate, or parked), their delivery records written in one statement. The
acks follow the commit. See docs/adr/0017-consumer-bursts.md.

Anything that is not a plain first delivery, or that fails inside the burst,
goes through Celery's own strategy afterwards, one message at a time: the
task's retry, dead-letter and hold paths stay the only failure paths. A
database that is away fails the whole burst, which is held and tried again,
its messages unacked, as a single delivery is.
"""

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from celery.exceptions import Reject
from celery.worker.strategy import default as default_strategy
from django.db import Error, transaction

from events.burst_reads import reads_shared
from events.db_errors import Fault, classify
from events.inbox import deliveries_deferred, writes_deferred
from events.topology import STREAM

logger = logging.getLogger("events.worker")


@dataclass
class Delivered:
    """One message as the consumer handed it to the strategy."""

    message: object
    body: object
    ack: Callable[[], object]
    reject: Callable[..., object]
    callbacks: object
    extra: dict = field(default_factory=dict)
    envelope: dict | None = None

    def hand_to(self, strategy: Callable) -> None:
        strategy(
            self.message, self.body, self.ack, self.reject, self.callbacks, **self.extra
        )


def first_delivery_envelope(message) -> dict | None:
    """The envelope of a plain first delivery of the stream's task, else None.

    A retry (it carries its count and a countdown) or a message of another shape
    is left to Celery's strategy, which knows how to wait for it or refuse it.
    """
    headers = getattr(message, "headers", None) or {}
    if headers.get("task") != STREAM or headers.get("eta") or headers.get("retries"):
        return None
    try:
        args, kwargs, _embed = message.decode()
    except Exception:
        return None
    if len(args) != 1 or kwargs or not isinstance(args[0], dict):
        return None
    return args[0]


def burst_strategy(
    task, app, consumer, *, size: int, apply, hold, lock_ahead=None, **kwargs
):
    """The task's Strategy (Celery builds one per worker consumer)."""
    return BurstStrategy(
        consumer,
        fallback=default_strategy(task, app, consumer, **kwargs),
        size=size,
        apply=apply,
        hold=hold,
        lock_ahead=lock_ahead,
    )


class BurstStrategy:
    """Celery task strategy: a burst of first deliveries per transaction.

    `consumer` is the worker's (its `connection` and `call_soon`); `fallback`
    is Celery's own strategy, for what the burst does not take; `apply(envelope)`
    applies one event (events.worker's consume_for); `hold(call)` runs a call,
    holding the messages through a database outage
    (events.worker.consume_waiting_for_database); `lock_ahead(subjects)`, if
    given, locks the burst's positions in one statement before its events run
    (events.inbox.positions_lock).
    """

    def __init__(self, consumer, *, fallback, size: int, apply, hold, lock_ahead=None):
        self.fallback = fallback
        self.consumer = consumer
        self.size = size
        self.apply_one = apply
        self.hold = hold
        self.lock_ahead = lock_ahead
        self.buffer: list[Delivered] = []
        self.scheduled = False
        self.flushing = False

    def __call__(self, message, body, ack, reject, callbacks, **extra):
        self.buffer.append(Delivered(message, body, ack, reject, callbacks, extra))
        if self.flushing:
            return  # the running flush drains the connection: it takes this one
        if len(self.buffer) >= self.size:
            self.flush()
        elif not self.scheduled:
            # After the consumer's current read: by then, more may have arrived.
            self.scheduled = True
            self.consumer.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if self.flushing or not self.buffer:
            return
        self.flushing = True
        try:
            self._drain_delivered()
            burst, self.buffer = self.buffer, []
            self._run(burst)
        finally:
            self.flushing = False

    def _drain_delivered(self) -> None:
        """Take the messages the broker already sent, without waiting for more."""
        connection = self.consumer.connection
        while len(self.buffer) < self.size:
            try:
                connection.drain_events(timeout=0)
            except TimeoutError:
                return
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    return
                raise

    def _run(self, burst: list[Delivered]) -> None:
        for item in burst:
            item.envelope = first_delivery_envelope(item.message)
        runnable = [item for item in burst if item.envelope is not None]
        outcomes: dict[int, str | None] = {}
        if runnable:
            try:
                try:
                    outcomes = self.hold(lambda: self._fast(runnable))
                except _EventFailed:
                    # Rolled back whole: again, each event in its savepoint.
                    outcomes = self.hold(lambda: self._careful(runnable))
            except Reject as exc:
                # The worker is stopping during an outage: give them all back.
                for item in burst:
                    item.reject(logger, self.consumer.connection_errors, exc.requeue)
                return
            except Exception:
                logger.exception("a burst of %d failed; one at a time", len(runnable))
                outcomes = {}
        for item in burst:
            if outcomes.get(id(item)) is not None:
                # As celery.worker.request.Request.acknowledge calls it.
                item.ack(logger, self.consumer.connection_errors)
        for item in burst:
            if outcomes.get(id(item)) is None:
                item.hand_to(self.fallback)

    def _fast(self, runnable: list[Delivered]) -> dict[int, str | None]:
        """Apply every event with no savepoints: two statements fewer each, and
        its inbox rows, positions and delivery records written once each.

        The usual case: nothing fails. An event that does fail leaves the
        transaction unusable, so the whole burst is rolled back (_EventFailed)
        and run again by _careful.
        """
        outcomes: dict[int, str | None] = {}
        try:
            with transaction.atomic(), writes_deferred(), reads_shared():
                if self.lock_ahead is not None:
                    self.lock_ahead([item.envelope.get("subject") for item in runnable])
                for item in runnable:
                    outcomes[id(item)] = self.apply_one(
                        item.envelope, savepoint=False, headers=item.message.headers
                    )
        except Exception as exc:
            # An event's handler, or the burst's last statement (its rows and
            # its handlers': a duplicate, a value too long): which event's
            # fault it was is found event by event.
            if _database_not_event(exc):
                raise  # the whole burst waits for the database
            raise _EventFailed from exc
        return outcomes

    def _careful(self, runnable: list[Delivered]) -> dict[int, str | None]:
        """Apply each event in its savepoint; None marks one left for the task."""
        outcomes: dict[int, str | None] = {}
        with transaction.atomic(), deliveries_deferred() as records, reads_shared():
            for item in runnable:
                kept = len(records)
                try:
                    outcomes[id(item)] = self.apply_one(
                        item.envelope, headers=item.message.headers
                    )
                except Exception as exc:
                    if _database_not_event(exc):
                        raise  # the whole burst waits for the database
                    del records[kept:]  # rolled back with the event's savepoint
                    logger.info(
                        "event %s left to the task: %r", item.envelope.get("id"), exc
                    )
                    outcomes[id(item)] = None
        return outcomes


class _EventFailed(Exception):
    """An event failed in a burst's fast pass; the burst is run carefully."""


def _database_not_event(exc: Exception) -> bool:
    return isinstance(exc, Error) and classify(exc) is not Fault.EVENT
