"""POST /api/v1/payments: a maker submits; the payment and its event are stored."""

from django.utils.dateparse import parse_datetime

from events.models import OutboxMessage
from payments.models import Payment, PaymentStatus
from tests.factories import (
    VALID_CREDITOR_IBAN,
    DebtorAccountFactory,
    payment_request_body,
)


def test_submit_answers_201_with_the_stored_payment(client_for, alice, acme_eur):
    # given
    body = payment_request_body(
        acme_eur,
        creditor={"name": "Jane Supplier", "iban": "de89 3704 0044 0532 0130 00"},
    )

    # when
    response = client_for(alice).post("/api/v1/payments", body, format="json")

    # then
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    answer = response.json()
    assert parse_datetime(answer.pop("created_at")) == payment.created_at
    assert parse_datetime(answer.pop("updated_at")) == payment.updated_at
    assert answer == {
        "id": str(payment.id),
        "end_to_end_id": payment.id.hex,
        "status": "pending_approval",
        "amount": 12550,
        "currency": "EUR",
        "debtor_account": str(acme_eur.id),
        "creditor": {"name": "Jane Supplier", "iban": VALID_CREDITOR_IBAN},
        "reference": "INV-1",
        "submitted_by": "alice",
        "approved_by": None,
        "rejected_by": None,
        "rejection_reason": "",
        "released_at": None,
        "settled_at": None,
        "version": 1,
    }
    assert payment.submitted_by == alice
    assert payment.organisation == acme_eur.organisation
    assert payment.creditor_iban == VALID_CREDITOR_IBAN


def test_submit_writes_payment_submitted_to_the_outbox(client_for, alice, acme_eur):
    # when
    response = client_for(alice).post(
        "/api/v1/payments", payment_request_body(acme_eur), format="json"
    )

    # then
    [message] = OutboxMessage.objects.all()
    assert message.event_type == "PaymentSubmitted"
    assert message.subject == response.json()["id"]
    assert message.partition_key == str(acme_eur.id)
    assert message.sequence == 1
    assert message.published_at is None


def test_read_only_fields_in_the_request_are_never_written(
    client_for, alice, bob, acme_eur, globex
):
    # given
    body = payment_request_body(
        acme_eur,
        id="3f1e9a4c-1b2d-4c5e-8f70-9a1b2c3d4e5f",
        status="approved",
        submitted_by="bob",
        approved_by="bob",
        rejected_by="bob",
        rejection_reason="sneaky",
        organisation=str(globex.id),
        version=99,
        created_at="2000-01-01T00:00:00Z",
    )

    # when
    response = client_for(alice).post("/api/v1/payments", body, format="json")

    # then
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert str(payment.id) != "3f1e9a4c-1b2d-4c5e-8f70-9a1b2c3d4e5f"
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert payment.submitted_by == alice
    assert payment.approved_by is None
    assert payment.rejected_by is None
    assert payment.rejection_reason == ""
    assert payment.organisation_id == acme_eur.organisation_id
    assert payment.version == 1
    assert payment.created_at.year > 2000
    answer = response.json()
    assert (answer["id"], answer["status"], answer["version"]) == (
        str(payment.id),
        "pending_approval",
        1,
    )
    assert OutboxMessage.objects.get().sequence == 1


def test_submit_in_a_currency_without_minor_units(client_for, alice, acme):
    # given
    account = DebtorAccountFactory(organisation=acme, currency="JPY")

    # when
    response = client_for(alice).post(
        "/api/v1/payments",
        payment_request_body(account, amount=5000, currency="JPY"),
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency) == (5000, "JPY")
    assert OutboxMessage.objects.get().envelope["data"]["amount"] == 5000


def test_text_fields_are_trimmed_and_the_reference_is_optional(
    client_for, alice, acme_eur
):
    # given
    body = payment_request_body(
        acme_eur, creditor={"name": "  Jane Supplier  ", "iban": VALID_CREDITOR_IBAN}
    )
    del body["reference"]

    # when
    response = client_for(alice).post("/api/v1/payments", body, format="json")

    # then
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert (payment.creditor_name, payment.reference) == ("Jane Supplier", "")
