"""The mailer as docker-compose.yml runs it: `manage.py run_mailer`, a process
of its own beside a real notifications worker in mailer mode.

Both run on their own SQLite database and a private filesystem broker (as in
test_worker_process.py), where the mailer polls. The worker applies the events
while the mail server stalls and sends nothing itself; the mailer sends each
e-mail once the server recovers, answers /healthz meanwhile, and stops cleanly
on SIGTERM.
"""

import json
import signal
import subprocess
import sys
import time
import urllib.request

from tests.events.conftest import broker  # noqa: F401 - the fixture
from tests.events.test_worker_process import BASE_DIR, rows, worker_env, worker_start
from tests.notifications.smtp_server import free_port, wait_until
from tests.notifications.worker_process import (
    applied,
    database_prepare,
    expected_emails,
    payment_published,
    smtp_env,
)


def mailer_start(env: dict, log) -> subprocess.Popen:
    with log.open("w") as log_file:
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_mailer"],
            cwd=BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def stopped(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -1


def healthz(port: int) -> tuple[int, dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
        return r.status, json.loads(r.read())


def test_the_mailer_sends_what_the_worker_records_once_the_server_recovers(
    broker,  # noqa: F811 - the fixture imported above
    smtp_server,
    tmp_path,
):
    # given: a submitted and an approved payment waiting for the worker
    env = smtp_env(
        worker_env(tmp_path, broker.root),
        smtp_server,
        NOTIFICATION_EMAIL_SENDER="mailer",
        NOTIFICATION_EMAIL_POLL_SECONDS="0.2",
    )
    ids = database_prepare(env)
    submitted, approved = payment_published(ids, broker)
    db = tmp_path / "db.sqlite3"
    smtp_server.stall()
    port = free_port()

    # when: the worker and the mailer run while the mail server stalls
    worker_log, mailer_log = tmp_path / "worker.log", tmp_path / "mailer.log"
    worker = worker_start(env, worker_log, "notifications")
    mailer = mailer_start({**env, "METRICS_PORT": str(port)}, mailer_log)
    try:
        both_applied = wait_until(lambda: applied(db) == 2, timeout=30)
        stalled = wait_until(
            lambda: smtp_server.mailbox.stalled_sessions >= 1, timeout=10
        )
        received_while_stalled = list(smtp_server.received)
        health = wait_until(lambda: _healthy(port), timeout=10)

        # when: the server recovers
        smtp_server.recover()
        wait_until(lambda: len(smtp_server.received) >= 3, timeout=30)
        time.sleep(1)  # room for a duplicate to show up, if one were sent
    finally:
        mailer_code, worker_code = stopped(mailer), stopped(worker)
    output = worker_log.read_text() + mailer_log.read_text()

    # then: the events were applied while the server stalled, by the worker,
    # and the e-mails left from the mailer, each once
    assert both_applied, output
    assert stalled, output
    assert received_while_stalled == [], output
    assert health, output
    assert sorted(
        (r.rcpt_tos[0], r.message["Message-ID"]) for r in smtp_server.received
    ) == expected_emails(ids, submitted, approved), output
    assert {
        status
        for (status,) in rows(db, "SELECT email_status FROM notifications_notification")
    } == {"sent"}, output
    # the worker never talked to the mail server; the mailer did, and its
    # attempts during the stall failed
    assert "e-mail of notification" not in worker_log.read_text()
    assert "e-mail of notification" in mailer_log.read_text()
    assert (mailer_code, worker_code) == (0, 0), output
    assert "mailer stopped" in mailer_log.read_text()


def _healthy(port: int) -> bool:
    try:
        status, body = healthz(port)
    except OSError:
        return False
    return status == 200 and body["status"] == "ok"
