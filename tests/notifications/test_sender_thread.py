"""The sender's thread: one database session while it is busy, and one pass
for the e-mails of commits that come close together (notifications/sender.py).

A session per pass cost PostgreSQL a backend process started and ended for
every batch of e-mails; a pass per commit cost a claim and a mark per e-mail.
Real commits, the real background sender, a real SMTP server; the sessions are
PostgreSQL's own view.
"""

import pytest
from django.db import connection

import notifications.sender
from events.inbox import consume
from notifications.handlers import HANDLERS
from notifications.models import EmailStatus, Notification
from tests.events_builders import payment_event
from tests.notifications.smtp_server import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("with_emails"),
]


def other_sessions() -> set[int]:
    """This database's client sessions other than the test's own: the sender's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def sent() -> int:
    return Notification.objects.filter(email_status=EmailStatus.SENT).count()


@pytest.mark.postgres
def test_one_session_serves_every_pass_and_goes_when_idle_or_stopped(
    monkeypatch, smtp_server, background_sender, acme, alice
):
    # given: the sender lets an idle connection go after two seconds
    monkeypatch.setattr(notifications.sender, "IDLE_CLOSE_SECONDS", 2.0)
    sessions = []

    # when: three submissions, each e-mailed on its own pass
    for n in range(1, 4):
        event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
        consume(consumer="notifications", envelope=event.envelope, handlers=HANDLERS)
        wait_until(lambda n=n: sent() >= 2 * n)  # to bob and carol
        sessions.append(other_sessions())

    # then: the passes shared one session, which the idle sender then let go
    assert len(sessions[0]) == 1
    assert sessions[0] == sessions[1] == sessions[2]
    wait_until(lambda: not other_sessions(), timeout=5.0)

    # and: busy again, then stopped long before it would idle out: the
    # session goes with the thread
    monkeypatch.setattr(notifications.sender, "IDLE_CLOSE_SECONDS", 60.0)
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    consume(consumer="notifications", envelope=event.envelope, handlers=HANDLERS)
    wait_until(lambda: sent() >= 8)
    background_sender.stop()
    # The server lists a session until its backend has exited, just after the
    # client closed it.
    wait_until(lambda: not other_sessions(), timeout=5.0)


def test_commits_close_together_share_one_pass(
    monkeypatch, settings, smtp_server, background_sender, acme, alice
):
    # given: the sender lingers half a second for more commits
    settings.NOTIFICATION_EMAIL_LINGER_SECONDS = 0.5
    passes = []
    send = notifications.sender.notification_emails_send

    def counted(*, notification_ids):
        passes.append(list(notification_ids))
        return send(notification_ids=notification_ids)

    monkeypatch.setattr(notifications.sender, "notification_emails_send", counted)

    # when: three submissions commit one after another
    for _ in range(3):
        event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
        consume(consumer="notifications", envelope=event.envelope, handlers=HANDLERS)

    # then: their six e-mails (to bob and carol) went in one pass, all sent
    wait_until(lambda: sent() >= 6)
    assert [len(ids) for ids in passes] == [6]
    assert len(smtp_server.received) == 6
