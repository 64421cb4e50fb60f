"""The wire format: an event travels as a Celery task message (protocol 2, JSON only).

The task name names the stream (`payments.events`), not a function to call: the
envelope says which event it is, and each consumer's own Celery app dispatches it.
See docs/adr/0006-events-as-celery-messages.md.
"""

import json
import os
import socket

from events.topology import STREAM

ORIGIN = f"relay@{socket.gethostname()}:{os.getpid()}"


def task_message(envelope: dict, *, retries: int = 0) -> tuple[dict, dict, bytes]:
    """Return (headers, properties, body) of the task message carrying the event."""
    event_id = envelope["id"]
    headers = {
        "lang": "py",
        "task": STREAM,
        "id": event_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": retries,
        "timelimit": [None, None],
        "root_id": event_id,
        "parent_id": None,
        "argsrepr": "({type} {subject}#{sequence})".format(**envelope),
        "kwargsrepr": "{}",
        "origin": ORIGIN,
        "ignore_result": True,
        # Copies of envelope fields, for broker tools that do not parse the body.
        "event_type": envelope["type"],
        "event_id": event_id,
    }
    properties = {
        "correlation_id": event_id,
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "message_id": event_id,
    }
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    body = json.dumps([[envelope], {}, embed], separators=(",", ":")).encode()
    return headers, properties, body
