"""Concurrent commands on one payment, through the API, on real PostgreSQL.

Real threads, each with its own client and database connection: the row lock in
payments/locks.py must let exactly one decision through and refuse the rest.
"""

import pytest

from api.models import IdempotencyKey
from events.models import OutboxMessage
from payments.models import Payment, PaymentStatus
from tests.concurrency import all_at_once
from tests.factories import payment_request_body, payment_submitted

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _events(payment) -> list[str]:
    return list(
        OutboxMessage.objects.filter(subject=str(payment.id))
        .order_by("sequence")
        .values_list("event_type", flat=True)
    )


def test_ten_concurrent_approvals_let_exactly_one_through(
    client_for, alice, bob, carol, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    url = f"/api/v1/payments/{payment.id}/approve"
    clients = [client_for(bob if n % 2 else carol) for n in range(10)]

    # when
    responses = all_at_once([lambda c=client: c.post(url) for client in clients])

    # then
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 9
    refusals = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(refusals) == {"payment-not-pending"}
    [winner] = [r.json() for r in responses if r.status_code == 200]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.APPROVED
    assert payment.version == 2
    assert payment.approved_by.username == winner["approved_by"]
    assert _events(payment) == ["PaymentSubmitted", "PaymentApproved"]
    assert OutboxMessage.objects.filter(event_type="PaymentApproved").count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_approve_racing_cancel_has_exactly_one_winner(
    client_for, alice, bob, acme_eur, attempt
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    url = f"/api/v1/payments/{payment.id}"
    approver, submitter = client_for(bob), client_for(alice)

    # when
    approved, cancelled = all_at_once(
        [
            lambda: approver.post(f"{url}/approve"),
            lambda: submitter.post(f"{url}/cancel"),
        ]
    )

    # then
    assert sorted([approved.status_code, cancelled.status_code]) == [200, 409]
    payment.refresh_from_db()
    assert payment.version == 2
    if approved.status_code == 200:
        assert payment.status == PaymentStatus.APPROVED
        assert _events(payment) == ["PaymentSubmitted", "PaymentApproved"]
    else:
        assert payment.status == PaymentStatus.CANCELLED
        assert _events(payment) == ["PaymentSubmitted", "PaymentCancelled"]


def test_concurrent_retries_with_one_idempotency_key_submit_once_and_all_get_its_answer(
    client_for, alice, acme_eur
):
    # given
    body = payment_request_body(acme_eur)
    clients = [client_for(alice) for _ in range(5)]

    # when
    responses = all_at_once(
        [
            lambda c=client: c.post(
                "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
            )
            for client in clients
        ]
    )

    # then: the first to claim the key ran the command; each other waited on
    # the key's unique index until it committed, then replayed its answer
    assert Payment.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert [r.status_code for r in responses] == [201] * 5
    originals = [r for r in responses if "Idempotent-Replayed" not in r]
    assert len(originals) == 1
    assert all(r.json() == originals[0].json() for r in responses)
    assert IdempotencyKey.objects.get().state == "completed"
