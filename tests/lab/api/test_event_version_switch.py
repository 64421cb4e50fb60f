"""The demo's runtime switch of the version payments publishes (no restart).

Switched by an operator, read by payments at its next publish: the approval's
outbox row is v2, every consumer applies it, and switching back publishes v1.
Outside demo mode the switch neither exists nor is read.
"""

import pytest
from rest_framework.test import APIClient

from events.consumers import consumer_get
from events.inbox import consume
from events.models import OutboxMessage
from ledger.models import JournalLine
from payments.models import EventVersionSwitch
from payments.services import payment_approve
from tests.assertions import assert_problem
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

URL = "/api/v1/event-versions/PaymentApproved"


def approved_version(alice, bob, account) -> dict:
    """Approve a new payment; return its PaymentApproved envelope."""
    payment = payment_submitted(by=alice, account=account)
    payment_approve(payment_id=payment.id, actor=bob)
    return OutboxMessage.objects.get(
        subject=str(payment.id), event_type="PaymentApproved"
    ).envelope


def test_an_operator_switches_the_producer_live_and_every_consumer_applies_it(
    demo, alice, bob, acme_eur, client_for
):
    # when
    response = client_for(bob).post(URL, {"version": 2}, format="json")

    # then: the next approval is published as v2
    assert response.status_code == 200
    assert response.json() == {
        "event_type": "PaymentApproved",
        "version": 2,
        "versions": [1, 2],
    }
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    rows = OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id")
    assert rows[1].envelope["dataschema"] == "/contracts/PaymentApproved/v2"
    for name in ("ledger", "notifications", "reconciliation"):
        declared = consumer_get(name)
        for row in rows:
            assert consume(
                consumer=name,
                envelope=row.envelope,
                handlers=declared.handlers,
                consumes=declared.consumed_types,
            ) == ("applied")
    assert JournalLine.objects.filter(amount=payment.amount).count() == 2

    # when: switched back
    client_for(bob).post(URL, {"version": 1}, format="json")

    # then
    assert approved_version(alice, bob, acme_eur)["dataschema"] == (
        "/contracts/PaymentApproved/v1"
    )


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (URL, {"version": 7}, "version"),
        (URL, {"version": 0}, "version"),
        (URL, {}, "version"),
        ("/api/v1/event-versions/PaymentSettled", {"version": 1}, "event_type"),
    ],
    ids=["unknown-version", "zero", "no-version", "unknown-type"],
)
def test_a_version_payments_cannot_publish_is_a_problem_and_changes_nothing(
    demo, bob, client_for, url, body, field
):
    problem = assert_problem(
        client_for(bob).post(url, body, format="json"), 400, "validation-error"
    )

    assert field in problem["errors"]
    assert not EventVersionSwitch.objects.exists()


def test_only_an_operator_may_switch(demo, alice, client_for):
    assert_problem(
        client_for(alice).post(URL, {"version": 2}, format="json"),
        403,
        "operator-required",
    )
    assert_problem(APIClient().post(URL, {"version": 2}, format="json"), 401)
    assert not EventVersionSwitch.objects.exists()


def test_outside_demo_mode_the_switch_is_neither_offered_nor_read(
    settings, alice, bob, acme_eur, client_for
):
    # given: a switch left in the table by a demo
    settings.DEMO_MODE = False
    EventVersionSwitch.objects.create(event_type="PaymentApproved", version=2)

    # when / then
    assert_problem(
        client_for(bob).post(URL, {"version": 2}, format="json"), 404, "not-found"
    )
    assert approved_version(alice, bob, acme_eur)["dataschema"] == (
        "/contracts/PaymentApproved/v1"
    )
