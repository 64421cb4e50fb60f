"""Build CloudEvents-style envelopes: the one shape every event travels in.

See docs/lessons/commands-vs-events.md for why an event is a past-tense fact.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from contracts.registry import dataschema_uri, parse_dataschema


def envelope_build(
    *,
    event_type: str,
    version: int,
    source: str,
    subject: str,
    partition_key: str,
    sequence: int,
    data: dict,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
) -> dict:
    """Return the envelope as plain JSON-ready data (no pickle anywhere)."""
    return {
        "specversion": "1.0",
        "id": str(event_id or uuid.uuid4()),
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": (time or timezone.now()).isoformat(),
        "datacontenttype": "application/json",
        "dataschema": dataschema_uri(event_type, version),
        "partitionkey": partition_key,
        "sequence": sequence,
        "correlationid": correlation_id,
        "causationid": causation_id,
        "data": data,
    }


@dataclass(frozen=True)
class Event:
    """A received event, as consumer handlers see it (parsed from its envelope)."""

    id: str
    type: str
    version: int
    source: str
    subject: str
    partition_key: str
    sequence: int
    time: str
    data: dict
    envelope: dict

    @classmethod
    def from_envelope(cls, envelope: dict) -> "Event":
        """Parse a validated envelope (see contracts.registry.validate)."""
        _, version = parse_dataschema(envelope["dataschema"])
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            version=version,
            source=envelope["source"],
            subject=envelope["subject"],
            partition_key=envelope["partitionkey"],
            sequence=envelope["sequence"],
            time=envelope["time"],
            data=envelope["data"],
            envelope=envelope,
        )
