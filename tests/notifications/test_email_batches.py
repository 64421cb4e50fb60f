"""A pass claims its e-mails as one batch, sends them over one connection and
marks them together, through a real SMTP server.

The database work of a pass stays the same however many e-mails it sends (one
statement more per failure); the batch's fence still keeps a stale pass from
overwriting a newer claim, and e-mails a pass never tried are given back.
"""

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.inbox import readable_by
from notifications import emails
from notifications.email_claims import email_claim
from notifications.emails import notification_emails_send_due
from notifications.handlers import HANDLERS
from notifications.models import EmailStatus, Notification
from tests.events_builders import payment_event
from tests.notifications.smtp_server import free_port

pytestmark = pytest.mark.usefixtures("with_emails")

# Lock and load the batch, claim it, mark the sent ones.
STATEMENTS_PER_PASS = 3


def apply(event):
    with transaction.atomic():
        handler, readable = readable_by(HANDLERS, event)
        handler(readable)


def due_emails(acme, users, count: int) -> list[Notification]:
    """`count` approvals, one e-mail each to its submitter, longest due first."""
    now = timezone.now()
    for i in range(count):
        submitter = users[i % len(users)]
        event = payment_event(
            "PaymentApproved", organisation=acme, submitted_by=submitter
        )
        apply(event)
        Notification.objects.filter(event_id=event.id).update(
            email_next_attempt_at=now - timedelta(minutes=count - i)
        )
    return list(Notification.objects.order_by("email_next_attempt_at"))


def statements(queries: CaptureQueriesContext) -> list[str]:
    # Without the savepoints the test's own transaction turns a pass's
    # transaction into: outside a test they are a BEGIN and a COMMIT.
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def fields(notification: Notification) -> tuple:
    notification.refresh_from_db()
    return (
        notification.email_status,
        notification.email_attempts,
        notification.email_error,
    )


@pytest.mark.parametrize("count", [1, 8])
def test_a_pass_costs_the_same_few_statements_however_many_emails_it_sends(
    smtp_server, acme, alice, bob, carol, count
):
    # given
    due = due_emails(acme, [alice, bob, carol], count)

    # when
    with CaptureQueriesContext(connection) as queries:
        done = notification_emails_send_due()

    # then: every e-mail arrived, over one connection, and is marked sent
    assert (done.claimed, done.sent, done.more) == (count, count, False)
    received = smtp_server.received
    assert [r.message["Message-ID"] for r in received] == [
        emails.message_id(n) for n in due
    ]
    assert len({r.peer for r in received}) == 1
    assert {fields(n) for n in due} == {(EmailStatus.SENT, 1, "")}
    assert len(statements(queries)) <= STATEMENTS_PER_PASS


def test_each_failure_costs_one_statement_more(
    settings, smtp_server, acme, alice, bob, carol
):
    # given: six e-mails due, the two to alice refused by the server
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 60
    due = due_emails(acme, [alice, bob, carol], 6)
    smtp_server.refuse_address("alice@example.com")

    # when
    with CaptureQueriesContext(connection) as queries:
        done = notification_emails_send_due()

    # then: the other four were sent; alice's wait for their backoff
    assert (done.claimed, done.sent) == (6, 4)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "bob@example.com",
        "bob@example.com",
        "carol@example.com",
        "carol@example.com",
    ]
    for notification in due:
        status, attempts, error = fields(notification)
        if notification.recipient == alice:
            assert (status, attempts) == (EmailStatus.PENDING, 1)
            assert "mailbox unavailable" in error
            wait = notification.email_next_attempt_at - timezone.now()
            assert wait > timedelta(seconds=55)
        else:
            assert (status, attempts, error) == (EmailStatus.SENT, 1, "")
    assert len(statements(queries)) <= STATEMENTS_PER_PASS + 2


