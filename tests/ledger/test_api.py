"""The ledger read API: balances and entries, only of the caller's organisation."""

import uuid

import pytest
from django.db import transaction

from ledger.handlers import on_payment_approved
from tests.events_builders import payment_event
from tests.factories import UserFactory


@pytest.fixture
def approved(acme, alice, bob):
    event = payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob, version=2
    )
    with transaction.atomic():
        on_payment_approved(event)
    return event


def test_accounts_list_balances_as_debits_minus_credits(client_for, bob, approved):
    # when
    response = client_for(bob).get("/api/v1/ledger/accounts")

    # then
    assert response.status_code == 200
    accounts = {a["kind"]: a for a in response.json()["results"]}
    assert accounts["bank"] == {
        "id": accounts["bank"]["id"],
        "name": "Bank DE89370400440532013000",
        "kind": "bank",
        "currency": "EUR",
        "debtor_account": approved.data["debtor_account_id"],
        "debits": 0,
        "credits": 12550,
        "balance": -12550,
        "posted": 0,
        "pending": -12550,
        "available": -12550,
    }
    assert accounts["in_transit"]["debtor_account"] is None
    assert accounts["in_transit"]["balance"] == 12550
    assert sum(a["balance"] for a in accounts.values()) == 0


def test_entries_of_a_payment(client_for, bob, approved):
    # when
    response = client_for(bob).get(
        "/api/v1/ledger/entries", {"payment": approved.data["payment_id"]}
    )

    # then
    assert response.status_code == 200
    [entry] = response.json()["results"]
    assert entry["payment"] == approved.data["payment_id"]
    assert entry["event_id"] == approved.id
    assert entry["created_at"]
    lines = {line["direction"]: line for line in entry["lines"]}
    assert lines["debit"]["account"]["name"] == "Payments in transit EUR"
    assert lines["credit"]["account"]["name"] == "Bank DE89370400440532013000"
    assert set(lines["debit"]["account"]) == {"id", "name"}
    assert {(line["amount"], line["currency"]) for line in lines.values()} == {
        (12550, "EUR")
    }


def test_entries_of_another_payment_are_empty(client_for, bob, approved):
    response = client_for(bob).get("/api/v1/ledger/entries", {"payment": uuid.uuid4()})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_another_organisation_sees_nothing(client_for, gina, approved):
    # when
    client = client_for(gina)
    accounts = client.get("/api/v1/ledger/accounts")
    entries = client.get("/api/v1/ledger/entries")
    of_payment = client.get(
        "/api/v1/ledger/entries", {"payment": approved.data["payment_id"]}
    )

    # then
    assert accounts.json()["results"] == []
    assert entries.json()["results"] == []
    assert of_payment.json()["results"] == []


def test_a_payment_that_is_not_a_uuid_is_a_problem(client_for, bob, approved):
    response = client_for(bob).get("/api/v1/ledger/entries", {"payment": "nope"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation-error"
    assert "payment" in body["errors"]


@pytest.mark.parametrize("path", ["/api/v1/ledger/accounts", "/api/v1/ledger/entries"])
def test_a_user_without_organisation_is_forbidden(client_for, acme, path):
    response = client_for(UserFactory(organisation=None)).get(path)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "no-organisation"


@pytest.mark.parametrize("path", ["/api/v1/ledger/accounts", "/api/v1/ledger/entries"])
def test_anonymous_callers_are_refused(client, path):
    response = client.get(path)

    assert response.status_code == 401
