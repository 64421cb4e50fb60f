"""Spans of an event's hops: the trace context travels with the event.

The envelope's `traceparent` is the producer's context (the REST request or
the consumer that published it): stored with the event, never rewritten. The
relay publishes each row in a PRODUCER span that continues it and puts its own
context in the message's headers; each consumer applies the event in a
CONSUMER span whose parent is that header (else the envelope's). So one
approval is one trace across web, the relay and every consumer.
See docs/adr/0018-trace-context-travels.md.

Every function here first asks whether tracing is on and otherwise does
nothing: the relay and the consumers are the hot paths.
"""

from collections.abc import Callable

from opentelemetry.trace import SpanKind, Status, StatusCode

from contracts.registry import ContractViolation, UnknownContract
from events.inbox import UnsupportedVersion
from observability.tracing import context_fields, context_from, state

OUTCOME = "payments.inbox.outcome"


def envelope_trace_add(envelope: dict) -> None:
    """Stamp the current trace context on a new envelope (nothing when untraced)."""
    if state.tracer is not None:
        envelope.update(context_fields())


def _event_attributes(envelope: dict) -> dict:
    return {
        "payments.event.id": str(envelope.get("id")),
        "payments.event.type": str(envelope.get("type")),
        "payments.event.dataschema": str(envelope.get("dataschema")),
        "payments.event.subject": str(envelope.get("subject")),
        "payments.event.sequence": int(envelope.get("sequence") or 0),
    }


def relay_send_traced(publisher, sends: list):
    """publisher.send(messages) of `sends` [(row, Outgoing)], one PRODUCER span each.

    Each span continues the trace in its row's envelope and travels in the
    message's `traceparent` header; relay_settle_traced ends it with the
    broker's answer. Returns (Sent, spans).
    """
    messages = [message for _, message in sends]
    if state.tracer is None:
        return publisher.send(messages), []
    spans = []
    for row, message in sends:
        envelope = row.envelope
        span = state.tracer.start_span(
            f"relay publish {envelope.get('type')}",
            context=context_from(envelope),
            kind=SpanKind.PRODUCER,
            attributes={
                **_event_attributes(envelope),
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "send",
                "messaging.destination.name": message.exchange,
                "messaging.rabbitmq.destination.routing_key": message.routing_key,
            },
        )
        message.headers.update(context_fields(span))
        spans.append(span)
    try:
        return publisher.send(messages), spans
    except Exception as exc:
        _spans_fail(spans, exc)
        raise


def relay_settle_traced(publisher, sent, spans: list) -> list:
    """publisher.settle(sent), ending each span of relay_send_traced with its answer."""
    try:
        results = publisher.settle(sent)
    except Exception as exc:
        _spans_fail(spans, exc)
        raise
    if not spans:  # untraced
        return results
    for span, error in zip(spans, results, strict=True):
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
    return results


def _spans_fail(spans: list, exc: Exception) -> None:
    for span in spans:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.end()


def apply_traced(consumer: str, apply: Callable[..., str]) -> Callable[..., str]:
    """`apply(envelope, savepoint=..)` as the consumer runs it, in a CONSUMER span.

    Returns `apply` itself when tracing is off (decided once, when the worker's
    app is built), so an untraced worker pays not even a call. The span's parent
    is the message's traceparent header (the relay's span), else the envelope's;
    `headers` is any mapping with .get (message headers, a Celery request).
    """
    if state.tracer is None:
        return apply

    def traced(envelope, savepoint: bool = True, headers=None) -> str:
        envelope_ok = isinstance(envelope, dict)
        with state.tracer.start_as_current_span(
            f"{consumer} apply {envelope.get('type') if envelope_ok else 'message'}",
            context=context_from(headers, envelope if envelope_ok else None),
            kind=SpanKind.CONSUMER,
            attributes={
                "payments.consumer": consumer,
                **(_event_attributes(envelope) if envelope_ok else {}),
            },
            record_exception=True,
            set_status_on_exception=True,
        ) as span:
            try:
                outcome = apply(envelope, savepoint=savepoint)
            except Exception as exc:
                # The task retries it, or dead-letters it at once when no retry
                # can help (a broken contract, an unreadable version).
                span.set_attribute(OUTCOME, _failure_outcome(exc))
                raise
            span.set_attribute(OUTCOME, str(outcome))
            return outcome

    return traced


def _failure_outcome(exc: Exception) -> str:
    never = (ContractViolation, UnknownContract, UnsupportedVersion)
    return "dead_lettered" if isinstance(exc, never) else "failed"
