"""Commands on payments: what each one changes and emits, and what it refuses."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.registry import validate
from domain.errors import Invalid
from events.models import OutboxMessage
from organisations.errors import NoOrganisation, RoleRequired
from payments.errors import (
    AccountNotFound,
    InvalidAmount,
    NotSubmitter,
    PaymentNotFound,
    PaymentNotPending,
    SelfApprovalForbidden,
)
from payments.models import Payment, PaymentStatus
from payments.services import (
    payment_approve,
    payment_cancel,
    payment_reject,
    payment_submit,
)
from tests.assertions import written_state
from tests.factories import (
    VALID_CREDITOR_IBAN,
    DebtorAccountFactory,
    UserFactory,
    payment_submitted,
)

COMMANDS = {
    "approve": lambda payment, actor: payment_approve(
        payment_id=payment.id, actor=actor
    ),
    "reject": lambda payment, actor: payment_reject(
        payment_id=payment.id, actor=actor, reason="Duplicate invoice"
    ),
    "cancel": lambda payment, actor: payment_cancel(payment_id=payment.id, actor=actor),
}


def _events(payment) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id"))


def _user(user) -> dict:
    return {"id": user.pk, "username": user.username}


def test_submit_stores_a_pending_payment_and_its_submitted_event(alice, acme_eur):
    # when
    payment = payment_submit(
        actor=alice,
        debtor_account_id=acme_eur.id,
        amount=12550,
        currency="EUR",
        creditor_name="Jane Supplier",
        creditor_iban="de89 3704 0044 0532 0130 00",
        reference="INV-1",
    )

    # then
    stored = Payment.objects.get()
    assert stored.id == payment.id
    assert stored.status == PaymentStatus.PENDING_APPROVAL
    assert stored.organisation_id == acme_eur.organisation_id
    assert stored.debtor_account_id == acme_eur.id
    assert stored.submitted_by == alice
    assert stored.approved_by is None
    assert stored.rejected_by is None
    assert (stored.amount, stored.currency) == (12550, "EUR")
    assert stored.creditor_name == "Jane Supplier"
    assert stored.creditor_iban == VALID_CREDITOR_IBAN  # normalised
    assert stored.reference == "INV-1"
    assert stored.version == 1
    [message] = OutboxMessage.objects.all()
    assert message.event_type == "PaymentSubmitted"
    assert message.schema_version == 1
    assert message.subject == str(payment.id)
    assert message.partition_key == str(acme_eur.id)
    assert message.sequence == 1
    assert message.published_at is None


def test_submitted_event_has_the_envelope_and_payload_of_its_contract(alice, acme_eur):
    # when
    payment = payment_submitted(by=alice, account=acme_eur)

    # then
    [message] = _events(payment)
    envelope = message.envelope
    assert validate(envelope) == ("PaymentSubmitted", 1)
    assert envelope["id"] == str(message.event_id)
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "PaymentSubmitted"
    assert envelope["source"] == "/payments"
    assert envelope["subject"] == str(payment.id)
    assert envelope["dataschema"] == "/contracts/PaymentSubmitted/v1"
    assert envelope["partitionkey"] == str(acme_eur.id)
    assert envelope["sequence"] == 1
    # What common consumers need, and nothing of the internal model (no status,
    # no version, no creditor IBAN).
    assert envelope["data"] == {
        "payment_id": str(payment.id),
        "organisation_id": str(acme_eur.organisation_id),
        "debtor_account_id": str(acme_eur.id),
        "debtor_iban": acme_eur.iban,
        "amount": 12550,
        "currency": "EUR",
        "creditor_name": "Jane Supplier",
        "reference": "INV-1",
        "submitted_by": _user(alice),
        "actor": _user(alice),
    }


def test_approve_moves_to_approved_and_emits_payment_approved(alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    payment_approve(payment_id=payment.id, actor=bob)

    # then
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.APPROVED
    assert payment.approved_by == bob
    assert payment.rejected_by is None
    assert payment.version == 2
    submitted, approved = _events(payment)
    assert (submitted.event_type, submitted.sequence) == ("PaymentSubmitted", 1)
    assert (approved.event_type, approved.sequence) == ("PaymentApproved", 2)
    assert approved.partition_key == str(acme_eur.id)
    assert validate(approved.envelope) == ("PaymentApproved", 1)
    assert approved.envelope["data"]["actor"] == _user(bob)
    assert approved.envelope["data"]["submitted_by"] == _user(alice)


def test_a_maker_and_approver_may_approve_someone_elses_payment(alice, carol, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    payment_approve(payment_id=payment.id, actor=carol)

    # then
    payment.refresh_from_db()
    assert (payment.status, payment.approved_by) == (PaymentStatus.APPROVED, carol)


def test_reject_records_who_and_why_and_emits_payment_rejected(alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    payment_reject(payment_id=payment.id, actor=bob, reason="  Duplicate invoice ")

    # then
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED
    assert payment.rejected_by == bob
    assert payment.approved_by is None
    assert payment.rejection_reason == "Duplicate invoice"
    assert payment.version == 2
    rejected = _events(payment)[-1]
    assert (rejected.event_type, rejected.sequence) == ("PaymentRejected", 2)
    assert validate(rejected.envelope) == ("PaymentRejected", 1)
    assert rejected.envelope["data"]["reason"] == "Duplicate invoice"
    assert rejected.envelope["data"]["actor"] == _user(bob)


def test_cancel_by_the_submitter_emits_payment_cancelled(alice, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    payment_cancel(payment_id=payment.id, actor=alice)

    # then
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.version == 2
    cancelled = _events(payment)[-1]
    assert (cancelled.event_type, cancelled.sequence) == ("PaymentCancelled", 2)
    assert validate(cancelled.envelope) == ("PaymentCancelled", 1)
    assert cancelled.envelope["data"]["actor"] == _user(alice)


@pytest.mark.parametrize(
    ("command", "actor", "columns"),
    [
        ("approve", "bob", {"status", "approved_by_id"}),
        ("reject", "bob", {"status", "rejected_by_id", "rejection_reason"}),
        ("cancel", "alice", {"status"}),
    ],
)
def test_a_decision_writes_only_the_columns_it_changes(
    request, alice, acme_eur, command, actor, columns
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    with CaptureQueriesContext(connection) as queries:
        COMMANDS[command](payment, request.getfixturevalue(actor))

    # then: one UPDATE of the payment, setting the change, its version and time
    [update] = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")
    ]
    assigned = update.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    written = {part.split("=")[0].strip().strip('"') for part in assigned.split(", ")}
    assert written == columns | {"version", "updated_at"}


@pytest.mark.parametrize(
    ("command", "submitter", "actor", "error"),
    [
        ("approve", "alice", "alice", SelfApprovalForbidden),  # before the role
        ("approve", "carol", "alice", RoleRequired),  # a maker only
        ("approve", "carol", "carol", SelfApprovalForbidden),
        ("approve", "alice", "gina", PaymentNotFound),  # another organisation
        ("approve", "alice", "outsider", NoOrganisation),
        ("reject", "alice", "alice", SelfApprovalForbidden),
        ("reject", "carol", "alice", RoleRequired),
        ("reject", "carol", "carol", SelfApprovalForbidden),
        ("reject", "alice", "gina", PaymentNotFound),
        ("cancel", "alice", "bob", NotSubmitter),
        ("cancel", "alice", "carol", NotSubmitter),
        ("cancel", "alice", "gina", PaymentNotFound),
        ("cancel", "alice", "outsider", NoOrganisation),
    ],
)
def test_a_refused_decision_writes_nothing(
    request, acme_eur, command, submitter, actor, error
):
    # given
    request.getfixturevalue("bob")
    payment = payment_submitted(by=request.getfixturevalue(submitter), account=acme_eur)
    refuser = request.getfixturevalue(actor)
    before = written_state()

    # when
    with pytest.raises(error):
        COMMANDS[command](payment, refuser)

    # then
    assert written_state() == before


@pytest.mark.parametrize("first", ["approve", "reject", "cancel"])
@pytest.mark.parametrize("then", ["approve", "reject", "cancel"])
def test_a_decided_payment_refuses_every_further_command(
    alice, bob, acme_eur, first, then
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    COMMANDS[first](payment, alice if first == "cancel" else bob)
    before = written_state()

    # when
    with pytest.raises(PaymentNotPending):
        COMMANDS[then](payment, alice if then == "cancel" else bob)

    # then
    assert written_state() == before


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reject_without_a_reason_is_refused(alice, bob, acme_eur, reason):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    before = written_state()

    # when
    with pytest.raises(Invalid) as refused:
        payment_reject(payment_id=payment.id, actor=bob, reason=reason)

    # then
    assert "reason" in refused.value.errors
    assert written_state() == before


@pytest.mark.parametrize("payment_id", ["not-a-uuid", "", "0" * 40, 42])
def test_a_malformed_payment_id_is_not_found(bob, payment_id):
    # given
    before = written_state()

    # when
    with pytest.raises(PaymentNotFound):
        payment_approve(payment_id=payment_id, actor=bob)

    # then
    assert written_state() == before


def test_submit_by_an_approver_without_the_maker_role_is_refused(bob, acme_eur):
    # when
    with pytest.raises(RoleRequired):
        payment_submitted(by=bob, account=acme_eur)

    # then
    assert written_state() == {"payments": [], "outbox": [], "idempotency_keys": []}


def test_submit_by_a_user_without_organisation_is_refused(outsider, acme_eur):
    # when
    with pytest.raises(NoOrganisation):
        payment_submitted(by=outsider, account=acme_eur)

    # then
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_submit_from_another_organisations_account_is_refused(gina, acme_eur):
    # when
    with pytest.raises(AccountNotFound) as refused:
        payment_submitted(by=gina, account=acme_eur)

    # then
    assert "debtor_account" in refused.value.errors
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "account_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"]
)
def test_submit_from_an_unknown_account_is_refused(alice, account_id):
    # when
    with pytest.raises(AccountNotFound):
        payment_submit(
            actor=alice,
            debtor_account_id=account_id,
            amount=100,
            currency="EUR",
            creditor_name="Jane Supplier",
            creditor_iban=VALID_CREDITOR_IBAN,
        )

    # then
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "USD"}, "currency"),  # the account holds EUR
        ({"currency": "XXX"}, "currency"),
        ({"currency": "eur"}, "currency"),
        ({"creditor_iban": "DE89370400440532013001"}, "creditor"),  # checksum
        ({"creditor_iban": "DE8937040044053201300"}, "creditor"),  # DE length
        ({"creditor_iban": "not an iban"}, "creditor"),
        ({"creditor_name": ""}, "creditor"),
        ({"creditor_name": "   "}, "creditor"),
        ({"creditor_name": "x" * 141}, "creditor"),
        ({"reference": "x" * 141}, "reference"),
    ],
)
def test_submit_refuses_invalid_input_and_writes_nothing(
    alice, acme_eur, overrides, field
):
    # when
    with pytest.raises(Invalid) as refused:
        payment_submitted(by=alice, account=acme_eur, **overrides)

    # then
    assert field in refused.value.errors
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("amount", [0, -1, True, 1.0, 12.5, "100", None])
def test_submit_refuses_an_amount_that_is_not_a_positive_integer(
    alice, acme_eur, amount
):
    # when
    with pytest.raises(InvalidAmount) as refused:
        payment_submitted(by=alice, account=acme_eur, amount=amount)

    # then
    assert "amount" in refused.value.errors
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("currency", "ceiling"),
    [("EUR", 1000_00), ("JPY", 1000), ("KWD", 1000_000), ("CLF", 1000_0000)],
)
def test_amount_ceiling_follows_the_currencys_minor_units(
    settings, alice, acme, currency, ceiling
):
    # given
    settings.PAYMENT_MAX_MAJOR_UNITS = 1000
    account = DebtorAccountFactory(organisation=acme, currency=currency)

    # when
    with pytest.raises(InvalidAmount):
        payment_submitted(by=alice, account=account, amount=ceiling + 1)
    payment = payment_submitted(by=alice, account=account, amount=ceiling)

    # then
    assert list(Payment.objects.values_list("id", "amount")) == [(payment.id, ceiling)]
    assert OutboxMessage.objects.get().envelope["data"]["amount"] == ceiling


def test_a_member_without_roles_can_neither_submit_nor_decide(alice, acme, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    viewer = UserFactory(organisation=acme)
    before = written_state()

    # when
    with pytest.raises(RoleRequired):
        payment_submitted(by=viewer, account=acme_eur)
    with pytest.raises(RoleRequired):
        payment_approve(payment_id=payment.id, actor=viewer)

    # then
    assert written_state() == before
