"""Duplicate deliveries on purpose: republish events the relay already published.

A copy goes to the stream exchange exactly as the relay sends it (the same task
message, routing key and partition), so every consumer receives it again and
must skip it. The choice follows Jepsen's TigerBeetle idempotence workload:
half the copies come from the most recent 1024 events (a retry soon after the
original, possibly still queued behind it), half from anywhere in the history.
Only published events are copied: a copy of an unpublished one would overtake
the relay's original, which is a reordering the harness caused, not the app.
"""

import random
from collections import Counter
from dataclasses import dataclass, field

from kombu import Connection, Producer

from bench.chaos.broker import vhost_url
from bench.chaos.database import Connection as Database
from events.messages import task_message
from events.topology import EXCHANGE, partition_of, routing_key

RECENT = 1024


@dataclass
class Injector:
    vhost: str
    database: Database
    rng: random.Random
    copies: Counter = field(default_factory=Counter)  # event id -> copies published

    @property
    def total(self) -> int:
        return sum(self.copies.values())

    def _pick(self, count: int) -> list[tuple]:
        recent = self.database.rows(
            "SELECT event_id, event_type, partition_key, envelope FROM ("
            "  SELECT * FROM events_outboxmessage WHERE published_at IS NOT NULL"
            "  ORDER BY id DESC LIMIT %s) AS recent ORDER BY random() LIMIT %s",
            (RECENT, count - count // 2),
        )
        anywhere = self.database.rows(
            "SELECT event_id, event_type, partition_key, envelope "
            "FROM events_outboxmessage WHERE published_at IS NOT NULL "
            "ORDER BY random() LIMIT %s",
            (count // 2,),
        )
        return recent + anywhere

    def inject(self, count: int) -> int:
        """Publish `count` events once more (1 to 3 copies each); return copies sent.

        Publisher confirms are on, so a copy counts only once the broker has it.
        """
        rows = self._pick(count)
        sent = 0
        with Connection(
            vhost_url(self.vhost),
            connect_timeout=5,
            transport_options={"confirm_publish": True},
        ) as conn:
            producer = Producer(conn.default_channel)
            for event_id, event_type, partition_key, envelope in rows:
                headers, properties, body = task_message(envelope)
                for _ in range(self.rng.randint(1, 3)):
                    producer.publish(
                        body,
                        exchange=EXCHANGE.name,
                        routing_key=routing_key(
                            event_type, partition_of(partition_key)
                        ),
                        headers=headers,
                        mandatory=True,
                        **properties,
                    )
                    self.copies[str(event_id)] += 1
                    sent += 1
        return sent
