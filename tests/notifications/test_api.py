"""The notifications read API: only the caller's own notifications."""

import uuid

import pytest
from django.db import transaction

from notifications.handlers import on_payment_approved, on_payment_submitted
from tests.events_builders import payment_event
from tests.factories import UserFactory

URL = "/api/v1/notifications"


@pytest.fixture
def events(acme, alice, bob, carol):
    """One payment submitted by alice and approved by bob, and another payment."""
    payment_id = uuid.uuid4()
    fields = {"organisation": acme, "submitted_by": alice, "payment_id": payment_id}
    submitted = payment_event("PaymentSubmitted", **fields)
    approved = payment_event("PaymentApproved", actor=bob, **fields)
    other = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    with transaction.atomic():
        on_payment_submitted(submitted)
        on_payment_approved(approved)
        on_payment_submitted(other)
    return {"submitted": submitted, "approved": approved, "other": other}


def test_the_caller_sees_only_their_own_notifications(client_for, alice, events):
    # when
    response = client_for(alice).get(URL)

    # then
    assert response.status_code == 200
    [notification] = response.json()["results"]
    approved = events["approved"]
    assert notification == {
        "id": notification["id"],
        "payment": approved.data["payment_id"],
        "event_id": approved.id,
        "event_type": "PaymentApproved",
        "subject": "Approved: your payment of 125.50 EUR to Initech Supplies",
        "body": notification["body"],
        "created_at": notification["created_at"],
        "email_status": "no_address",
        "email_attempts": 0,
        "email_error": "",
        "email_sent_at": None,
    }
    assert "bob approved your payment" in notification["body"]


def test_filter_by_payment(client_for, bob, events):
    # when
    everything = client_for(bob).get(URL).json()["results"]
    one_payment = client_for(bob).get(
        URL, {"payment": events["submitted"].data["payment_id"]}
    )

    # then
    assert len(everything) == 2
    [notification] = one_payment.json()["results"]
    assert notification["event_id"] == events["submitted"].id
    assert notification["event_type"] == "PaymentSubmitted"


def test_another_organisation_sees_nothing(client_for, gina, events):
    client = client_for(gina)
    assert client.get(URL).json()["results"] == []
    payment_id = events["submitted"].data["payment_id"]
    assert client.get(URL, {"payment": payment_id}).json()["results"] == []


def test_a_payment_that_is_not_a_uuid_is_a_problem(client_for, bob):
    response = client_for(bob).get(URL, {"payment": "42"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "payment" in response.json()["errors"]


def test_a_user_without_organisation_is_forbidden(client_for, acme):
    response = client_for(UserFactory(organisation=None)).get(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "no-organisation"


def test_anonymous_callers_are_refused(client):
    assert client.get(URL).status_code == 401
