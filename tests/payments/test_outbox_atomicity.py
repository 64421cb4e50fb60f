"""The transactional outbox: a state change and its event commit together or not at all.

These tests run in autocommit mode (transaction=True), as the app does, so a
commit here is a real commit and a rollback a real rollback.
"""

import threading

import pytest
from django.db import connection, transaction

import payments.services
from contracts.registry import ContractViolation
from events.models import OutboxMessage
from events.outbox import OutsideTransaction, publish
from payments.errors import SelfApprovalForbidden
from payments.models import Payment, PaymentStatus
from payments.services import payment_approve, payment_submit
from tests.factories import VALID_CREDITOR_IBAN, payment_submitted

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    """Raised on purpose after the state change, inside the command's transaction."""


def _publish_kwargs(**overrides) -> dict:
    kwargs = {
        "event_type": "PaymentCancelled",
        "version": 1,
        "source": "/payments",
        "subject": "4b0d1a52-3f5a-4a8e-9f43-0c0d3c1f0b6e",
        "partition_key": "a0c0e7de-4a3b-4c8e-8b0e-2f6d0a4b1c9d",
        "sequence": 2,
        "data": {
            "payment_id": "4b0d1a52-3f5a-4a8e-9f43-0c0d3c1f0b6e",
            "organisation_id": "6a1c3f0e-6f86-4b55-8d8b-3f0b2c4a7e11",
            "debtor_account_id": "a0c0e7de-4a3b-4c8e-8b0e-2f6d0a4b1c9d",
            "debtor_iban": VALID_CREDITOR_IBAN,
            "amount": 100,
            "currency": "EUR",
            "creditor_name": "Jane Supplier",
            "reference": "",
            "submitted_by": {"id": 1, "username": "alice"},
            "actor": {"id": 1, "username": "alice"},
        },
    }
    kwargs.update(overrides)
    return kwargs


def _in_another_connection(read):
    """Run the read in a thread, on its own database connection."""
    result = {}

    def run():
        try:
            result["value"] = read()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def _publish_then_fail(real):
    def publish_then_fail(**kwargs):
        real(**kwargs)
        assert OutboxMessage.objects.exists()  # the row was written...
        raise Boom()  # ...and now the transaction must take it back

    return publish_then_fail


def test_publish_outside_a_transaction_raises_and_writes_nothing():
    # when
    with pytest.raises(OutsideTransaction):
        publish(**_publish_kwargs())

    # then
    assert not OutboxMessage.objects.exists()


def test_publish_inside_a_transaction_commits_with_it():
    # when
    with transaction.atomic():
        message = publish(**_publish_kwargs())

    # then
    assert str(OutboxMessage.objects.get().event_id) == str(message.event_id)


def test_publish_rolls_back_with_its_transaction():
    # when
    with pytest.raises(Boom), transaction.atomic():
        publish(**_publish_kwargs())
        raise Boom()

    # then
    assert not OutboxMessage.objects.exists()


def test_publish_refuses_a_payload_that_breaks_its_contract():
    # given
    data = {**_publish_kwargs()["data"], "status": "cancelled"}  # not in v1

    # when
    with pytest.raises(ContractViolation), transaction.atomic():
        publish(**_publish_kwargs(data=data))

    # then
    assert not OutboxMessage.objects.exists()


def test_failure_after_submit_wrote_its_rows_leaves_neither(
    monkeypatch, alice, acme_eur
):
    # given
    monkeypatch.setattr(
        payments.services,
        "payment_event_publish",
        _publish_then_fail(payments.services.payment_event_publish),
    )

    # when
    with pytest.raises(Boom):
        payment_submitted(by=alice, account=acme_eur)

    # then: no zombie payment, no ghost event
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_failure_after_approve_changed_state_leaves_neither(
    monkeypatch, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    monkeypatch.setattr(
        payments.services,
        "payment_event_publish",
        _publish_then_fail(payments.services.payment_event_publish),
    )

    # when
    with pytest.raises(Boom):
        payment_approve(payment_id=payment.id, actor=bob)

    # then
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert payment.approved_by is None
    assert payment.version == 1
    assert list(OutboxMessage.objects.values_list("event_type", flat=True)) == [
        "PaymentSubmitted"
    ]


def test_an_event_refused_by_its_contract_rolls_back_the_state_change(
    monkeypatch, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    def validate_refuses(envelope):
        raise ContractViolation(["data: refused on purpose"])

    monkeypatch.setattr("events.outbox.validate", validate_refuses)

    # when
    with pytest.raises(ContractViolation):
        payment_approve(payment_id=payment.id, actor=bob)

    # then
    payment.refresh_from_db()
    assert (payment.status, payment.version) == (PaymentStatus.PENDING_APPROVAL, 1)
    assert OutboxMessage.objects.count() == 1


def test_a_refused_command_leaves_neither_change_nor_event(alice, carol, acme_eur):
    # given
    payment = payment_submitted(by=carol, account=acme_eur)

    # when
    with pytest.raises(SelfApprovalForbidden):
        payment_approve(payment_id=payment.id, actor=carol)

    # then
    payment.refresh_from_db()
    assert (payment.status, payment.version) == (PaymentStatus.PENDING_APPROVAL, 1)
    assert payment.approved_by is None
    assert OutboxMessage.objects.count() == 1


def test_a_successful_command_commits_state_and_event_together(alice, acme_eur):
    # when
    payment = payment_submit(
        actor=alice,
        debtor_account_id=acme_eur.id,
        amount=100,
        currency="EUR",
        creditor_name="Jane Supplier",
        creditor_iban=VALID_CREDITOR_IBAN,
    )

    # then: committed, so another connection sees both
    assert _in_another_connection(
        lambda: (
            list(Payment.objects.values_list("id", flat=True)),
            list(OutboxMessage.objects.values_list("subject", flat=True)),
        )
    ) == ([payment.id], [str(payment.id)])