def test_a_row_claimed_again_mid_pass_is_not_marked_by_the_stale_pass(
    monkeypatch, caplog, smtp_server, acme, alice, bob, carol
):
    # given: three e-mails due; once the pass has sent the first, the third's
    # lease is over (as for a pass that took too long) and another sender
    # claims it
    first, second, third = due_emails(acme, [alice, bob, carol], 3)
    deliver = emails._deliver
    reclaimed = []

    def deliver_then_lose_the_third(notification, backend):
        outcome = deliver(notification, backend)
        if notification.id == first.id:
            Notification.objects.filter(id=third.id).update(
                email_next_attempt_at=timezone.now()
            )
            reclaimed.extend(email_claim(limit=1, notification_ids=[third.id]))
        return outcome

    monkeypatch.setattr(emails, "_deliver", deliver_then_lose_the_third)

    # when
    done = notification_emails_send_due()

    # then: the stale pass sent all three (e-mail is at least once) ...
    assert [n.id for n in reclaimed] == [third.id]
    assert (done.claimed, done.sent) == (3, 3)
    assert len(smtp_server.received) == 3
    # ... but marked only its own: the third stays with the newer claim
    assert fields(first) == fields(second) == (EmailStatus.SENT, 1, "")
    assert fields(third) == (EmailStatus.PENDING, 2, "")
    assert third.email_next_attempt_at > timezone.now() + timedelta(seconds=250)
    assert "1 of 3 sent e-mail(s) were claimed again" in caplog.text


def test_emails_left_untried_when_the_server_is_away_are_due_again_with_no_attempt_lost(
    settings, smtp_server, acme, alice, bob, carol
):
    # given: three e-mails due, the second already failed twice before, and
    # no mail server listening
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 60
    first, second, third = due_emails(acme, [alice, bob, carol], 3)
    Notification.objects.filter(id=second.id).update(
        email_attempts=2, email_error="SMTPDataError: earlier"
    )
    settings.EMAIL_PORT = free_port()

    # when
    done = notification_emails_send_due()

    # then: one attempt, then the pass stopped
    assert (done.claimed, done.sent, done.more) == (1, 0, False)
    status, attempts, error = fields(first)
    assert (status, attempts) == (EmailStatus.PENDING, 1)
    assert "ConnectionRefusedError" in error
    assert first.email_next_attempt_at > timezone.now() + timedelta(seconds=50)
    # and: the two never tried are due now, with the attempts they had
    assert fields(second) == (EmailStatus.PENDING, 2, "SMTPDataError: earlier")
    assert fields(third) == (EmailStatus.PENDING, 0, "")
    now = timezone.now()
    assert second.email_next_attempt_at <= now
    assert third.email_next_attempt_at <= now

    # when: the server is back
    settings.EMAIL_PORT = smtp_server.port
    done = notification_emails_send_due()

    # then: those two go out at once; the first waits for its backoff
    assert (done.claimed, done.sent) == (2, 2)
    assert fields(second) == (EmailStatus.SENT, 3, "")
    assert fields(third) == (EmailStatus.SENT, 1, "")
    assert fields(first)[:2] == (EmailStatus.PENDING, 1)


def test_no_send_starts_after_half_the_lease_and_the_rest_are_given_back(
    monkeypatch, settings, smtp_server, acme, alice, bob, carol
):
    # given: a lease of 0.4 s and a first send that takes 0.3 s
    settings.NOTIFICATION_EMAIL_CLAIM_SECONDS = 0.4
    first, second, third = due_emails(acme, [alice, bob, carol], 3)
    deliver = emails._deliver

    def slow_deliver(notification, backend):
        time.sleep(0.3)
        return deliver(notification, backend)

    monkeypatch.setattr(emails, "_deliver", slow_deliver)

    # when
    done = notification_emails_send_due(limit=3)

    # then: the first was sent; the other two are due again, attempts untouched
    assert (done.claimed, done.sent, done.more) == (1, 1, True)
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"]]
    assert fields(first) == (EmailStatus.SENT, 1, "")
    assert fields(second) == fields(third) == (EmailStatus.PENDING, 0, "")
    assert second.email_next_attempt_at <= timezone.now()

    # when / then: the next pass sends them
    monkeypatch.setattr(emails, "_deliver", deliver)
    assert notification_emails_send_due(limit=3).sent == 2
