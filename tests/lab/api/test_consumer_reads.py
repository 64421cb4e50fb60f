"""The demo's older release of a consumer: it refuses a version it does not know.

An operator makes the ledger a release that reads PaymentApproved up to v1;
its worker picks the switch up, a v2 approval is refused as
unsupported-version and nothing is marked applied; upgraded, the same event
is applied once. Outside demo mode the switch neither exists nor is read.
"""

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from events.consumers import consumer_get
from events.inbox import UnsupportedVersion, consume
from events.models import ConsumerState, InboxEntry, OutboxMessage
from events.worker import PauseSwitch
from ledger.models import JournalLine
from payments.models import EventVersionSwitch
from payments.services import payment_approve
from tests.assertions import assert_problem
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

URL = "/api/v1/consumers/ledger/reads"


def ledger_worker() -> tuple[SimpleNamespace, PauseSwitch]:
    """The parts of a ledger worker that read the switch: its app and pause step."""
    declared = consumer_get("ledger")
    app = SimpleNamespace(
        consumer_name="ledger",
        handlers_declared=declared.handlers,
        handlers_now=declared.handlers,
    )
    return app, PauseSwitch(parent=None)


def v2_approval(alice, bob, account) -> list[dict]:
    """Submit and approve with the producer on v2; return both envelopes."""
    EventVersionSwitch.objects.create(event_type="PaymentApproved", version=2)
    payment = payment_submitted(by=alice, account=account)
    payment_approve(payment_id=payment.id, actor=bob)
    return list(
        OutboxMessage.objects.filter(subject=str(payment.id))
        .order_by("sequence")
        .values_list("envelope", flat=True)
    )


def ledger_consume(app, envelope: dict) -> str:
    return consume(
        consumer="ledger",
        envelope=envelope,
        handlers=app.handlers_now,
        consumes={"PaymentApproved"},
    )


def test_an_older_release_refuses_v2_and_after_the_upgrade_applies_it_once(
    demo, alice, bob, acme_eur, client_for
):
    # given: the ledger made a release that knows PaymentApproved up to v1
    response = client_for(bob).post(
        URL, {"event_type": "PaymentApproved", "version": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["older_release"] is True
    assert ConsumerState.objects.get(consumer="ledger").reads_up_to == {
        "PaymentApproved": 1
    }
    app, switch = ledger_worker()
    switch.release_check(app, ConsumerState.objects.get(consumer="ledger"))
    submitted, envelope = v2_approval(alice, bob, acme_eur)
    assert ledger_consume(app, submitted) == "applied"

    # when / then: the v2 event is refused, nothing marked applied or booked
    with pytest.raises(UnsupportedVersion, match="reads v1"):
        ledger_consume(app, envelope)
    assert not InboxEntry.objects.filter(
        consumer="ledger", event_id=envelope["id"]
    ).exists()
    assert not JournalLine.objects.exists()

    # when: upgraded, and the event delivered again (the redrive)
    client_for(bob).post(
        URL, {"event_type": "PaymentApproved", "version": None}, format="json"
    )
    switch.release_check(app, ConsumerState.objects.get(consumer="ledger"))

    # then: applied once
    assert ledger_consume(app, envelope) == "applied"
    assert ledger_consume(app, envelope) == "skipped_duplicate"
    assert JournalLine.objects.count() == 2


def test_the_older_release_still_reads_v1_with_todays_effect(
    demo, alice, bob, acme_eur
):
    # given
    ConsumerState.objects.create(consumer="ledger", reads_up_to={"PaymentApproved": 1})
    app, switch = ledger_worker()
    switch.release_check(app, ConsumerState.objects.get(consumer="ledger"))
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    rows = OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id")

    # when
    statuses = [ledger_consume(app, row.envelope) for row in rows]

    # then
    assert rows[1].envelope["dataschema"] == "/contracts/PaymentApproved/v1"
    assert statuses == ["applied", "applied"]
    assert JournalLine.objects.filter(amount=payment.amount).count() == 2


@pytest.mark.parametrize(
    ("url", "body", "status", "code", "field"),
    [
        (URL, {"event_type": "PaymentApproved", "version": 2}, 400, None, "version"),
        (URL, {"event_type": "PaymentApproved", "version": 0}, 400, None, "version"),
        (URL, {"event_type": "PaymentSettled", "version": 1}, 400, None, "event_type"),
        (URL, {"version": 1}, 400, None, "event_type"),
        (
            "/api/v1/consumers/nobody/reads",
            {"event_type": "PaymentApproved", "version": 1},
            404,
            "consumer-not-found",
            None,
        ),
    ],
    ids=["not-older", "zero", "not-consumed", "no-type", "unknown-consumer"],
)
def test_a_release_the_consumer_cannot_be_is_a_problem_and_changes_nothing(
    demo, bob, client_for, url, body, status, code, field
):
    problem = assert_problem(
        client_for(bob).post(url, body, format="json"),
        status,
        code or "validation-error",
    )

    if field:
        assert field in problem["errors"]
    assert not ConsumerState.objects.exclude(reads_up_to={}).exists()


def test_only_an_operator_may_switch_a_release(demo, alice, client_for):
    body = {"event_type": "PaymentApproved", "version": 1}
    assert_problem(
        client_for(alice).post(URL, body, format="json"), 403, "operator-required"
    )
    assert_problem(APIClient().post(URL, body, format="json"), 401)
    assert not ConsumerState.objects.exclude(reads_up_to={}).exists()


def test_outside_demo_mode_the_switch_is_neither_offered_nor_read(
    settings, bob, client_for
):
    # given: a switch left in the table by a demo
    settings.DEMO_MODE = False
    ConsumerState.objects.create(consumer="ledger", reads_up_to={"PaymentApproved": 1})
    app, switch = ledger_worker()

    # when
    switch.release_check(app, ConsumerState.objects.get(consumer="ledger"))

    # then
    assert app.handlers_now is app.handlers_declared
    assert_problem(
        client_for(bob).post(
            URL, {"event_type": "PaymentApproved", "version": 1}, format="json"
        ),
        404,
        "not-found",
    )
