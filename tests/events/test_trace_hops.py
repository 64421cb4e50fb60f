"""One trace across the hops: producer (envelope), relay (header), consumer (span)."""

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from events.relay import relay_once
from events.topology import STREAM
from events.worker import consumer_app
from ledger.handlers import HANDLERS as LEDGER_HANDLERS
from observability.tracing import context_fields, tracer
from tests.events.conftest import outbox_event, queue_of
from tests.events.test_relay import Recording

pytestmark = pytest.mark.django_db


def _traceparent(span) -> str:
    # A finished span (as exported) is no live Span: carry its context only.
    return context_fields(trace.NonRecordingSpan(span.get_span_context()))[
        "traceparent"
    ]


def test_an_event_published_inside_a_span_carries_its_traceparent(spans, acme, alice):
    # when: one event published inside a span, one outside any
    with tracer().start_as_current_span("web request") as web:
        traced = outbox_event(organisation=acme, submitted_by=alice)
    untraced = outbox_event(organisation=acme, submitted_by=alice)

    # then: only the first carries the producer's context
    assert traced.envelope["traceparent"] == _traceparent(web)
    assert "traceparent" not in untraced.envelope
    assert "tracestate" not in traced.envelope  # none was set


def test_with_tracing_off_no_event_carries_a_traceparent(acme, alice):
    # given: tracing off (the default), even inside a span of some other tracer
    with trace.get_tracer("elsewhere").start_as_current_span("outer"):
        row = outbox_event(organisation=acme, submitted_by=alice)

    # then
    assert "traceparent" not in row.envelope


def test_the_relay_span_continues_the_envelopes_trace_and_travels_in_the_header(
    spans, broker, acme, alice
):
    # given: an event published inside the request's span
    with tracer().start_as_current_span("web request") as web:
        row = outbox_event(organisation=acme, submitted_by=alice)
    published_with = dict(row.envelope)

    # when
    relay = Recording()
    assert relay_once(publisher=relay) == 1

    # then: a PRODUCER span, child of the request's span, in the same trace
    [relay_span] = [s for s in spans.get_finished_spans() if s.name != "web request"]
    assert relay_span.name == "relay publish PaymentApproved"
    assert relay_span.kind is SpanKind.PRODUCER
    assert relay_span.parent.span_id == web.get_span_context().span_id
    assert relay_span.context.trace_id == web.get_span_context().trace_id
    assert relay_span.attributes["payments.event.id"] == str(row.event_id)
    # and: the message carries the relay's context; the envelope keeps the producer's
    [delivered] = broker.drain(queue_of("ledger", row))
    assert delivered.headers["traceparent"] == _traceparent(relay_span)
    assert delivered.envelope == published_with
    assert delivered.envelope["traceparent"] == _traceparent(web)


def test_a_consumer_applies_in_a_span_whose_parent_is_the_relays_and_says_the_outcome(
    spans, broker, submitted
):
    # given: a traced delivery (the relay's context in the message header)
    app = consumer_app("ledger", LEDGER_HANDLERS)
    with tracer().start_as_current_span("relay publish") as relay_span:
        header = _traceparent(relay_span)

    # when: delivered, then redelivered
    app.tasks[STREAM].apply(args=[submitted], headers={"traceparent": header}).get()
    app.tasks[STREAM].apply(args=[submitted], headers={"traceparent": header}).get()

    # then: two CONSUMER spans, children of the relay's span, with their outcomes
    applies = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert [s.name for s in applies] == ["ledger apply PaymentSubmitted"] * 2
    for span in applies:
        assert span.parent.span_id == relay_span.get_span_context().span_id
        assert span.context.trace_id == relay_span.get_span_context().trace_id
    first, again = (dict(s.attributes) for s in applies)
    assert first == {
        "payments.consumer": "ledger",
        "payments.event.id": submitted["id"],
        "payments.event.type": "PaymentSubmitted",
        "payments.event.dataschema": "/contracts/PaymentSubmitted/v1",
        "payments.event.subject": submitted["subject"],
        "payments.event.sequence": 1,
        "payments.inbox.outcome": "applied",
    }
    assert again["payments.inbox.outcome"] == "skipped_duplicate"


def test_without_a_header_the_consumer_span_continues_the_envelopes_trace(
    spans, broker, submitted
):
    # given: an envelope stamped by its producer, delivered with no header
    app = consumer_app("ledger", LEDGER_HANDLERS)
    with tracer().start_as_current_span("web request") as web:
        envelope = {**submitted, "traceparent": _traceparent(web)}

    # when
    app.tasks[STREAM].apply(args=[envelope]).get()

    # then
    [apply] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert apply.parent.span_id == web.get_span_context().span_id


def test_a_contract_violation_is_a_dead_lettered_apply_span(spans, broker, submitted):
    # given
    app = consumer_app("ledger", LEDGER_HANDLERS)
    broken = {**submitted, "data": {}}

    # when
    app.tasks[STREAM].apply(args=[broken]).get()

    # then: the span says so, with the error
    [apply] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert apply.attributes["payments.inbox.outcome"] == "dead_lettered"
    assert not apply.status.is_ok
