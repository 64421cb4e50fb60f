"""The maker-checker rules have one home (payments/rules.py): what the page says
before a decision is exactly what the service answers to it.

Every member (maker, approver, both, neither) against every payment state, for
every command: the page's Decision and the service's outcome must agree, the
refusal's message included, so the two can check neither different rules nor
the same rules in a different order.
"""

import itertools

import pytest
from django.db import transaction

from contracts.registry import SCHEMA_DIR
from domain.errors import DomainError
from events.models import OutboxMessage
from organisations.selectors import membership_get
from payments.events import REPORTED_STATUS_EVENTS, STATUS_EVENTS
from payments.models import Payment, PaymentStatus
from payments.services import payment_approve, payment_cancel, payment_reject
from tests.factories import UserFactory, payment_submitted
from web.decisions import approval_decision, cancel_decision

COMMANDS = {
    "approve": (payment_approve, approval_decision),
    "reject": (
        lambda **kw: payment_reject(reason="Wrong creditor", **kw),
        approval_decision,
    ),
    "cancel": (payment_cancel, cancel_decision),
}


class Undo(Exception):
    """Roll a successful command back, so the next combination starts clean."""


def _service_outcome(command, payment, actor) -> str | None:
    """Run the command; return the refusal's message, or None if it went through."""
    try:
        with transaction.atomic():
            command(payment_id=payment.id, actor=actor)
            raise Undo
    except Undo:
        return None
    except DomainError as exc:
        return exc.detail


@pytest.mark.django_db
def test_the_page_explains_exactly_what_the_service_answers(
    acme, alice, bob, carol, acme_eur
):
    # given: every kind of member, and payments of two submitters in every state
    dave = UserFactory(username="dave", organisation=acme)  # no role at all
    members = [alice, bob, carol, dave]
    payments = []
    for submitter, status in itertools.product((alice, carol), PaymentStatus):
        payment = payment_submitted(by=submitter, account=acme_eur)
        Payment.objects.filter(id=payment.id).update(status=status)
        payments.append(Payment.objects.get(id=payment.id))

    for (name, (command, explain)), payment, actor in itertools.product(
        COMMANDS.items(), payments, members
    ):
        # when
        decision = explain(payment=payment, membership=membership_get(user=actor))
        refused = _service_outcome(command, payment, actor)
        # then
        case = f"{actor.username} {name}s {payment.submitted_by}'s {payment.status}"
        assert decision.allowed is (refused is None), case
        assert decision.reason == (refused or ""), case


@pytest.mark.django_db
def test_maker_checker_is_checked_before_the_role(alice, acme_eur):
    # given: alice, only a maker, looks at her own pending payment
    payment = payment_submitted(by=alice, account=acme_eur)
    # when
    decision = approval_decision(payment=payment, membership=membership_get(user=alice))
    # then: she is told about the four eyes first, the service says the same
    assert decision.reason == (
        "You submitted this payment: a second person must approve or reject it "
        "(maker-checker)."
    )
    assert _service_outcome(payment_approve, payment, alice) == decision.reason


def test_every_status_is_announced_by_an_event_with_a_contract():
    announced = {**STATUS_EVENTS, **REPORTED_STATUS_EVENTS}
    assert set(announced) == set(PaymentStatus)
    for event_type in announced.values():
        assert (SCHEMA_DIR / f"{event_type}.v1.json").is_file()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["approve", "reject", "cancel"])
def test_each_command_emits_the_event_its_new_status_names(
    alice, bob, acme_eur, command
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    actor = alice if command == "cancel" else bob
    # when
    changed = COMMANDS[command][0](payment_id=payment.id, actor=actor)
    # then
    latest = OutboxMessage.objects.filter(subject=str(payment.id)).latest("sequence")
    assert latest.event_type == STATUS_EVENTS[changed.status]
