"""Tenant isolation: another organisation's payment is "not found", never forbidden."""

import uuid

import pytest

from tests.assertions import assert_problem, written_state
from tests.factories import UserFactory, payment_request_body, payment_submitted

ENDPOINTS = [
    ("get", ""),
    ("get", "/events"),
    ("post", "/approve"),
    ("post", "/reject"),
    ("post", "/cancel"),
]


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
def test_another_organisations_payment_is_404_on_every_endpoint(
    client_for, alice, gina, acme_eur, method, suffix
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    before = written_state()

    # when
    response = getattr(client_for(gina), method)(
        f"/api/v1/payments/{payment.id}{suffix}", {"reason": "Not ours"}, format="json"
    )

    # then
    assert_problem(response, 404, "payment-not-found")
    assert written_state() == before


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
def test_the_404_is_the_same_as_for_a_payment_that_does_not_exist(
    client_for, alice, gina, acme_eur, method, suffix
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    client = getattr(client_for(gina), method)

    # when
    foreign = client(
        f"/api/v1/payments/{payment.id}{suffix}", {"reason": "x"}, format="json"
    )
    missing = client(
        f"/api/v1/payments/{uuid.uuid4()}{suffix}", {"reason": "x"}, format="json"
    )

    # then: nothing tells the two apart
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_submit_from_another_organisations_account_is_400(client_for, gina, acme_eur):
    # given
    before = written_state()

    # when
    response = client_for(gina).post(
        "/api/v1/payments", payment_request_body(acme_eur), format="json"
    )

    # then
    problem = assert_problem(response, 400, "account-not-found")
    assert "debtor_account" in problem["errors"]
    assert written_state() == before


@pytest.mark.parametrize("query", ["", "?status=pending_approval"])
def test_lists_never_show_another_organisations_payments(
    client_for, alice, gina, acme_eur, globex_eur, query
):
    # given
    payment_submitted(by=alice, account=acme_eur)
    own = payment_submitted(by=gina, account=globex_eur)

    # when
    response = client_for(gina).get(f"/api/v1/payments{query}")

    # then
    assert [p["id"] for p in response.json()["results"]] == [str(own.id)]


def test_accounts_never_show_another_organisations_accounts(
    client_for, gina, acme_eur, globex_eur
):
    # when
    response = client_for(gina).get("/api/v1/accounts")

    # then
    assert [a["id"] for a in response.json()["results"]] == [str(globex_eur.id)]


def test_a_user_without_the_role_elsewhere_gets_404_not_403(
    client_for, alice, acme_eur, globex
):
    # given: a maker elsewhere, without the approver role
    hank = UserFactory(username="hank", organisation=globex, is_maker=True)
    payment = payment_submitted(by=alice, account=acme_eur)
    before = written_state()

    # when
    response = client_for(hank).post(f"/api/v1/payments/{payment.id}/approve")

    # then: not found beats "your role does not allow this"
    assert_problem(response, 404, "payment-not-found")
    assert written_state() == before
