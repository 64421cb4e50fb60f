"""The mailer sends what the notifications consumer records, woken by the commit.

With NOTIFICATION_EMAIL_SENDER=mailer the consumer's process only records the
notifications (the e-mails' outbox rows); the mailer (notifications/mailer.py)
claims, sends and marks them. Real commits, a real SMTP server.
"""

import threading
import time

import pytest
from django.db import connection

from events.inbox import consume
from notifications.emails import notification_emails_send_due
from notifications.handlers import HANDLERS
from notifications.mailer import PollWake, mailer_run
from notifications.models import EmailStatus, Notification
from tests.events_builders import payment_event
from tests.notifications.smtp_server import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("with_emails"),
]


@pytest.fixture
def mailer_mode(settings):
    settings.NOTIFICATION_EMAIL_SENDER = "mailer"


def mailer_start(**kwargs) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=mailer_run, kwargs={"stop": stop, **kwargs})
    thread.start()
    return stop, thread


def mailer_stop(stop: threading.Event, thread: threading.Thread) -> None:
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive()


def submitted(acme, alice) -> dict:
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    consume(consumer="notifications", envelope=event.envelope, handlers=HANDLERS)
    return event.envelope


def statuses() -> list[tuple[str, int]]:
    return sorted(Notification.objects.values_list("email_status", "email_attempts"))


def test_in_mailer_mode_the_worker_records_the_emails_and_sends_none(
    mailer_mode, background_sender, smtp_server, acme, alice, bob, carol
):
    # when: the consumer applies a submission, and the worker's sweep comes round
    submitted(acme, alice)
    background_sender.sweep()

    # then: both notifications recorded and due, nothing sent, no sender
    # thread started in the worker's process
    assert statuses() == [(EmailStatus.PENDING, 0), (EmailStatus.PENDING, 0)]
    assert background_sender._thread is None
    assert smtp_server.received == []


@pytest.mark.postgres
def test_a_commit_wakes_the_mailer_which_sends_its_emails(
    mailer_mode, settings, smtp_server, acme, alice, bob, carol
):
    # given: a mailer whose poll would not come round during the test, once
    # it is listening and has found nothing to send
    settings.NOTIFICATION_EMAIL_SWEEP_SECONDS = 600
    stop, thread = mailer_start()
    try:
        assert wait_until(lambda: listening_sessions() == 1, timeout=10)
        time.sleep(0.3)  # its first pass found nothing; it waits

        # when: a commit records two notifications
        envelope = submitted(acme, alice)

        # then: the commit's NOTIFY woke it, and it sent both, once
        assert wait_until(lambda: len(smtp_server.received) == 2, timeout=10)
        time.sleep(0.3)  # room for a duplicate to show up, if one were sent
    finally:
        mailer_stop(stop, thread)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "bob@example.com",
        "carol@example.com",
    ]
    assert {r.message["Message-ID"] for r in smtp_server.received} == {
        f"<{envelope['id']}.{bob.pk}@example.com>",
        f"<{envelope['id']}.{carol.pk}@example.com>",
    }
    assert statuses() == [(EmailStatus.SENT, 1), (EmailStatus.SENT, 1)]
    # and it let its sessions go when stopped
    assert listening_sessions() == 0


def test_without_notify_the_mailer_finds_the_emails_by_polling(
    mailer_mode, settings, smtp_server, acme, alice, bob, carol
):
    # given: a mailer that only polls, as on SQLite
    settings.NOTIFICATION_EMAIL_SWEEP_SECONDS = 0.1
    settings.NOTIFICATION_EMAIL_POLL_SECONDS = 0.1
    stop = threading.Event()
    thread = threading.Thread(
        target=mailer_run, kwargs={"stop": stop, "wake": PollWake(stop)}
    )
    thread.start()
    try:
        # when
        submitted(acme, alice)

        # then
        assert wait_until(lambda: len(smtp_server.received) == 2, timeout=10)
    finally:
        mailer_stop(stop, thread)
    assert statuses() == [(EmailStatus.SENT, 1), (EmailStatus.SENT, 1)]


def test_the_mailer_retries_once_the_mail_server_is_back(
    mailer_mode, settings, smtp_server, acme, alice, bob, carol
):
    # given: the mail server refuses every recipient, and retries come soon
    settings.NOTIFICATION_EMAIL_SWEEP_SECONDS = 0.1
    settings.NOTIFICATION_EMAIL_POLL_SECONDS = 0.1
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 0.2
    smtp_server.refuse()
    stop, thread = mailer_start()
    try:
        submitted(acme, alice)
        assert wait_until(
            lambda: (
                Notification.objects.filter(email_attempts__gte=1)
                .exclude(email_error="")
                .count()
                == 2
            ),
            timeout=10,
        )

        # when: it accepts again
        smtp_server.recover()

        # then: the poll found them due again and sent them
        assert wait_until(lambda: len(smtp_server.received) == 2, timeout=10)
    finally:
        mailer_stop(stop, thread)
    assert {status for status, _ in statuses()} == {EmailStatus.SENT}


def listening_sessions() -> int:
    """The mailer's LISTEN sessions on this database."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'mailer-listen'"
        )
        return cursor.fetchone()[0]


def test_a_pass_beats_before_each_send_so_a_slow_server_is_not_a_wedged_mailer(
    mailer_mode, smtp_server, acme, alice, bob, carol
):
    # given: two e-mails due
    submitted(acme, alice)
    beats: list[int] = []

    # when: one pass sends them, told how to beat
    sent = notification_emails_send_due(
        tick=lambda: beats.append(len(smtp_server.received))
    )

    # then: a beat before each send, each after the previous e-mail arrived
    assert sent.sent == 2
    assert beats == [0, 1]
