"""The notifications consumer: who is told what, and each e-mail leaves once."""

import uuid

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from events.inbox import readable_by
from notifications.emails import notification_email_send, notification_emails_send_due
from notifications.handlers import HANDLERS
from notifications.models import EmailStatus, Notification
from tests.events_builders import payment_event
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("with_emails")


def apply(event):
    # As the inbox dispatches: an older version is upcast to the one handled.
    handler, readable = readable_by(HANDLERS, event)
    with transaction.atomic():
        handler(readable)


def recipients(event) -> set[str]:
    return set(
        Notification.objects.filter(event_id=event.id).values_list(
            "recipient__username", flat=True
        )
    )


def test_a_submitted_payment_tells_every_approver(
    django_capture_on_commit_callbacks, acme, alice, bob, carol, gina
):
    # given: alice is a maker; bob and carol approve; gina approves at globex
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert recipients(event) == {"bob", "carol"}
    assert sorted(m.to[0] for m in mail.outbox) == [
        "bob@example.com",
        "carol@example.com",
    ]
    notification = Notification.objects.get(event_id=event.id, recipient=bob)
    assert notification.event_type == "PaymentSubmitted"
    assert str(notification.payment_id) == event.data["payment_id"]
    assert notification.organisation == acme
    assert notification.subject == "Approval needed: 125.50 EUR to Initech Supplies"
    assert "alice submitted a payment of 125.50 EUR" in notification.body
    assert notification.email_sent_at is not None


def test_the_submitter_is_not_asked_to_approve_their_own_payment(
    django_capture_on_commit_callbacks, acme, bob, carol
):
    # given: carol is maker and approver
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=carol)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert recipients(event) == {"bob"}
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


APPROVED = "Approved: your payment of 125.50 EUR to Initech Supplies"
REJECTED = "Rejected: your payment of 125.50 EUR to Initech Supplies"


@pytest.mark.parametrize(
    ("event_type", "version", "subject"),
    [
        # An approval in either version (a v1 is upcast) tells the same words.
        ("PaymentApproved", 1, APPROVED),
        ("PaymentApproved", 2, APPROVED),
        ("PaymentRejected", 1, REJECTED),
    ],
)
def test_a_decision_tells_the_submitter(
    django_capture_on_commit_callbacks,
    acme,
    alice,
    bob,
    carol,
    event_type,
    version,
    subject,
):
    # given
    event = payment_event(
        event_type, organisation=acme, submitted_by=alice, actor=bob, version=version
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert recipients(event) == {"alice"}
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == subject
    assert "bob" in email.body
    assert "125.50 EUR to Initech Supplies from DE89370400440532013000" in email.body
    if event_type == "PaymentRejected":
        assert "Reason: Duplicate invoice" in email.body


def test_a_second_apply_fails_and_sends_no_second_email(
    django_capture_on_commit_callbacks, acme, alice, bob, carol
):
    # given
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # when / then: the inbox skips duplicates; the unique constraint is the belt
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(IntegrityError),
    ):
        apply(event)
    assert callbacks == []
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 2


def test_no_email_leaves_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks, acme, alice, bob
):
    # given
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)

    # when: the inbox write after the handler fails, say
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        HANDLERS[("PaymentSubmitted", 1)](event)
        raise RuntimeError("inbox write failed")

    # then
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_the_email_is_sent_after_commit_not_before(
    django_capture_on_commit_callbacks, acme, alice, bob
):
    # given
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)

    # when: the transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        apply(event)

    # then
    assert mail.outbox == []
    assert Notification.objects.get().email_sent_at is None
    assert len(callbacks) == 1


def test_sending_a_notification_twice_emails_it_once(acme, alice, bob):
    # given: the after-commit callback did not run (e.g. the worker died)
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)
    apply(event)
    notification = Notification.objects.get()

    # when
    first = notification_email_send(notification_id=notification.id)
    second = notification_email_send(notification_id=notification.id)

    # then
    assert (first, second) == (True, False)
    [email] = mail.outbox
    assert email.extra_headers["Message-ID"] == (f"<{event.id}.{alice.pk}@example.com>")
    notification.refresh_from_db()
    assert notification.email_sent_at is not None


