"""Which version payments publishes is configuration (EVENT_VERSIONS).

Consumers read both, so switching the producer changes no book: the ledger
entry and the expectation of a v2 approval equal those of a v1.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from contracts.registry import validate
from events.consumers import consumer_get
from events.inbox import consume
from events.models import OutboxMessage
from ledger.models import JournalLine
from payments.models import Payment, PaymentStatus
from payments.services import payment_approve
from reconciliation.models import Expectation
from tests.factories import VALID_CREDITOR_IBAN, payment_submitted

pytestmark = pytest.mark.django_db


def approval(payment) -> dict:
    return OutboxMessage.objects.get(
        subject=str(payment.id), event_type="PaymentApproved"
    ).envelope


def apply_everywhere(payment) -> None:
    """Deliver the payment's events, in order, to every declared consumer."""
    rows = OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id")
    for row in rows:
        for name in ("ledger", "reconciliation", "notifications"):
            declared = consumer_get(name)
            assert consume(
                consumer=name,
                envelope=row.envelope,
                handlers=declared.handlers,
                consumes=declared.consumed_types,
            ) == ("applied")


def books() -> tuple:
    return (
        sorted(JournalLine.objects.values_list("direction", "amount", "currency")),
        list(Expectation.objects.values_list("amount", "currency", "creditor_name")),
    )


def test_by_default_payments_publishes_version_1(alice, bob, acme_eur):
    payment = payment_submitted(by=alice, account=acme_eur)

    payment_approve(payment_id=payment.id, actor=bob)

    assert validate(approval(payment)) == ("PaymentApproved", 1)


def test_switched_to_v2_payments_publishes_the_new_shape(
    settings, alice, bob, acme_eur
):
    # given
    settings.EVENT_VERSIONS = {"PaymentApproved": 2}
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    payment_approve(payment_id=payment.id, actor=bob)

    # then
    envelope = approval(payment)
    assert validate(envelope) == ("PaymentApproved", 2)
    payment.refresh_from_db()
    data = envelope["data"]
    assert data["amount"] == {"value": payment.amount, "currency": "EUR"}
    assert data["creditor"] == {
        "name": payment.creditor_name,
        "iban": VALID_CREDITOR_IBAN,
    }
    assert data["approved_at"] == payment.updated_at.isoformat()


def test_a_v2_approval_keeps_the_books_a_v1_approval_keeps(
    settings, alice, bob, acme_eur
):
    # given: one payment approved as v1, its twin approved as v2
    results = []
    for version in (1, 2):
        settings.EVENT_VERSIONS = {"PaymentApproved": version}
        payment = payment_submitted(by=alice, account=acme_eur)
        payment_approve(payment_id=payment.id, actor=bob)

        # when
        apply_everywhere(payment)

        # then
        results.append(books())
        JournalLine.objects.all().delete()
        Expectation.objects.all().delete()
    assert results[0] == results[1]
    assert results[0][0]  # the ledger booked it
    assert results[0][1]  # and reconciliation expects it


# Run as a request runs, with no transaction around the command: a decision's
# block has no savepoint, so a failure inside it rolls back the caller's.
@pytest.mark.django_db(transaction=True)
def test_a_version_payments_cannot_build_refuses_the_command(
    settings, alice, bob, acme_eur
):
    settings.EVENT_VERSIONS = {"PaymentApproved": 7}
    payment = payment_submitted(by=alice, account=acme_eur)

    with pytest.raises(ImproperlyConfigured, match="PaymentApproved v7"):
        payment_approve(payment_id=payment.id, actor=bob)

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING_APPROVAL
    assert not OutboxMessage.objects.filter(event_type="PaymentApproved").exists()
