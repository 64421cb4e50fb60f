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
