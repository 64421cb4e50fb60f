"""A stateful test: random commands by random users, checked against a tiny model.

Hypothesis submits, approves, rejects and cancels payments as makers, approvers,
a member without roles and a user of another organisation. After every step the
database must agree with the model: each payment's status and version, and its
outbox events in sequence order; a refused command must have written nothing.
"""

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from events.models import OutboxMessage
from organisations.errors import RoleRequired
from payments.errors import (
    NotSubmitter,
    PaymentNotFound,
    PaymentNotPending,
    SelfApprovalForbidden,
)
from payments.models import Payment, PaymentStatus
from payments.services import payment_approve, payment_cancel, payment_reject
from tests.assertions import written_state
from tests.factories import (
    DebtorAccountFactory,
    OrganisationFactory,
    UserFactory,
    payment_submitted,
)

# username: (organisation, is_maker, is_approver)
USERS = {
    "alice": ("acme", True, False),
    "bob": ("acme", False, True),
    "carol": ("acme", True, True),
    "dave": ("acme", False, False),
    "gina": ("globex", True, True),
}
OUTCOMES = {
    "approve": (PaymentStatus.APPROVED, "PaymentApproved"),
    "reject": (PaymentStatus.REJECTED, "PaymentRejected"),
    "cancel": (PaymentStatus.CANCELLED, "PaymentCancelled"),
}


@dataclass
class ModelPayment:
    organisation: str
    submitter: str
    status: str = PaymentStatus.PENDING_APPROVAL
    events: list[str] = field(default_factory=lambda: ["PaymentSubmitted"])
    approved_by: str | None = None
    rejected_by: str | None = None


def _expected_refusal(payment: ModelPayment, actor: str, command: str):
    """Return the error the command must raise, or None if it must succeed."""
    organisation, _, is_approver = USERS[actor]
    if organisation != payment.organisation:
        return PaymentNotFound
    if command in ("approve", "reject"):
        if actor == payment.submitter:
            return SelfApprovalForbidden
        if not is_approver:
            return RoleRequired
    elif actor != payment.submitter:
        return NotSubmitter
    if payment.status != PaymentStatus.PENDING_APPROVAL:
        return PaymentNotPending
    return None


class PaymentCommands(RuleBasedStateMachine):
    payments = Bundle("payments")

    def __init__(self):
        super().__init__()
        # Each run gets its own savepoint, rolled back in teardown, so runs never
        # see each other's rows.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        organisations = {
            slug: OrganisationFactory(slug=slug) for slug in ("acme", "globex")
        }
        self.users = {
            name: UserFactory(
                username=name,
                organisation=organisations[org],
                is_maker=is_maker,
                is_approver=is_approver,
            )
            for name, (org, is_maker, is_approver) in USERS.items()
        }
        self.accounts = {
            slug: DebtorAccountFactory(organisation=organisation)
            for slug, organisation in organisations.items()
        }
        self.model: dict = {}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _refused(self, call, error) -> None:
        before = written_state()
        with pytest.raises(error):
            call()
        assert written_state() == before

    @rule(target=payments, maker=st.sampled_from(sorted(USERS)))
    def submit(self, maker):
        organisation, is_maker, _ = USERS[maker]

        def call():
            return payment_submitted(
                by=self.users[maker], account=self.accounts[organisation]
            )

        if not is_maker:
            self._refused(call, RoleRequired)
            return multiple()
        payment = call()
        self.model[payment.id] = ModelPayment(organisation, maker)
        return payment.id

    @rule(
        payment_id=payments,
        actor=st.sampled_from(sorted(USERS)),
        command=st.sampled_from(sorted(OUTCOMES)),
    )
    def decide(self, payment_id, actor, command):
        expected = self.model[payment_id]
        user = self.users[actor]
        calls = {
            "approve": lambda: payment_approve(payment_id=payment_id, actor=user),
            "reject": lambda: payment_reject(
                payment_id=payment_id, actor=user, reason="Not ours"
            ),
            "cancel": lambda: payment_cancel(payment_id=payment_id, actor=user),
        }
        error = _expected_refusal(expected, actor, command)
        if error is not None:
            self._refused(calls[command], error)
            return
        calls[command]()
        expected.status, event_type = OUTCOMES[command]
        expected.events.append(event_type)
        if command == "approve":
            expected.approved_by = actor
        elif command == "reject":
            expected.rejected_by = actor

    @invariant()
    def database_agrees_with_the_model(self):
        stored = {
            payment.id: payment
            for payment in Payment.objects.select_related(
                "submitted_by", "approved_by", "rejected_by"
            )
        }
        assert stored.keys() == self.model.keys()
        for payment_id, expected in self.model.items():
            payment = stored[payment_id]
            assert payment.status == expected.status
            assert payment.version == len(expected.events)
            assert payment.submitted_by.username == expected.submitter
            assert getattr(payment.approved_by, "username", None) == (
                expected.approved_by
            )
            assert getattr(payment.rejected_by, "username", None) == (
                expected.rejected_by
            )
            events = OutboxMessage.objects.filter(subject=str(payment_id))
            assert list(
                events.order_by("sequence").values_list("sequence", "event_type")
            ) == list(enumerate(expected.events, start=1))
        assert OutboxMessage.objects.count() == sum(
            len(expected.events) for expected in self.model.values()
        )


def test_commands_and_their_events_always_agree(db):
    run_state_machine_as_test(
        PaymentCommands,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
