"""After the faults: wait until the pipeline is quiet, and count what is left.

Drained means: no unpublished outbox row, every consumer has applied every
event, no message ready in any of the consumers' queues, and the delivery
history has stopped growing (injected duplicates are all consumed too).
Queue depths come from passive queue_declare on the run's vhost: it reports a
queue's ready messages without touching its arguments or contents.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from kombu import Connection

from bench.chaos.broker import BROKER_ERRORS, vhost_url
from bench.chaos.database import Connection as Database
from bench.chaos.database import Unavailable
from bench.chaos.processes import CONSUMERS
from events.topology import (
    dead_letter_queue_name,
    partition_queue_name,
    retry_queue_name,
)

QUIET_SECONDS = 3.0


def consumer_queues() -> dict[str, list[str]]:
    """Each consumer's partition queues, its retry queue and its dead-letter queue."""
    return {
        consumer: [
            *(
                partition_queue_name(consumer, n)
                for n in range(settings.EVENT_PARTITIONS)
            ),
            retry_queue_name(consumer),
            dead_letter_queue_name(consumer),
        ]
        for consumer in CONSUMERS
    }


def queue_depths(vhost: str) -> dict[str, dict]:
    """{queue: {"messages": ready, "consumers": n}} for every consumer queue."""
    depths = {}
    with Connection(vhost_url(vhost), connect_timeout=5) as conn:
        for queues in consumer_queues().values():
            for name in queues:
                channel = conn.channel()
                try:
                    _, messages, consumers = channel.queue_declare(
                        queue=name, passive=True
                    )
                    depths[name] = {"messages": messages, "consumers": consumers}
                finally:
                    # A passive declare of a missing queue closes the channel.
                    channel.close()
    return depths


def pipeline_state(db: Database) -> dict:
    unpublished, events = db.rows(
        "SELECT count(*) FILTER (WHERE published_at IS NULL), count(*)"
        " FROM events_outboxmessage"
    )[0]
    applied = dict(
        db.rows(
            "SELECT consumer, count(*) FROM events_inboxentry"
            " WHERE status = 'applied' GROUP BY consumer"
        )
    )
    deliveries = db.rows("SELECT count(*) FROM events_delivery")[0][0]
    return {
        "unpublished": unpublished,
        "events": events,
        "applied": {c: applied.get(c, 0) for c in CONSUMERS},
        "deliveries": deliveries,
    }


@dataclass
class Drain:
    drained: bool
    seconds: float  # from the call (the heal) until quiet, or the timeout
    state: dict
    depths: dict


def drain_wait(db: Database, vhost: str, timeout: float, say=print) -> Drain:
    """Wait for quiescence; report how long it took after the heal."""
    start = time.monotonic()
    quiet_since = None
    last_deliveries = None
    state: dict = {}
    depths: dict = {}
    last_said = 0.0
    while True:
        now = time.monotonic()
        try:
            state = pipeline_state(db)
            depths = queue_depths(vhost)
        except (Unavailable, *BROKER_ERRORS) as exc:
            state, depths = {"error": str(exc)}, {}
        else:
            ready = sum(q["messages"] for q in depths.values())
            caught_up = state["unpublished"] == 0 and all(
                n == state["events"] for n in state["applied"].values()
            )
            if caught_up and ready == 0 and state["deliveries"] == last_deliveries:
                quiet_since = quiet_since or now
                if now - quiet_since >= QUIET_SECONDS:
                    return Drain(True, quiet_since - start, state, depths)
            else:
                quiet_since = None
            last_deliveries = state["deliveries"]
            if now - last_said >= 10:
                say(
                    f"  draining: {state['unpublished']} unpublished, applied "
                    f"{state['applied']} of {state['events']}, {ready} ready"
                )
                last_said = now
        if now - start > timeout:
            return Drain(False, now - start, state, depths)
        time.sleep(0.5)


UNSENT_EMAILS = (
    "SELECT count(*) FROM notifications_notification n"
    " JOIN auth_user u ON u.id = n.recipient_id"
    " WHERE n.email_sent_at IS NULL AND u.email <> ''"
)


def emails_wait(db: Database, timeout: float) -> float:
    """Wait until every e-mail with an address was sent; return the seconds.

    After the events drained: a killed mailer's claimed e-mails go out only
    once their claim ran out (NOTIFICATION_EMAIL_CLAIM_SECONDS) and a poll
    found them (NOTIFICATION_EMAIL_SWEEP_SECONDS).
    """
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if db.rows(UNSENT_EMAILS)[0][0] == 0:
                break
        except Unavailable:
            pass
        time.sleep(0.5)
    return time.monotonic() - start
