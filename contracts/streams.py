"""Which stream each event type belongs to: the subjects its events have.

A consumer keeps one position per subject and needs every event of a subject,
or it would park behind a gap that never fills. A stream is the set of types
that share subjects: a payment's own events (`<payment id>`), its release
(`<payment id>/release`), its settlement (`<payment id>/settlement`), a
statement line (`settlement-file/<file id>/line/<n>`), a settlement file
(`settlement-file/<file id>`). The broker binds each consumer's queues to
every type of each stream it reads (events/topology.py), so it receives whole
subjects and never a type of a stream it does not read. publish() refuses an
event whose subject is not of its type's stream (events/outbox.py), and
`check_contracts` fails for a type without a stream.
See docs/adr/0019-bindings-per-stream.md and docs/lessons/fan-out.md.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class SubjectOutsideStream(ValueError):
    """An event's subject is not one its type's stream has."""


@dataclass(frozen=True)
class Stream:
    """Event types whose events share subjects, and the shape of those subjects."""

    name: str
    subject: re.Pattern
    types: tuple[str, ...]


STREAMS = (
    Stream(
        "payment",
        re.compile(rf"{UUID}"),
        ("PaymentSubmitted", "PaymentApproved", "PaymentRejected", "PaymentCancelled"),
    ),
    Stream("payment-release", re.compile(rf"{UUID}/release"), ("PaymentReleased",)),
    Stream(
        "payment-settlement", re.compile(rf"{UUID}/settlement"), ("PaymentSettled",)
    ),
    Stream(
        "statement-line",
        re.compile(rf"settlement-file/{UUID}/line/[0-9]+"),
        ("SettlementMismatchDetected",),
    ),
    Stream(
        "settlement-file",
        re.compile(rf"settlement-file/{UUID}"),
        ("SettlementFileReceived", "SettlementFileReprocessRequested"),
    ),
)
_BY_TYPE = {event_type: stream for stream in STREAMS for event_type in stream.types}


def stream_of(event_type: str) -> Stream:
    """The stream of a type; LookupError for a type no stream declares."""
    try:
        return _BY_TYPE[event_type]
    except KeyError:
        raise LookupError(
            f"{event_type} belongs to no stream (declare it in contracts/streams.py)"
        ) from None


def types_received(consumed: Iterable[str]) -> frozenset[str]:
    """Every type of the streams the consumed types belong to.

    A type no stream declares is received alone (check_contracts flags it).
    """
    received: set[str] = set()
    for event_type in consumed:
        stream = _BY_TYPE.get(event_type)
        received.update(stream.types if stream else (event_type,))
    return frozenset(received)


def subject_check(event_type: str, subject: str) -> None:
    """Raise SubjectOutsideStream unless the subject is one of the type's stream."""
    stream = _BY_TYPE.get(event_type)
    if stream is not None and not stream.subject.fullmatch(subject):
        raise SubjectOutsideStream(
            f"{event_type} belongs to the stream {stream.name!r}, whose subjects "
            f"look like {stream.subject.pattern!r}; got {subject!r}"
        )
