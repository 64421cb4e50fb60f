"""The reconciliation consumer: one expected settlement per approved payment."""

import uuid

import pytest
from django.db import IntegrityError, transaction

from events.inbox import readable_by
from reconciliation.handlers import HANDLERS
from reconciliation.models import Expectation, ExpectationStatus
from tests.events_builders import payment_event


def apply(event):
    # As the inbox dispatches: an older version is upcast to the one handled.
    handler, readable = readable_by(HANDLERS, event)
    with transaction.atomic():
        handler(readable)


@pytest.mark.parametrize("version", [1, 2])
def test_an_approved_payment_is_expected_to_settle(acme, alice, bob, version):
    # given: either version (a v1 is upcast on the way in) expects the same
    debtor_account_id = uuid.uuid4()
    event = payment_event(
        "PaymentApproved",
        organisation=acme,
        submitted_by=alice,
        actor=bob,
        debtor_account_id=debtor_account_id,
        amount=990,
        currency="GBP",
        creditor_name="Hooli",
        reference="PO 7",
        version=version,
    )

    # when
    apply(event)

    # then
    expectation = Expectation.objects.get()
    assert expectation.organisation == acme
    assert str(expectation.payment_id) == event.data["payment_id"]
    assert str(expectation.event_id) == event.id
    assert (expectation.amount, expectation.currency) == (990, "GBP")
    assert expectation.debtor_account_id == debtor_account_id
    assert (expectation.creditor_name, expectation.reference) == ("Hooli", "PO 7")
    assert expectation.status == ExpectationStatus.AWAITING_SETTLEMENT


def test_a_second_apply_fails_and_expects_the_money_once(acme, alice, bob):
    # given
    event = payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob
    )
    apply(event)

    # when / then: the inbox skips duplicates; the unique constraint is the belt
    with pytest.raises(IntegrityError):
        apply(event)
    assert Expectation.objects.count() == 1


def test_a_second_approval_event_for_one_payment_fails(acme, alice, bob):
    fields = {"organisation": acme, "submitted_by": alice, "payment_id": uuid.uuid4()}
    apply(payment_event("PaymentApproved", **fields))

    with pytest.raises(IntegrityError):
        apply(payment_event("PaymentApproved", **fields))
    assert Expectation.objects.count() == 1


def test_reconciliation_acts_on_approvals_and_settlements():
    assert set(HANDLERS) == {
        ("PaymentApproved", 2),
        ("PaymentSettled", 1),
        ("SettlementMismatchDetected", 1),
    }
