"""Notification e-mails through a real SMTP server: claim, send, mark, retry, give up.

These send inline (as anything but the worker does); test_email_stall.py runs
the worker's background sender against a server that stalls.
"""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from events.inbox import consume, readable_by
from notifications.email_claims import email_claim
from notifications.emails import notification_emails_send_due, retry_delay
from notifications.handlers import HANDLERS
from notifications.models import EmailStatus, Notification
from tests.events_builders import payment_event

pytestmark = pytest.mark.usefixtures("with_emails")

URL = "/api/v1/notifications"


def apply(event):
    with transaction.atomic():
        handler, readable = readable_by(HANDLERS, event)
        handler(readable)


def sent_to(smtp_server) -> list[tuple[list[str], str]]:
    return sorted(
        (received.rcpt_tos, received.message["Subject"])
        for received in smtp_server.received
    )


def test_an_email_reaches_the_mail_server_once_with_its_message_id(
    django_capture_on_commit_callbacks, smtp_server, acme, alice, bob
):
    # given
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)

    # then
    [received] = smtp_server.received
    assert received.mail_from == "payments@example.com"
    assert received.rcpt_tos == ["alice@example.com"]
    message = received.message
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == (
        "Approved: your payment of 125.50 EUR to Initech Supplies"
    )
    assert message["Message-ID"] == f"<{event.id}.{alice.pk}@example.com>"
    notification = Notification.objects.get()
    assert notification.email_status == EmailStatus.SENT
    assert (notification.email_attempts, notification.email_error) == (1, "")
    assert notification.email_sent_at is not None
    assert notification_emails_send_due().claimed == 0


@pytest.mark.parametrize(
    ("creditor_name", "subject_name"),
    [
        ("Acme\nBcc: x@example.org", "Acme Bcc: x@example.org"),
        ("Acme\r\nSubject: urgent", "Acme Subject: urgent"),
        ("Acme\u2028Bcc: x@example.org", "Acme Bcc: x@example.org"),
        # a bidi override and a zero-width space: invisible, and dropped
        ("Ac\u202eme\u200b Ltd", "Acme Ltd"),
    ],
)
def test_a_creditor_name_cannot_break_or_add_a_header(
    django_capture_on_commit_callbacks,
    smtp_server,
    acme,
    alice,
    bob,
    carol,
    creditor_name,
    subject_name,
):
    # given: a name the API once accepted, in an event already stored
    event = payment_event(
        "PaymentSubmitted",
        organisation=acme,
        submitted_by=alice,
        creditor_name=creditor_name,
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        status = consume(
            consumer="notifications", envelope=event.envelope, handlers=HANDLERS
        )

    # then: each approver gets one e-mail, with the name on the subject line
    assert status == "applied"
    subject = f"Approval needed: 125.50 EUR to {subject_name}"
    assert sent_to(smtp_server) == [
        (["bob@example.com"], subject),
        (["carol@example.com"], subject),
    ]
    for received in smtp_server.received:
        assert received.message["Bcc"] is None
        assert f"payment of 125.50 EUR to {subject_name} from" in (
            received.message.get_content()
        )
    assert set(Notification.objects.values_list("email_status", "email_attempts")) == {
        (EmailStatus.SENT, 1)
    }


def test_a_subject_stored_with_a_line_break_is_sent_on_one_line(
    smtp_server, acme, alice
):
    # given: a notification recorded before subjects were cleaned
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)
    apply(event)
    Notification.objects.update(
        subject="Approved: your payment of 1.00 EUR to Acme\nBcc: x@example.org"
    )

    # when
    done = notification_emails_send_due()

    # then
    assert (done.claimed, done.sent) == (1, 1)
    [received] = smtp_server.received
    assert received.rcpt_tos == ["alice@example.com"]
    assert received.message["Subject"] == (
        "Approved: your payment of 1.00 EUR to Acme Bcc: x@example.org"
    )
    assert received.message["Bcc"] is None
    assert Notification.objects.get().email_status == EmailStatus.SENT


def test_an_email_the_server_keeps_refusing_ends_failed_and_visible(
    django_capture_on_commit_callbacks,
    settings,
    smtp_server,
    client_for,
    acme,
    alice,
):
    # given: three attempts allowed, no wait between them
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 0
    smtp_server.refuse()
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)

    # when: the after-commit send, then sweeps
    with django_capture_on_commit_callbacks(execute=True):
        apply(event)
    passes = [notification_emails_send_due() for _ in range(3)]

    # then: two more attempts, then nothing is claimed any more
    assert [(p.claimed, p.sent) for p in passes] == [(1, 0), (1, 0), (0, 0)]
    notification = Notification.objects.get()
    assert notification.email_status == EmailStatus.FAILED
    assert notification.email_attempts == 3
    assert notification.email_next_attempt_at is None
    assert "550" in notification.email_error
    assert "mailbox unavailable" in notification.email_error

    # and: failed is final, even once the server would accept it
    smtp_server.recover()
    assert notification_emails_send_due().claimed == 0
    assert smtp_server.received == []

    # and: the read API shows it
    [shown] = client_for(alice).get(URL).json()["results"]
    assert shown["email_status"] == "failed"
    assert shown["email_attempts"] == 3
    assert "550" in shown["email_error"]
    assert shown["email_sent_at"] is None


