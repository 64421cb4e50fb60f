"""Payments as a consumer: released, then settled, and never back.

PaymentReleased (bank gateway) and PaymentSettled (settlement) come from two
producers with no order between them; the transitions are monotonic.
"""

import pytest

from events.inbox import consume
from payments.consumer import CONSUMER
from payments.models import Payment, PaymentStatus
from payments.services import payment_approve
from tests.events_builders import payment_fact
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

RELEASED_AT = "2026-12-04T10:00:05+00:00"
SETTLED_AT = "2026-12-04T18:00:02+00:00"


def released(payment):
    return payment_fact(
        "PaymentReleased",
        payment=payment,
        source="/bank-gateway",
        aspect="release",
        released_at=RELEASED_AT,
    )


def settled(payment):
    return payment_fact(
        "PaymentSettled",
        payment=payment,
        source="/settlement",
        aspect="settlement",
        settled_at=SETTLED_AT,
    )


def deliver(event) -> str:
    return consume(
        consumer="payments",
        envelope=event.envelope,
        handlers=CONSUMER.handlers,
        consumes=CONSUMER.consumed_types,
    )


@pytest.fixture
def approved(alice, bob, acme_eur):
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    return Payment.objects.get(pk=payment.pk)


def test_released_then_settled(approved):
    # when
    assert deliver(released(approved)) == "applied"
    after_release = Payment.objects.get(pk=approved.pk)
    assert deliver(settled(approved)) == "applied"

    # then: each fact moves it on, and no command's version is spent
    assert after_release.status == PaymentStatus.RELEASED
    assert after_release.released_at.isoformat() == RELEASED_AT
    payment = Payment.objects.get(pk=approved.pk)
    assert payment.status == PaymentStatus.SETTLED
    assert payment.settled_at.isoformat() == SETTLED_AT
    assert payment.version == approved.version


def test_a_release_that_arrives_after_the_settlement_changes_nothing(approved):
    # when
    deliver(settled(approved))
    deliver(released(approved))

    # then
    payment = Payment.objects.get(pk=approved.pk)
    assert payment.status == PaymentStatus.SETTLED
    assert payment.released_at is None


def test_a_duplicate_settlement_is_skipped(approved):
    event = settled(approved)
    assert deliver(event) == "applied"
    assert deliver(event) == "skipped_duplicate"


def test_the_rest_representation_shows_the_end_to_end_id_and_the_dates(
    approved, client_for, alice
):
    deliver(released(approved))
    deliver(settled(approved))

    body = client_for(alice).get(f"/api/v1/payments/{approved.id}").json()

    assert body["end_to_end_id"] == approved.id.hex
    assert len(body["end_to_end_id"]) == 32
    assert body["status"] == "settled"
    assert body["released_at"] is not None
    assert body["settled_at"] is not None