def test_the_sweep_sends_what_the_callback_missed(acme, alice, bob):
    # given: a notification whose after-commit send never ran
    apply(payment_event("PaymentApproved", organisation=acme, submitted_by=alice))

    # when / then
    assert notification_emails_send_due().sent == 1
    assert notification_emails_send_due().claimed == 0
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_user_without_an_email_address_is_notified_but_not_emailed(
    django_capture_on_commit_callbacks, acme, alice
):
    # given
    dave = UserFactory(username="dave", organisation=acme, is_approver=True)
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    notification = Notification.objects.get(recipient=dave)
    assert notification.email_status == EmailStatus.NO_ADDRESS
    assert notification.email_sent_at is None
    assert "dave" not in {m.to[0].split("@")[0] for m in mail.outbox}
    assert notification_emails_send_due().claimed == 0


def test_a_submitter_of_another_organisation_is_not_told(
    django_capture_on_commit_callbacks, acme, gina
):
    # given: an acme event naming a globex user (a bad producer, say)
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=gina)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_a_submitter_no_longer_active_is_not_told(
    django_capture_on_commit_callbacks, acme, alice
):
    # given: alice's account was deactivated after she submitted
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_an_active_submitter_is_told_at_the_address_she_has_now(
    django_capture_on_commit_callbacks, acme, alice
):
    # given: alice changed her address since she submitted
    alice.email = "alice.new@example.com"
    alice.save(update_fields=["email"])
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert Notification.objects.get().recipient_id == alice.pk
    assert [m.to for m in mail.outbox] == [["alice.new@example.com"]]


def test_a_withdrawn_payment_tells_those_asked_to_decide(
    django_capture_on_commit_callbacks, acme, alice, bob, carol, gina
):
    # given: alice withdraws a payment that bob and carol were asked to decide
    event = payment_event("PaymentCancelled", organisation=acme, submitted_by=alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    assert recipients(event) == {"bob", "carol"}
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("bob@example.com", "Withdrawn: 125.50 EUR to Initech Supplies"),
        ("carol@example.com", "Withdrawn: 125.50 EUR to Initech Supplies"),
    ]
    assert "alice withdrew the payment of 125.50 EUR" in mail.outbox[0].body
    assert "no longer needs your decision" in mail.outbox[0].body


def test_a_withdrawal_by_an_approver_does_not_tell_the_submitter(
    django_capture_on_commit_callbacks, acme, bob, carol
):
    # given: carol (maker and approver) withdraws her own payment
    event = payment_event("PaymentCancelled", organisation=acme, submitted_by=carol)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then: as for the submission, only the other approver was asked
    assert recipients(event) == {"bob"}
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_notifications_act_on_submitted_approved_rejected_and_cancelled():
    assert set(HANDLERS) == {
        ("PaymentSubmitted", 1),
        ("PaymentApproved", 2),
        ("PaymentRejected", 1),
        ("PaymentCancelled", 1),
        ("PaymentSettled", 1),
        ("SettlementMismatchDetected", 1),
    }


def test_a_payment_gets_one_notification_per_event(
    django_capture_on_commit_callbacks, acme, alice, bob, carol
):
    # given: one payment, submitted then approved
    payment_id = uuid.uuid4()
    fields = {"organisation": acme, "submitted_by": alice, "payment_id": payment_id}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(payment_event("PaymentSubmitted", **fields))
        apply(payment_event("PaymentApproved", actor=bob, **fields))

    # then
    assert sorted(
        Notification.objects.filter(payment_id=payment_id).values_list(
            "event_type", "recipient__username"
        )
    ) == [
        ("PaymentApproved", "alice"),
        ("PaymentSubmitted", "bob"),
        ("PaymentSubmitted", "carol"),
    ]
    assert len(mail.outbox) == 3
