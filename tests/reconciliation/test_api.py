"""The reconciliation read API: expectations of the caller's organisation only."""

import uuid

import pytest
from django.db import transaction

from reconciliation.handlers import on_payment_approved
from tests.events_builders import payment_event
from tests.factories import UserFactory

URL = "/api/v1/reconciliation/expectations"


@pytest.fixture
def approved(acme, globex, alice, bob, gina):
    """Two approved acme payments and one of globex."""
    events = [
        payment_event(
            "PaymentApproved", organisation=acme, submitted_by=alice, version=2
        ),
        payment_event(
            "PaymentApproved", organisation=acme, submitted_by=alice, version=2
        ),
        payment_event(
            "PaymentApproved", organisation=globex, submitted_by=gina, version=2
        ),
    ]
    with transaction.atomic():
        for event in events:
            on_payment_approved(event)
    return events


def test_expectations_of_a_payment(client_for, bob, approved):
    # given
    event = approved[0]

    # when
    response = client_for(bob).get(URL, {"payment": event.data["payment_id"]})

    # then
    assert response.status_code == 200
    [expectation] = response.json()["results"]
    assert expectation == {
        "id": expectation["id"],
        "payment": event.data["payment_id"],
        "event_id": event.id,
        "status": "awaiting_settlement",
        "amount": 12550,
        "currency": "EUR",
        "debtor_account": event.data["debtor_account_id"],
        "creditor_name": "Initech Supplies",
        "reference": "INV-1",
        "created_at": expectation["created_at"],
        "settlement_file_id": None,
        "settlement_line": None,
        "bank_reference": "",
        "booking_date": None,
        "matched_at": None,
        "exception": "",
    }


def test_each_organisation_sees_only_its_own(client_for, bob, gina, approved):
    # when
    acme_sees = client_for(bob).get(URL).json()["results"]
    globex_sees = client_for(gina).get(URL).json()["results"]
    gina_asks_for_acme = client_for(gina).get(
        URL, {"payment": approved[0].data["payment_id"]}
    )

    # then
    assert {e["event_id"] for e in acme_sees} == {approved[0].id, approved[1].id}
    assert [e["event_id"] for e in globex_sees] == [approved[2].id]
    assert gina_asks_for_acme.json()["results"] == []


def test_an_unknown_payment_has_no_expectation(client_for, bob, approved):
    response = client_for(bob).get(URL, {"payment": uuid.uuid4()})

    assert response.json()["results"] == []


def test_a_payment_that_is_not_a_uuid_is_a_problem(client_for, bob):
    response = client_for(bob).get(URL, {"payment": "not-a-uuid"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "payment" in response.json()["errors"]


def test_a_user_without_organisation_is_forbidden(client_for, acme):
    response = client_for(UserFactory(organisation=None)).get(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "no-organisation"


def test_anonymous_callers_are_refused(client):
    assert client.get(URL).status_code == 401
