"""The flow view and the events API show each event's trace id, linked if asked."""

import pytest

from observability.tracing import tracer
from payments.services import payment_approve
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db


def test_the_flow_shows_the_trace_of_a_traced_event_and_links_it(
    spans, settings, alice, bob, acme_eur, browser_for
):
    # given: submitted untraced, approved inside a traced request
    settings.TRACING_UI_URL = "http://localhost:16686/trace/{trace_id}"
    payment = payment_submitted(by=alice, account=acme_eur)
    with tracer().start_as_current_span("POST approve") as request:
        payment_approve(payment_id=payment.id, actor=bob)
    trace_id = format(request.get_span_context().trace_id, "032x")

    # when
    flow = browser_for(alice).get(f"/payments/{payment.id}/flow.json").json()

    # then
    assert [e["trace_id"] for e in flow["events"]] == [None, trace_id]
    assert flow["tracing_ui_url"] == "http://localhost:16686/trace/{trace_id}"


def test_the_events_api_gives_each_events_trace_and_cause(
    spans, client_for, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    with tracer().start_as_current_span("POST approve") as request:
        client_for(bob).post(
            f"/api/v1/payments/{payment.id}/approve", HTTP_X_REQUEST_ID="req-9"
        )

    # when
    events = (
        client_for(alice).get(f"/api/v1/payments/{payment.id}/events").json()["results"]
    )

    # then
    approved = next(e for e in events if e["type"] == "PaymentApproved")
    assert approved["trace_id"] == format(request.get_span_context().trace_id, "032x")
    assert (approved["correlation_id"], approved["causation_id"]) == ("req-9", "req-9")
    submitted = next(e for e in events if e["type"] == "PaymentSubmitted")
    assert submitted["trace_id"] is None
