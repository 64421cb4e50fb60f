"""Publishers for the relay: RabbitMQ with batched confirms, or any kombu transport.

RabbitMQ: every message is published `mandatory` (an unroutable event is an
error, not a success) and the relay waits for the broker's confirms of the whole
batch at once; confirming one message at a time costs about five times as much.
See docs/lessons/relay.md.
"""

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import NoReturn

import amqp
from django.conf import settings
from kombu import Connection, Producer

from events.topology import is_rabbitmq, topology_declare

logger = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker cannot be reached or dropped us mid-batch; retry later."""


@dataclass(frozen=True)
class Outgoing:
    """One message to publish: the row it came from and what goes on the wire."""

    row_id: int
    exchange: str
    routing_key: str
    headers: dict
    properties: dict
    body: bytes


@dataclass
class Sent:
    """A batch written to the broker; `results` hold once it is settled.

    Per message: None (confirmed) or the error. Until settled, `pending` maps
    each outstanding delivery tag to its message's index.
    """

    messages: list[Outgoing]
    results: list[str | None]
    pending: dict[int, int] = field(default_factory=dict)
    returned: set[str] = field(default_factory=set)


class SettledOnSend:
    """For transports where a write is the confirm: send() settles at once.

    Subclasses implement publish_batch(messages) -> results; the relay's
    pipeline calls send() then settle(), as it does with RabbitMQ.
    """

    def send(self, messages: list[Outgoing]) -> Sent:
        return Sent(messages, self.publish_batch(messages))

    def settle(self, sent: Sent) -> list[str | None]:
        return sent.results


class AmqpPublisher:
    """Publish through py-amqp's channel with publisher confirms and basic.return.

    send() writes a batch without waiting; settle() waits for its confirms.
    Between the two the relay does its database work (events/relay.py), so
    the broker's confirm round trip and the database's overlap. One batch is
    outstanding at a time.
    """

    def __init__(self, url: str):
        self.url = url
        self.connection: Connection | None = None

    def connect(self) -> None:
        self.close()
        connection = Connection(self.url, connect_timeout=5, heartbeat=0)
        try:
            connection.connect()
            channel = connection.default_channel
            topology_declare(channel)
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
        except Exception as exc:
            connection.release()
            raise BrokerUnavailable(str(exc)) from exc
        self.connection, self.channel = connection, channel
        self._next_tag = 1

    def _on_ack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, None)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, "nacked by the broker")

    def _settle(self, tag: int, multiple: bool, error: str | None) -> None:
        sent = self._sent
        tags = [t for t in sent.pending if t <= tag] if multiple else [tag]
        for settled in tags:
            if settled in sent.pending:
                sent.results[sent.pending.pop(settled)] = error

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        # RabbitMQ sends basic.return before the ack of an unroutable message.
        self._sent.returned.add(message.properties.get("message_id"))

    def send(self, messages: list[Outgoing]) -> Sent:
        """Write every message (mandatory, confirmed later); wait for nothing."""
        if self.connection is None:
            self.connect()
        sent = self._sent = Sent(messages, ["no confirm"] * len(messages))
        try:
            for index, out in enumerate(messages):
                message = amqp.Message(
                    out.body, application_headers=out.headers, **out.properties
                )
                self.channel.basic_publish(
                    message, exchange=out.exchange, routing_key=out.routing_key,
                    mandatory=True,
                )  # fmt: skip
                sent.pending[self._next_tag] = index
                self._next_tag += 1
        except Exception as exc:
            self._drop(exc)
        return sent

    def settle(self, sent: Sent) -> list[str | None]:
        """Await every confirm of `sent`; return per message None (ok) or an error."""
        deadline = time.monotonic() + settings.RELAY_CONFIRM_TIMEOUT_SECONDS
        try:
            while sent.pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("publisher confirms timed out")
                self.connection.drain_events(timeout=remaining)
        except Exception as exc:
            self._drop(exc)
        for index, out in enumerate(sent.messages):
            if out.properties.get("message_id") in sent.returned:
                sent.results[index] = (
                    f"unroutable: no queue bound for {out.routing_key}"
                )
        return sent.results

    def publish_batch(self, messages: list[Outgoing]) -> list[str | None]:
        """Publish and await every confirm; return per message None (ok) or an error."""
        return self.settle(self.send(messages))

    def _drop(self, exc: Exception) -> NoReturn:
        # The channel's state is unknown: drop it; unconfirmed rows stay pending.
        self.close()
        raise BrokerUnavailable(f"{exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # already broken; nothing to save
                self.connection.release()
        self.connection = None


class KombuPublisher(SettledOnSend):
    """Any other kombu transport (the embedded filesystem one): a write confirms."""

    def __init__(self, url: str):
        self.url = url
        self.connection: Connection | None = None
        self._last_ms = 0

    def connect(self) -> None:
        self.close()
        connection = Connection(
            self.url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
        )
        try:
            channel = connection.default_channel
            # A virtual transport learns the exchange's type only from a declare in
            # this process; undeclared, it would route as direct and drop the event.
            topology_declare(channel)
        except Exception as exc:
            connection.release()
            raise BrokerUnavailable(str(exc)) from exc
        self.connection = connection
        self.producer = Producer(channel)

    def _next_millisecond(self) -> None:
        # The filesystem transport names a message file round(monotonic() * 1000)
        # then a random id, and reads files in name order: two stamped in the same
        # millisecond could swap. Wait until the stamp is past the one the previous
        # publish may have used (taken after it returned, with the same rounding).
        while round(time.monotonic() * 1000) <= self._last_ms:
            time.sleep(0.0002)

    def publish_batch(self, messages: list[Outgoing]) -> list[str | None]:
        if self.connection is None:
            self.connect()
        results: list[str | None] = []
        try:
            for out in messages:
                self._next_millisecond()
                self.producer.publish(
                    out.body,
                    exchange=out.exchange,
                    routing_key=out.routing_key,
                    headers=out.headers,
                    **out.properties,
                )
                self._last_ms = round(time.monotonic() * 1000)
                results.append(None)
        except Exception as exc:
            # The transport failed, not a message: no row's attempts are used
            # up. Rows written before the failure go again (duplicates, which
            # consumers skip) rather than count the transport against the rest.
            self.close()
            raise BrokerUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
        return results

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # already broken; nothing to save
                self.connection.release()
        self.connection = None


def publisher_for(url: str):
    """Return the publisher that suits the broker URL."""
    if is_rabbitmq(url):
        return AmqpPublisher(url)
    return KombuPublisher(url)
