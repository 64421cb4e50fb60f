"""Temporal decoupling with real processes: the producer never waits for a consumer.

The ledger is paused (or its worker stopped) while approvals go on: the payments
service commits each payment with its outbox row and the relay publishes them,
the ledger's backlog waits in its partition queue, and once resumed (or started)
the worker applies it in order. Every process runs as in the demo: the compose
file's migrate job, the payments service and the relay in a producer process, a
real `celery -A events.worker_main:ledger worker`, on one SQLite database and a
private filesystem broker under tmp_path. See docs/lessons/temporal-decoupling.md.
"""

import json
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from events.topology import partition_of, partition_queue_name
from tests.events.test_worker_process import BASE_DIR, WORKER, rows, worker_env

# What the web app does on alice's submit and bob's approve, then what the relay
# does: payment_submit and payment_approve commit each change with its outbox
# row; relay_once publishes the committed rows. Prints the payments' ids.
PRODUCE = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from events.publishers import publisher_for
from events.relay import relay_once
from payments.models import DebtorAccount
from payments.services import payment_approve, payment_submit

users = get_user_model().objects
alice, bob = users.get(username="alice"), users.get(username="bob")
account = DebtorAccount.objects.get(organisation__slug="acme", currency="EUR")
made = []
for n in range(int(sys.argv[1])):
    payment = payment_submit(
        actor=alice, debtor_account_id=account.pk, amount=1000 + n, currency="EUR",
        creditor_name="Bolt Supplies GmbH", creditor_iban="DE75512108001245126199",
        reference=f"INV-{n}",
    )
    payment_approve(payment_id=payment.pk, actor=bob)
    made.append(str(payment.pk))
publisher = publisher_for(settings.CELERY_BROKER_URL)
try:
    while relay_once(publisher=publisher):
        pass
finally:
    publisher.close()
print(json.dumps({"payments": made, "partition_key": str(account.pk)}))
"""

# The fault lab's switch (POST /api/v1/consumers/ledger/pause or /resume).
SWITCH = """
import sys
import django
django.setup()
from lab.faults import consumer_pause
consumer_pause(name="ledger", paused=sys.argv[1] == "pause")
"""


def run(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed scripts
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def produce(env: dict, payments: int) -> dict:
    """Submit and approve `payments` payments on acme's EUR account; relay them."""
    return json.loads(run(env, "-c", PRODUCE, str(payments)).strip().splitlines()[-1])


def wait_for(check, *, seconds: float = 30, what: str = ""):
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return result


@contextmanager
def ledger_worker(env: dict, log: Path):
    """Run a real ledger worker; on exit, stop it with SIGTERM and check it exits 0."""
    with log.open("a") as log_file:
        worker = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, *WORKER, "-n", f"ledger-{uuid.uuid4().hex[:8]}@%h"],
            cwd=BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, log.read_text()


def ledger_applied(db: Path) -> list[str]:
    """The ledger's applied events, in the order it applied them."""
    return [
        event_id
        for (event_id,) in rows(
            db,
            "SELECT event_id FROM events_inboxentry WHERE consumer = 'ledger' "
            "AND status = 'applied' ORDER BY applied_at, id",
        )
    ]


def outbox_order(db: Path) -> list[str]:
    """Every event the producer committed, in the order the relay published them."""
    return [
        e for (e,) in rows(db, "SELECT event_id FROM events_outboxmessage ORDER BY id")
    ]


def prepare(tmp_path: Path, broker_root: Path) -> tuple[dict, Path]:
    """The compose file's migrate job, in demo mode: migrations, demo users."""
    env = worker_env(tmp_path, broker_root)
    env["DEMO_MODE"] = "1"
    run(env, "manage.py", "migrate_and_seed")
    return env, tmp_path / "db.sqlite3"


