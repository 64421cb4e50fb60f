"""GET /api/v1/payments/{id}/events shows what each consumer did with each event."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.inbox import consume, failure_record
from tests.assertions import assert_problem
from tests.events.api.conftest import approved_payment

pytestmark = pytest.mark.django_db


def events_of(client, payment) -> list[dict]:
    response = client.get(f"/api/v1/payments/{payment.id}/events")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_each_event_lists_every_consumers_deliveries_oldest_first(
    alice, bob, acme_eur, client_for
):
    # given: ledger applies both events and then gets a duplicate; notifications
    # gets the approval first (parked), then the submission; reconciliation
    # fails once on the submission
    payment, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    consume(consumer="ledger", envelope=submitted.envelope, handlers={})
    consume(consumer="ledger", envelope=approved.envelope, handlers={})
    consume(consumer="ledger", envelope=approved.envelope, handlers={})
    consume(consumer="notifications", envelope=approved.envelope, handlers={})
    consume(consumer="notifications", envelope=submitted.envelope, handlers={})
    failure_record(
        consumer="reconciliation",
        envelope=submitted.envelope,
        error="OperationalError: database is locked",
        final=False,
    )
    # when
    events = events_of(client_for(alice), payment)
    # then
    assert [e["type"] for e in events] == ["PaymentSubmitted", "PaymentApproved"]

    def seen(event):
        return [(d["consumer"], d["status"]) for d in event["deliveries"]]

    assert seen(events[0]) == [
        ("ledger", "applied"),
        ("notifications", "applied"),
        ("reconciliation", "failed"),
    ]
    assert seen(events[1]) == [
        ("ledger", "applied"),
        ("ledger", "skipped_duplicate"),
        ("notifications", "parked"),
        ("notifications", "applied"),
    ]
    failed = events[0]["deliveries"][2]
    assert failed["error"] == "OperationalError: database is locked"
    assert failed["at"]
    assert events[0]["deliveries"][0]["error"] is None


def test_an_event_no_consumer_has_seen_has_no_deliveries(
    alice, bob, acme_eur, client_for
):
    payment, _ = approved_payment(maker=alice, approver=bob, account=acme_eur)
    assert [e["deliveries"] for e in events_of(client_for(bob), payment)] == [[], []]


def test_deliveries_of_all_the_events_are_read_in_one_query(
    alice, bob, acme_eur, client_for
):
    # given: a payment with two events, each delivered to two consumers
    payment, rows = approved_payment(maker=alice, approver=bob, account=acme_eur)
    for consumer in ("ledger", "notifications"):
        for row in rows:
            consume(consumer=consumer, envelope=row.envelope, handlers={})
    # when
    with CaptureQueriesContext(connection) as queries:
        events = events_of(client_for(alice), payment)
    # then
    assert [len(e["deliveries"]) for e in events] == [2, 2]
    delivery_reads = [
        q for q in queries.captured_queries if "events_delivery" in q["sql"]
    ]
    assert len(delivery_reads) == 1


def test_another_organisations_payment_events_stay_hidden(
    alice, bob, gina, acme_eur, client_for
):
    payment, (submitted, _) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    consume(consumer="ledger", envelope=submitted.envelope, handlers={})
    response = client_for(gina).get(f"/api/v1/payments/{payment.id}/events")
    assert_problem(response, 404, "payment-not-found")
