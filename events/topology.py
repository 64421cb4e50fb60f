"""The broker topology, in code: a topic exchange and partition queues per consumer.

One publish per event; the broker fans it out to every consumer through bindings,
so payments and the relay never know who consumes. See docs/lessons/fan-out.md.
"""

import zlib

from django.conf import settings
from kombu import Exchange, Queue

STREAM = "payments.events"
EXCHANGE = Exchange(STREAM, type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("payments.dead", type="direct", durable=True)
# The names, as templates: the functions below fill them in, and the AsyncAPI
# document (events/catalogue.py) shows them with the partition as a parameter.
ROUTING_KEY = "payments.{event_type}.{partition}"
PARTITION_QUEUE = "{consumer}.p{partition}"
DEAD_LETTER_QUEUE = "{consumer}.dead"


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


def partition_queues(consumer: str) -> list[Queue]:
    """Return the consumer's partition queues, each bound to its partition's events.

    Single active consumer: RabbitMQ delivers a queue to one worker at a time, so a
    partition is applied in order even when several workers of a consumer run.
    """
    return [
        Queue(
            partition_queue_name(consumer, n),
            exchange=EXCHANGE,
            routing_key=routing_key("*", n),
            durable=True,
            queue_arguments={
                "x-single-active-consumer": True,
                # A message a worker rejects without requeue (its failure path
                # failed too) is moved here by the broker, never dropped.
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                "x-dead-letter-routing-key": consumer,
            },
        )
        for n in range(settings.EVENT_PARTITIONS)
    ]


def dead_letter_queue(consumer: str) -> Queue:
    return Queue(
        dead_letter_queue_name(consumer),
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=consumer,
        durable=True,
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
    for consumer in consumers if consumers is not None else settings.EVENT_CONSUMERS:
        for queue in consumer_queues(consumer):
            queue(channel).declare()
