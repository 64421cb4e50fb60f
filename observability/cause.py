"""Why an event is published: the correlation and causation ids publish() stamps.

An event caused by a REST command carries that request's id as both; one
published while a consumer applies another event is caused by that event and
inherits its correlation id (or takes its id, when it had none). A periodic job
or a management command is its own cause: a fresh id per run. Set by the
request middleware (observability/request_id.py), the inbox's apply path and the
job runners; read by events.outbox.publish. See
docs/lessons/correlation-and-causation.md.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cause:
    correlation_id: str
    causation_id: str
    # The event being applied and by whom, when that is the cause: for logs.
    event_id: str | None = None
    subject: str | None = None
    consumer: str | None = None

    @classmethod
    def fresh(cls) -> "Cause":
        """A command or a job run that starts its own story."""
        run_id = str(uuid.uuid4())
        return cls(correlation_id=run_id, causation_id=run_id)

    @classmethod
    def of_event(cls, consumer: str, envelope: dict) -> "Cause":
        event_id = envelope["id"]
        return cls(
            correlation_id=envelope.get("correlationid") or event_id,
            causation_id=event_id,
            event_id=event_id,
            subject=envelope.get("subject"),
            consumer=consumer,
        )


_cause: ContextVar[Cause | None] = ContextVar("cause", default=None)


def cause_current() -> Cause | None:
    return _cause.get()


@contextmanager
def caused_by(cause: Cause) -> Iterator[Cause]:
    """Everything published in the block is caused by `cause`."""
    token = _cause.set(cause)
    try:
        yield cause
    finally:
        _cause.reset(token)