def assert_applied_in_order(db: Path, payments: list[str]) -> None:
    published = outbox_order(db)
    # every event applied once, in the order it was committed and published
    assert ledger_applied(db) == published
    assert rows(
        db,
        "SELECT status, count(*) FROM events_delivery WHERE consumer = 'ledger' "
        "GROUP BY status",
    ) == [("applied", len(published))]
    # each payment's position is at its decision, sequence 2
    assert sorted(
        rows(
            db,
            "SELECT subject, last_sequence FROM events_consumerposition "
            "WHERE consumer = 'ledger'",
        )
    ) == sorted((payment, 2) for payment in payments)
    # and the effect: one journal entry per approval, booked in approval order
    approvals = [
        e
        for (e,) in rows(
            db,
            "SELECT event_id FROM events_outboxmessage "
            "WHERE event_type = 'PaymentApproved' ORDER BY id",
        )
    ]
    assert [
        e
        for (e,) in rows(
            db, "SELECT event_id FROM ledger_journalentry ORDER BY created_at"
        )
    ] == approvals


def test_a_paused_consumer_leaves_its_backlog_in_the_broker_and_applies_it_in_order(
    broker, tmp_path
):
    # given: a live ledger worker, paused through the fault lab's switch
    env, db = prepare(tmp_path, broker.root)
    log = tmp_path / "worker.log"
    with ledger_worker(env, log):
        run(env, "-c", SWITCH, "pause")
        wait_for(lambda: "ledger paused" in log.read_text(), what="the pause")

        # when: approvals go on while the ledger is paused
        produced = produce(env, payments=3)

        # then: the producer noticed nothing: every payment approved, every event
        # committed and published
        payments = produced["payments"]
        assert rows(db, "SELECT status, count(*) FROM payments_payment GROUP BY 1") == [
            ("approved", 3)
        ]
        assert rows(
            db, "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
        ) == [(0,)]
        # and the ledger's backlog waits in its partition queue, untouched, while
        # the other consumers (no worker at all here) have theirs too
        partition = partition_of(produced["partition_key"])
        time.sleep(2)  # two turns of the pause switch: still not consuming
        waiting = broker.waiting()
        for consumer in ("ledger", "notifications", "reconciliation"):
            assert waiting[partition_queue_name(consumer, partition)] == 6, waiting
        assert rows(db, "SELECT count(*) FROM events_inboxentry") == [(0,)]
        assert rows(db, "SELECT count(*) FROM ledger_journalentry") == [(0,)]

        # when: the ledger is resumed
        run(env, "-c", SWITCH, "resume")
        wait_for(lambda: len(ledger_applied(db)) == 6, what="the backlog")

    # then: it worked off its backlog, in order, each event once
    assert_applied_in_order(db, payments)
    assert partition_queue_name("ledger", partition) not in broker.waiting()
    assert "ledger resumed" in log.read_text()


def test_a_stopped_worker_finds_its_backlog_waiting_and_applies_it_in_order(
    broker, tmp_path
):
    # given: a ledger worker that applied one payment's events, then stopped
    env, db = prepare(tmp_path, broker.root)
    log = tmp_path / "worker.log"
    with ledger_worker(env, log):
        first = produce(env, payments=1)
        wait_for(lambda: len(ledger_applied(db)) == 2, what="the first payment")
    queue = partition_queue_name("ledger", partition_of(first["partition_key"]))

    # when: approvals go on with no ledger worker at all
    later = produce(env, payments=2)

    # then: they are committed and published, and wait in the ledger's queue
    assert rows(
        db, "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
    ) == [(0,)]
    assert broker.waiting()[queue] == 4
    assert len(ledger_applied(db)) == 2

    # when: a ledger worker starts again
    with ledger_worker(env, log):
        wait_for(lambda: len(ledger_applied(db)) == 6, what="the backlog")

    # then: it applied the backlog after what it had, in order, each event once
    assert_applied_in_order(db, first["payments"] + later["payments"])
    assert queue not in broker.waiting()
