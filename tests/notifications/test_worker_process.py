"""A real notifications worker process against a real SMTP server that stalls.

`celery -A events.worker_main:notifications worker` runs on a private filesystem
broker and its own SQLite database (as in tests/events/test_worker_process.py). Its
after-commit sends run in the forked pool process, its sweep on the main
process's timer; both hand the e-mail to a background thread, so the events
are applied while the mail server stalls, and the e-mails arrive once it
recovers.
"""

import signal
import subprocess
import time

from tests.events.conftest import broker  # noqa: F401 - the fixture
from tests.events.test_worker_process import rows, worker_env, worker_start
from tests.notifications.smtp_server import wait_until
from tests.notifications.worker_process import (
    applied,
    database_prepare,
    expected_emails,
    payment_published,
    smtp_env,
)


def test_a_worker_applies_events_while_smtp_stalls_and_emails_once_it_recovers(
    broker,  # noqa: F811 - the fixture imported above
    smtp_server,
    tmp_path,
):
    # given: the worker's database and a payment submitted then approved
    env = smtp_env(
        worker_env(tmp_path, broker.root),
        smtp_server,
        NOTIFICATION_EMAIL_SWEEP_SECONDS="1",
    )
    ids = database_prepare(env)
    submitted, approved = payment_published(ids, broker)
    db = tmp_path / "db.sqlite3"
    smtp_server.stall()

    # when: a real worker consumes them while the mail server stalls
    log = tmp_path / "worker.log"
    worker = worker_start(env, log, "notifications")
    try:
        both_applied = wait_until(lambda: applied(db) == 2, timeout=30)
        # then: both events applied, none of their e-mails through yet, and
        # the sender's attempts do stall on the server (between two attempts
        # no session may be open at this very moment, so count them)
        received_while_stalled = list(smtp_server.received)
        stalled_while_applied = wait_until(
            lambda: smtp_server.mailbox.stalled_sessions >= 1, timeout=10
        )
        time.sleep(1.5)  # an EMAIL_TIMEOUT and more: an attempt has failed

        # when: the server recovers
        smtp_server.recover()
        wait_until(lambda: len(smtp_server.received) >= 3, timeout=30)
        time.sleep(1)  # room for a duplicate to show up, if one were sent
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    output = log.read_text()

    # then: each e-mail arrived once, the failed attempts recorded
    assert both_applied, output
    assert stalled_while_applied, output
    assert received_while_stalled == [], output
    assert sorted(
        (r.rcpt_tos[0], r.message["Message-ID"]) for r in smtp_server.received
    ) == expected_emails(ids, submitted, approved), output
    statuses = rows(
        db, "SELECT email_status, email_attempts FROM notifications_notification"
    )
    assert {status for status, _ in statuses} == {"sent"}, output
    assert max(attempts for _, attempts in statuses) >= 2, output
    assert "timed out" in output
    assert worker.returncode == 0, output
