"""Read a stack's partition queues straight from RabbitMQ, in queue order.

Consumed, not fetched with basic.get: a quorum queue with single active
consumer (the compose file's default) refuses basic.get. Declared with
no_declare, so the queue's arguments stay untouched.
"""

import json

from kombu import Connection, Consumer, Queue

IDLE_SECONDS = 1.0


def drained(url: str, queues: list[str]) -> list[dict]:
    """Take (and ack) every message of `queues`, one queue after the other."""
    envelopes: list[dict] = []
    with Connection(url) as conn:
        for name in queues:
            channel = conn.channel()

            def take(body, message) -> None:
                envelopes.append(json.loads(message.body)[0][0])
                message.ack()

            with Consumer(
                channel, queues=[Queue(name, no_declare=True)], callbacks=[take]
            ):
                while True:
                    try:
                        conn.drain_events(timeout=IDLE_SECONDS)
                    except TimeoutError:
                        break
            channel.close()
    return envelopes
