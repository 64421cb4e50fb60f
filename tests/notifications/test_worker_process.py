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
import sys
import time
import uuid
from types import SimpleNamespace

from events.publishers import KombuPublisher
from events.topology import partition_of, partition_queue_name
from tests.events.conftest import broker  # noqa: F401 - the fixture
from tests.events.test_worker_process import (
    BASE_DIR,
    User,
    outgoing_message,
    rows,
    worker_env,
    worker_start,
)
from tests.events_builders import payment_event
from tests.notifications.smtp_server import wait_until

SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from organisations.models import Membership, Organisation
acme = Organisation.objects.create(slug="acme", name="Acme Ltd")
for name, approver in (("alice", False), ("bob", True), ("carol", True)):
    user = get_user_model().objects.create(
        username=name, email=f"{name}@example.com"
    )
    Membership.objects.create(
        user=user, organisation=acme, is_maker=True, is_approver=approver
    )
    print(name, user.pk)
print("acme", acme.pk)
"""


def database_prepare(env: dict) -> dict[str, str]:
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", SETUP],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(line.split() for line in done.stdout.strip().splitlines())


def test_a_worker_applies_events_while_smtp_stalls_and_emails_once_it_recovers(
    broker,  # noqa: F811 - the fixture imported above
    smtp_server,
    tmp_path,
):
    # given: the worker's database and a payment submitted then approved
    env = worker_env(tmp_path, broker.root)
    env.update(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host,
        EMAIL_PORT=str(smtp_server.port),
        EMAIL_TIMEOUT="1",
        NOTIFICATION_EMAIL_RETRY_SECONDS="0.5",
        NOTIFICATION_EMAIL_SWEEP_SECONDS="1",
    )
    ids = database_prepare(env)
    alice, bob = User(pk=int(ids["alice"]), username="alice"), None
    bob = User(pk=int(ids["bob"]), username="bob")
    payment_id, account_id = uuid.uuid4(), uuid.uuid4()
    submitted, approved = (
        payment_event(
            event_type,
            organisation=SimpleNamespace(pk=ids["acme"]),
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
            debtor_account_id=account_id,
        ).envelope
        for event_type in ("PaymentSubmitted", "PaymentApproved")
    )
    publisher = KombuPublisher("filesystem://")
    assert publisher.publish_batch(
        [outgoing_message(e) for e in (submitted, approved)]
    ) == [None, None]
    publisher.close()
    queue = partition_queue_name("notifications", partition_of(str(account_id)))
    assert broker.waiting()[queue] == 2
    db = tmp_path / "db.sqlite3"
    smtp_server.stall()

    # when: a real worker consumes them while the mail server stalls
    log = tmp_path / "worker.log"
    worker = worker_start(env, log, "notifications")
    try:
        applied = wait_until(
            lambda: (
                len(
                    rows(
                        db,
                        "SELECT event_id FROM events_inboxentry "
                        "WHERE consumer = 'notifications' AND status = 'applied'",
                    )
                )
                == 2
            ),
            timeout=30,
        )
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
    assert applied, output
    assert stalled_while_applied, output
    assert received_while_stalled == [], output
    assert sorted(
        (r.rcpt_tos[0], r.message["Message-ID"]) for r in smtp_server.received
    ) == [
        ("alice@example.com", f"<{approved['id']}.{ids['alice']}@example.com>"),
        ("bob@example.com", f"<{submitted['id']}.{ids['bob']}@example.com>"),
        ("carol@example.com", f"<{submitted['id']}.{ids['carol']}@example.com>"),
    ], output
    statuses = rows(
        db, "SELECT email_status, email_attempts FROM notifications_notification"
    )
    assert {status for status, _ in statuses} == {"sent"}, output
    assert max(attempts for _, attempts in statuses) >= 2, output
    assert "timed out" in output
    assert worker.returncode == 0, output
