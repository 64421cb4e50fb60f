"""Through the inbox: a redelivered event is skipped, so nobody is e-mailed twice."""

from django.core import mail

from events.inbox import consume
from notifications.handlers import HANDLERS
from notifications.models import Notification
from tests.events_builders import payment_event


def test_a_redelivered_submission_emails_each_approver_once(
    django_capture_on_commit_callbacks, with_emails, acme, alice, bob, carol
):
    # given
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)

    # when: the broker delivers it twice
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            consume(
                consumer="notifications", envelope=event.envelope, handlers=HANDLERS
            )
            for _ in range(2)
        ]

    # then
    assert statuses == ["applied", "skipped_duplicate"]
    assert Notification.objects.count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "bob@example.com",
        "carol@example.com",
    ]


def test_a_withdrawn_payment_tells_the_approvers_asked_to_decide(
    django_capture_on_commit_callbacks, with_emails, acme, alice, bob, carol
):
    # given: alice submitted a payment; bob and carol were asked to decide
    submitted = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    cancelled = payment_event(
        "PaymentCancelled",
        organisation=acme,
        submitted_by=alice,
        payment_id=submitted.data["payment_id"],
        debtor_account_id=submitted.data["debtor_account_id"],
    )

    # when: the broker delivers the submission, then the withdrawal
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            consume(consumer="notifications", envelope=e.envelope, handlers=HANDLERS)
            for e in (submitted, cancelled)
        ]

    # then: those asked are told it was withdrawn; the submitter is not
    assert statuses == ["applied", "applied"]
    assert sorted(
        Notification.objects.filter(event_id=cancelled.id).values_list(
            "recipient__username", "event_type", "email_status"
        )
    ) == [
        ("bob", "PaymentCancelled", "sent"),
        ("carol", "PaymentCancelled", "sent"),
    ]
    withdrawn = [m for m in mail.outbox if m.subject.startswith("Withdrawn:")]
    assert sorted(m.to[0] for m in withdrawn) == [
        "bob@example.com",
        "carol@example.com",
    ]
    assert {m.subject for m in withdrawn} == {
        "Withdrawn: 125.50 EUR to Initech Supplies"
    }