def test_a_failed_attempt_waits_for_its_backoff(
    django_capture_on_commit_callbacks, settings, smtp_server, acme, alice
):
    # given: a first attempt refused
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 60
    smtp_server.refuse()
    with django_capture_on_commit_callbacks(execute=True):
        apply(payment_event("PaymentApproved", organisation=acme, submitted_by=alice))
    notification = Notification.objects.get()
    wait = notification.email_next_attempt_at - timezone.now()
    smtp_server.recover()

    # when / then: not retried before its backoff has passed
    assert timedelta(seconds=55) < wait <= timedelta(seconds=60)
    assert notification_emails_send_due().claimed == 0

    # when / then: retried after it
    Notification.objects.update(email_next_attempt_at=timezone.now())
    assert notification_emails_send_due().sent == 1
    notification.refresh_from_db()
    assert (notification.email_status, notification.email_attempts) == ("sent", 2)
    assert notification.email_error == ""


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 60
    settings.NOTIFICATION_EMAIL_RETRY_MAX_SECONDS = 300

    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [
        60,
        120,
        240,
        300,
        300,
    ]


def test_the_sweep_sends_a_batch_at_a_time_longest_due_first(
    smtp_server, acme, alice, bob, carol
):
    # given: four approvals recorded, due at different times, one not yet due
    now = timezone.now()
    due = {}
    for minutes, user in ((-1, bob), (-3, alice), (-2, carol), (5, alice)):
        event = payment_event("PaymentApproved", organisation=acme, submitted_by=user)
        apply(event)
        Notification.objects.filter(event_id=event.id).update(
            email_next_attempt_at=now + timedelta(minutes=minutes)
        )
        due[minutes] = event.id

    # when
    first = notification_emails_send_due(limit=2)
    second = notification_emails_send_due(limit=2)

    # then
    assert (first.sent, first.more) == (2, True)
    assert (second.sent, second.more) == (1, False)
    assert [r.message["Message-ID"].split(".")[0] for r in smtp_server.received] == [
        f"<{due[-3]}",
        f"<{due[-2]}",
        f"<{due[-1]}",
    ]
    assert Notification.objects.get(event_id=due[5]).email_status == "pending"


def test_a_mail_server_that_stops_answering_times_out_and_stops_the_pass(
    settings, smtp_server, acme, alice, bob, carol
):
    # given: three e-mails due, and a server that accepts and then says nothing
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 60
    apply(payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice))
    apply(payment_event("PaymentApproved", organisation=acme, submitted_by=alice))
    smtp_server.stall()

    # when
    started = time.monotonic()
    done = notification_emails_send_due()
    took = time.monotonic() - started

    # then: one attempt, ended by EMAIL_TIMEOUT (1 s); the rest left untouched
    assert (done.claimed, done.sent, done.more) == (1, 0, False)
    assert 0.9 < took < 5
    [tried] = Notification.objects.filter(email_attempts=1)
    assert tried.email_status == EmailStatus.PENDING
    assert "timed out" in tried.email_error
    assert tried.email_next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert Notification.objects.filter(email_attempts=0).count() == 2


def test_a_claim_whose_sender_died_is_sent_again_after_its_lease(
    settings, smtp_server, acme, alice
):
    # given: a sender claimed the e-mail, then died before marking it
    event = payment_event("PaymentApproved", organisation=acme, submitted_by=alice)
    apply(event)
    assert email_claim(limit=1) != []

    # when / then: the claim holds for its lease
    assert notification_emails_send_due().claimed == 0

    # when / then: once the lease is over, it is sent, with its Message-ID
    Notification.objects.update(email_next_attempt_at=timezone.now())
    assert notification_emails_send_due().sent == 1
    [received] = smtp_server.received
    assert received.message["Message-ID"] == f"<{event.id}.{alice.pk}@example.com>"
    assert Notification.objects.get().email_attempts == 2


def test_a_last_attempt_that_never_reported_back_is_not_tried_again(
    settings, smtp_server, acme, alice
):
    # given: the last allowed attempt was claimed by a sender that died
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 2
    apply(payment_event("PaymentApproved", organisation=acme, submitted_by=alice))
    Notification.objects.update(email_attempts=2)

    # when
    done = notification_emails_send_due()

    # then
    assert (done.claimed, done.sent) == (1, 0)
    assert smtp_server.received == []
    notification = Notification.objects.get()
    assert notification.email_status == EmailStatus.FAILED
    assert notification.email_error == "no outcome after the last attempt"


def test_the_command_retries_failed_emails_once_told_to(
    settings, smtp_server, acme, alice
):
    # given: an e-mail given up on while the server refused it
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 1
    smtp_server.refuse()
    apply(payment_event("PaymentApproved", organisation=acme, submitted_by=alice))
    notification_emails_send_due()
    assert Notification.objects.get().email_status == EmailStatus.FAILED
    smtp_server.recover()

    # when / then: a plain run leaves it failed
    out = StringIO()
    call_command("send_notification_emails", stdout=out)
    assert out.getvalue() == "sent 0 e-mail(s)\n"

    # when / then: --retry-failed sends it
    out = StringIO()
    call_command("send_notification_emails", "--retry-failed", stdout=out)
    assert out.getvalue() == "retrying 1 failed e-mail(s)\nsent 1 e-mail(s)\n"
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"]]
    notification = Notification.objects.get()
    assert (notification.email_status, notification.email_attempts) == ("sent", 1)
