"""The broker topology, in code: a topic exchange and partition queues per consumer.

One publish per event; the broker fans it out to the consumers through bindings,
so payments and the relay never know who consumes. Each partition queue is bound
to the types of the streams its consumer reads (contracts/streams.py), so a
consumer receives whole subjects and nothing else. See docs/lessons/fan-out.md
and docs/adr/0019-bindings-per-stream.md.
"""

import zlib

from django.conf import settings
from kombu import Exchange, Queue

from contracts.streams import types_received

STREAM = "payments.events"
EXCHANGE = Exchange(STREAM, type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("payments.dead", type="direct", durable=True)
# A retry waits out its backoff in the consumer's retry queue, then the broker
# dead-letters it back to the partition queue it came from (ADR 0020).
RETRY_EXCHANGE = Exchange("payments.retry", type="topic", durable=True)
# The names, as templates: the functions below fill them in, and the AsyncAPI
# document (events/catalogue.py) shows them with the partition as a parameter.
ROUTING_KEY = "payments.{event_type}.{partition}"
PARTITION_QUEUE = "{consumer}.p{partition}"
DEAD_LETTER_QUEUE = "{consumer}.dead"
RETRY_QUEUE = "{consumer}.retry"

# Quorum queues dead-letter at most once by default: a message in flight to the
# dead-letter exchange when a node fails is gone. At least once needs the queue
# to refuse publishes when full rather than drop its oldest message.
QUORUM = {
    "x-queue-type": "quorum",
    "x-overflow": "reject-publish",
    "x-dead-letter-strategy": "at-least-once",
}


def partition_of(partition_key: str, partitions: int | None = None) -> int:
    """Return the stable partition of a key (crc32; hash() varies by process)."""
    count = partitions or settings.EVENT_PARTITIONS
    return zlib.crc32(partition_key.encode()) % count


def routing_key(event_type: str, partition: int) -> str:
    return ROUTING_KEY.format(event_type=event_type, partition=partition)


def partition_queue_name(consumer: str, partition: int) -> str:
    return PARTITION_QUEUE.format(consumer=consumer, partition=partition)


def dead_letter_queue_name(consumer: str) -> str:
    return DEAD_LETTER_QUEUE.format(consumer=consumer)


def retry_queue_name(consumer: str) -> str:
    return RETRY_QUEUE.format(consumer=consumer)


def queue_type_arguments() -> dict:
    """The arguments of EVENT_QUEUE_TYPE: none for classic queues."""
    return dict(QUORUM) if settings.EVENT_QUEUE_TYPE == "quorum" else {}


def received_types(consumer: str) -> frozenset[str] | None:
    """The event types the consumer's queues are bound to; None: every type.

    Every type of each stream it reads, whether or not it acts on the type, so
    each subject's sequence reaches it without a gap. A name no app declares
    (a queue an operator added in EVENT_CONSUMERS) receives every type.
    """
    from events.consumers import registry  # the declarations import the handlers

    for declared in registry():
        if declared.name == consumer:
            return types_received(declared.consumed_types)
    return None


def receives(consumer: str, event_type: str) -> bool:
    types = received_types(consumer)
    return types is None or event_type in types


def receivers(event_types, consumers=None) -> list[str]:
    """The consumers (of EVENT_CONSUMERS by default) bound to any of these types."""
    names = settings.EVENT_CONSUMERS if consumers is None else consumers
    return [name for name in names if any(receives(name, t) for t in event_types)]


def partition_routing_keys(consumer: str, partition: int) -> list[str]:
    """The routing keys the consumer's queue of this partition is bound to."""
    types = received_types(consumer)
    return [
        routing_key(event_type, partition)
        for event_type in (sorted(types) if types is not None else ["*"])
    ]


def partition_queues(consumer: str) -> list[Queue]:
    """Return the consumer's partition queues, bound to the first of their keys.

    The other keys are bound by topology_declare and partition_bindings_declare:
    kombu drops a queue's exchange when it is given several bindings, and Celery
    then gives it an exchange of its own making, which a retry would use.

    Single active consumer: RabbitMQ delivers a queue to one worker at a time, so a
    partition is applied in order even when several workers of a consumer run.
    """
    return [
        Queue(
            partition_queue_name(consumer, n),
            exchange=EXCHANGE,
            routing_key=partition_routing_keys(consumer, n)[0],
            durable=True,
            queue_arguments={
                **queue_type_arguments(),
                "x-single-active-consumer": True,
                # A message a worker rejects without requeue (its failure path
                # failed too) is moved here by the broker, never dropped.
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                "x-dead-letter-routing-key": consumer,
            },
        )
        for n in range(settings.EVENT_PARTITIONS)
    ]


def partition_bindings_declare(channel, consumer: str) -> None:
    """Bind the consumer's partition queues to every key; drop the old catch-all.

    Queues declared before docs/adr/0019-bindings-per-stream.md were bound to
    every type (`payments.*.<n>`). That binding is harmless while it stays (a
    queue gets one copy of a message however many of its bindings match), but
    it keeps sending the consumer types it does not read. RabbitMQ answers an
    unbind of a binding that is not there with success.
    """
    every_type = received_types(consumer) is None
    for n in range(settings.EVENT_PARTITIONS):
        queue = partition_queue_name(consumer, n)
        for key in partition_routing_keys(consumer, n):
            channel.queue_bind(queue=queue, exchange=EXCHANGE.name, routing_key=key)
        if not every_type:
            channel.queue_unbind(
                queue=queue, exchange=EXCHANGE.name, routing_key=routing_key("*", n)
            )


def dead_letter_queue(consumer: str) -> Queue:
    arguments = queue_type_arguments()
    arguments.pop("x-dead-letter-strategy", None)  # it has no dead-letter exchange
    return Queue(
        dead_letter_queue_name(consumer),
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=consumer,
        durable=True,
        queue_arguments=arguments or None,
    )


def retry_queue(consumer: str) -> Queue:
    """Where the consumer's retries wait: each for its own TTL (`expiration`).

    Always a quorum queue, whatever EVENT_QUEUE_TYPE says: only quorum queues
    dead-letter at least once, and a retry that expires is dead-lettered home
    through the default exchange by the routing key it was published with, its
    partition queue's name. One binding per consumer: `<consumer>.*` matches
    every partition, however many there are. A retry never returns sooner than
    its wait; it may return later, behind an earlier retry's longer wait, since
    a queue expires messages from its head (ADR 0020).
    """
    return Queue(
        retry_queue_name(consumer),
        exchange=RETRY_EXCHANGE,
        routing_key=f"{consumer}.*",
        durable=True,
        queue_arguments={**QUORUM, "x-dead-letter-exchange": ""},
    )


def consumer_queues(consumer: str) -> list[Queue]:
    return [*partition_queues(consumer), dead_letter_queue(consumer)]


def topology_declare(channel, consumers: list[str] | None = None) -> None:
    """Declare the exchanges and every consumer's queues; safe to repeat.

    The relay calls this at start too: a consumer that has never run still gets
    its queues, so events published before its first start wait for it.
    """
    EXCHANGE(channel).declare()
    DEAD_LETTER_EXCHANGE(channel).declare()
    # kombu's virtual transports (the embedded broker) have no TTL and no
    # dead-lettering: there a retry is a Celery countdown the worker holds.
    retries_wait_in_broker = _on_rabbitmq(channel)
    for consumer in consumers if consumers is not None else settings.EVENT_CONSUMERS:
        for queue in consumer_queues(consumer):
            queue(channel).declare()
        if retries_wait_in_broker:
            retry_queue(consumer)(channel).declare()
        partition_bindings_declare(channel, consumer)


def is_rabbitmq(url: str) -> bool:
    """True for a broker URL of kombu's AMQP transports, that is RabbitMQ."""
    return url.split("://", 1)[0] in {"amqp", "pyamqp", "amqps"}


def _on_rabbitmq(channel) -> bool:
    # The channel's own transport: a caller may declare on a broker other than
    # CELERY_BROKER_URL's.
    client = getattr(channel.connection, "client", None)
    return getattr(getattr(client, "transport", None), "driver_type", "") == "amqp"
