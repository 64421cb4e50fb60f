"""POST .../approve, .../reject and .../cancel: a second person decides."""

import pytest

from events.models import OutboxMessage
from payments.models import PaymentStatus
from tests.assertions import assert_problem, written_state
from tests.factories import payment_submitted


def _event_types(payment) -> list[tuple[int, str]]:
    return list(
        OutboxMessage.objects.filter(subject=str(payment.id))
        .order_by("sequence")
        .values_list("sequence", "event_type")
    )


def test_approve_answers_200_with_the_approved_payment(
    client_for, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    response = client_for(bob).post(f"/api/v1/payments/{payment.id}/approve")

    # then
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["id"] == str(payment.id)
    assert answer["status"] == "approved"
    assert answer["approved_by"] == "bob"
    assert answer["submitted_by"] == "alice"
    assert answer["version"] == 2
    payment.refresh_from_db()
    assert (payment.status, payment.approved_by, payment.version) == (
        PaymentStatus.APPROVED,
        bob,
        2,
    )
    assert _event_types(payment) == [(1, "PaymentSubmitted"), (2, "PaymentApproved")]


def test_reject_answers_200_and_records_the_reason(client_for, alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    response = client_for(bob).post(
        f"/api/v1/payments/{payment.id}/reject",
        {"reason": "Duplicate of INV-0"},
        format="json",
    )

    # then
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["status"], answer["rejected_by"], answer["rejection_reason"]) == (
        "rejected",
        "bob",
        "Duplicate of INV-0",
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED
    assert payment.rejected_by == bob
    assert payment.rejection_reason == "Duplicate of INV-0"
    assert _event_types(payment) == [(1, "PaymentSubmitted"), (2, "PaymentRejected")]
    rejected = OutboxMessage.objects.get(event_type="PaymentRejected")
    assert rejected.envelope["data"]["reason"] == "Duplicate of INV-0"


def test_a_reason_of_500_characters_is_accepted(client_for, alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    response = client_for(bob).post(
        f"/api/v1/payments/{payment.id}/reject", {"reason": "x" * 500}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert payment.rejection_reason == "x" * 500


def test_cancel_by_the_submitter_answers_200(client_for, alice, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    response = client_for(alice).post(f"/api/v1/payments/{payment.id}/cancel")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    payment.refresh_from_db()
    assert (payment.status, payment.version) == (PaymentStatus.CANCELLED, 2)
    assert _event_types(payment) == [(1, "PaymentSubmitted"), (2, "PaymentCancelled")]


@pytest.mark.parametrize(
    ("submitter", "actor", "action", "code"),
    [
        ("carol", "carol", "approve", "maker-checker"),
        ("carol", "carol", "reject", "maker-checker"),
        ("alice", "alice", "approve", "maker-checker"),  # before her missing role
        ("carol", "alice", "approve", "role-required"),
        ("carol", "alice", "reject", "role-required"),
        ("alice", "bob", "cancel", "not-submitter"),
        ("alice", "carol", "cancel", "not-submitter"),
    ],
)
def test_a_forbidden_decision_answers_403_and_changes_nothing(
    request, client_for, acme_eur, submitter, actor, action, code
):
    # given
    payment = payment_submitted(by=request.getfixturevalue(submitter), account=acme_eur)
    client = client_for(request.getfixturevalue(actor))
    before = written_state()

    # when
    response = client.post(
        f"/api/v1/payments/{payment.id}/{action}",
        {"reason": "Not ours"},
        format="json",
    )

    # then
    assert_problem(response, 403, code)
    assert written_state() == before


@pytest.mark.parametrize("first", ["approve", "reject", "cancel"])
@pytest.mark.parametrize("then", ["approve", "reject", "cancel"])
def test_a_decision_on_a_decided_payment_answers_409(
    client_for, alice, bob, acme_eur, first, then
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    clients = {"approve": client_for(bob), "reject": client_for(bob)}
    clients["cancel"] = client_for(alice)
    url = f"/api/v1/payments/{payment.id}/"
    reason = {"reason": "Not ours"}
    assert clients[first].post(url + first, reason, format="json").status_code == 200
    before = written_state()

    # when
    response = clients[then].post(url + then, reason, format="json")

    # then
    problem = assert_problem(response, 409, "payment-not-pending")
    state = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}
    assert f"The payment is {state[first]}" in problem["detail"]
    assert written_state() == before
