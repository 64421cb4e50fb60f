"""Operator access to one consumer's queues: send straight to a queue, take out of one.

The relay publishes each event once to the stream exchange and the bindings fan
it out. The fault controls and `replay_events` need the opposite: reach ONE
consumer's queue without the others, which the default exchange ("", routing
key = queue name) does on RabbitMQ and on kombu's virtual transports alike.
See docs/lessons/fault-controls.md.
"""

import contextlib
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from amqp.exceptions import ResourceLocked
from django.conf import settings
from kombu import Connection
from kombu import Consumer as KombuConsumer
from kombu import Queue as KombuQueue

from events.messages import task_message
from events.publishers import BrokerUnavailable, Outgoing, publisher_for
from events.topology import topology_declare

# basic.get holds every taken message unacknowledged in memory until it is
# settled; past this many a queue is too long to handle in one request.
TAKE_LIMIT = 10_000
# Consuming a queue to take its messages stops after this long without one.
TAKE_WAIT_SECONDS = 2.0


def to_queue(envelope: dict, queue: str, *, row_id: int = 0) -> Outgoing:
    """Return the task message carrying `envelope`, addressed to one queue only."""
    headers, properties, body = task_message(envelope)
    return Outgoing(
        row_id=row_id,
        exchange="",
        routing_key=queue,
        headers=headers,
        properties=properties,
        body=body,
    )


def send(messages: Iterable[Outgoing], *, batch_size: int = 500) -> int:
    """Publish the messages in order, batch by batch; return how many went.

    On RabbitMQ every message is confirmed and `mandatory`, so a queue that does
    not exist is an error, not a silent drop. Raises BrokerUnavailable, saying
    how many were published before the failure.
    """
    publisher = None
    sent = 0
    iterator = iter(messages)
    try:
        while batch := list(itertools.islice(iterator, batch_size)):
            publisher = publisher or publisher_for(settings.CELERY_BROKER_URL)
            results = publisher.publish_batch(batch)
            failed = [error for error in results if error is not None]
            if failed:
                raise BrokerUnavailable(
                    f"{len(failed)} messages not published ({sent} were before "
                    f"them): {failed[0]}"
                )
            sent += len(batch)
    finally:
        if publisher is not None:
            publisher.close()
    return sent


@dataclass
class Taken:
    """A message taken from a queue, not yet acknowledged."""

    message: object  # kombu.Message
    envelope: dict | None

    @property
    def event_id(self) -> str | None:
        envelope = self.envelope or {}
        event_id = envelope.get("id") or (self.message.headers or {}).get("id")
        return str(event_id) if event_id else None

    def forward(self, queue: str, *, drop_headers: tuple[str, ...] = ()) -> Outgoing:
        """Return this very message (same body and headers) addressed to `queue`."""
        properties = self.message.properties or {}
        headers = {
            key: value
            for key, value in (self.message.headers or {}).items()
            if key not in drop_headers
        }
        kept = {
            "content_type": self.message.content_type or "application/json",
            "content_encoding": self.message.content_encoding or "utf-8",
            "delivery_mode": 2,
        }
        for name in ("message_id", "correlation_id"):
            if properties.get(name):
                kept[name] = properties[name]
        kept.setdefault("message_id", headers.get("id"))
        body = self.message.body
        return Outgoing(
            row_id=0,
            exchange="",
            routing_key=queue,
            headers=headers,
            properties=kept,
            body=body if isinstance(body, bytes) else body.encode(),
        )


def _envelope_of(body) -> dict | None:
    """Return the envelope inside a task message body, or None if it holds none."""
    try:
        args = json.loads(body)[0]
        envelope = args[0]
    except (ValueError, TypeError, LookupError):
        return None
    return envelope if isinstance(envelope, dict) else None


def _got(channel, queue: str) -> list[Taken]:
    source = KombuQueue(queue, no_declare=True)(channel)
    messages: list[Taken] = []
    while len(messages) < TAKE_LIMIT:
        message = source.get(no_ack=False, accept=["json"])
        if message is None:
            break
        messages.append(Taken(message, _envelope_of(message.body)))
    return messages


def _consumed(connection, queue: str) -> list[Taken]:
    """Take what `queue` holds now by consuming it, up to TAKE_LIMIT (basic.consume)."""
    channel = connection.channel()
    _, ready, _ = channel.queue_declare(queue=queue, passive=True)
    wanted = min(ready, TAKE_LIMIT)
    messages: list[Taken] = []
    if not wanted:
        return messages
    channel.basic_qos(0, wanted, False)
    source = KombuQueue(queue, no_declare=True)

    def taking(body, message) -> None:
        messages.append(Taken(message, _envelope_of(message.body)))

    with KombuConsumer(
        channel, queues=[source], callbacks=[taking], accept=["json"], no_ack=False
    ):
        while len(messages) < wanted:
            try:
                connection.drain_events(timeout=TAKE_WAIT_SECONDS)
            except TimeoutError:
                break  # another consumer is active: it keeps the rest
    return messages


@contextlib.contextmanager
def taken(queue: str) -> Iterator[list[Taken]]:
    """Take every message waiting in `queue`, oldest first, unacknowledged.

    The caller acknowledges each message it has dealt with (`message.ack()`)
    after republishing it; anything left unacknowledged goes back to the queue
    on the way out, also when the block raises. On RabbitMQ that is the usual
    at-least-once guarantee (a crash returns the messages); kombu's filesystem
    transport has no real acks, so there a crash mid-way loses what was taken
    (the outbox and replay_events recover it). Raises BrokerUnavailable.
    """
    connection = Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=5,
    )
    try:
        channel = connection.channel()
        # Declaring is idempotent; it makes sure the queue exists before basic.get,
        # which on RabbitMQ would otherwise close the channel with 404.
        topology_declare(channel)
        try:
            messages = _got(channel, queue)
        except ResourceLocked:
            # A quorum queue with single active consumer refuses basic.get (and
            # closed that channel): consume it instead, which works while its
            # worker is paused, its own consumer cancelled.
            messages = _consumed(connection, queue)
    except Exception as exc:
        connection.release()
        raise BrokerUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
    try:
        yield messages
    finally:
        with contextlib.suppress(Exception):  # the channel is gone: the broker requeues
            for item in messages:
                if not item.message.acknowledged:
                    item.message.requeue()
        connection.release()
