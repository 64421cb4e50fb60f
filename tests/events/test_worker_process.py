"""A real ledger worker process: events delivered out of order, and a poison message.

`celery -A events.worker_main:ledger worker` runs on a private filesystem broker
and its own SQLite database, both under tmp_path; the test publishes straight
into the ledger's partition queue and reads the worker's effects from that
database.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings as django_settings

from events.messages import task_message
from events.publishers import KombuPublisher, Outgoing
from events.topology import (
    EXCHANGE,
    dead_letter_queue_name,
    partition_of,
    partition_queue_name,
    routing_key,
)
from tests.events_builders import payment_event

BASE_DIR = Path(django_settings.BASE_DIR)


class User(SimpleNamespace):
    def get_username(self) -> str:
        return self.username


def worker_env(tmp_path: Path, broker_root: Path) -> dict:
    env = dict(os.environ)
    env.pop("TEST_DB_SUFFIX", None)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
        BROKER_DIR=str(broker_root),
        VAR_DIR=str(tmp_path / "var"),
        DJANGO_SECRET_KEY="test-only",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="INFO",
    )
    return env


WORKER = (
    "-m celery -A events.worker_main:ledger worker -P solo -l INFO "
    "--without-gossip --without-mingle --without-heartbeat"
).split()


def worker_start(env: dict, log: Path, consumer: str = "ledger") -> subprocess.Popen:
    """Start a real worker of `consumer` as the compose file does; output in `log`."""
    command = [
        sys.executable, "-m", "celery", "-A", f"events.worker_main:{consumer}",
        "worker", "-P", "solo", "-l", "INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"{consumer}-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("w") as log_file:
        return subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )


SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from organisations.models import Organisation
print(Organisation.objects.create(slug="acme", name="Acme Ltd").pk)
"""


def script_output(env: dict, script: str) -> list[str]:
    """Run a setup script in this interpreter, in the worker's environment;
    return the lines it printed."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()


def database_prepare(env: dict) -> str:
    """Migrate the worker's database and create its organisation; return its id."""
    return script_output(env, SETUP)[-1]


def outgoing_message(envelope: dict) -> Outgoing:
    """What the relay would send for this envelope (events.relay.outgoing)."""
    headers, properties, body = task_message(envelope)
    return Outgoing(
        row_id=0,
        exchange=EXCHANGE.name,
        routing_key=routing_key(
            envelope["type"], partition_of(envelope["partitionkey"])
        ),
        headers=headers,
        properties=properties,
        body=body,
    )


def rows(db: Path, sql: str, *params) -> list[tuple]:
    connection = sqlite3.connect(db, timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # e.g. locked by the worker mid-write: read again later
    finally:
        connection.close()


def test_a_ledger_worker_applies_events_in_order_and_dead_letters_a_poison_one(
    broker, tmp_path
):
    # given: the worker's database, and three messages in one ledger partition:
    # a poison message, then a payment's approval before its submission
    env = worker_env(tmp_path, broker.root)
    organisation_id = database_prepare(env)
    db = tmp_path / "db.sqlite3"
    alice, bob = User(pk=1, username="alice"), User(pk=2, username="bob")
    payment_id, account_id = uuid.uuid4(), uuid.uuid4()
    submitted, approved, poison = (
        payment_event(
            event_type,
            organisation=SimpleNamespace(pk=organisation_id),
            submitted_by=alice,
            actor=bob,
            payment_id=pid,
            debtor_account_id=account_id,
        ).envelope
        for event_type, pid in (
            ("PaymentSubmitted", payment_id),
            ("PaymentApproved", payment_id),
            ("PaymentSubmitted", uuid.uuid4()),
        )
    )
    poison["data"]["amount"] = -1  # breaks the contract
    publisher = KombuPublisher("filesystem://")
    results = publisher.publish_batch(
        [outgoing_message(e) for e in (poison, approved, submitted)]
    )
    publisher.close()
    assert results == [None, None, None]
    queue = partition_queue_name("ledger", partition_of(str(account_id)))
    assert broker.waiting()[queue] == 3

    # when: a real worker consumes the ledger's queues
    log = tmp_path / "worker.log"
    worker = worker_start(env, log)
    try:
        deadline = time.monotonic() + 20
        applied: list[tuple] = []
        while time.monotonic() < deadline and len(applied) < 2:
            applied = rows(
                db,
                "SELECT event_id, sequence FROM events_inboxentry "
                "WHERE consumer = 'ledger' AND status = 'applied' ORDER BY applied_at",
            )
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    output = log.read_text()

    # then: both applied, the submission first, once each
    hexes = {e["id"]: uuid.UUID(e["id"]).hex for e in (submitted, approved, poison)}
    assert applied == [(hexes[submitted["id"]], 1), (hexes[approved["id"]], 2)], output
    deliveries = rows(
        db,
        "SELECT event_id, status FROM events_delivery WHERE consumer = 'ledger' "
        "ORDER BY id",
    )
    assert (hexes[approved["id"]], "parked") in deliveries
    assert [s for e, s in deliveries if e == hexes[approved["id"]]] == [
        "parked",
        "applied",
    ]
    assert [s for e, s in deliveries if e == hexes[submitted["id"]]] == ["applied"]
    assert rows(
        db,
        "SELECT last_sequence FROM events_consumerposition WHERE subject = ?",
        str(payment_id),
    ) == [(2,)]
    # and the ledger booked the approval exactly once
    assert rows(db, "SELECT event_id FROM ledger_journalentry") == [
        (hexes[approved["id"]],)
    ]
    # and the poison message was dead-lettered, not lost, and held nothing up
    assert [s for e, s in deliveries if e == hexes[poison["id"]]] == ["dead_lettered"]
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope["id"] == poison["id"]
    assert not [q for q in broker.waiting() if q.startswith("ledger.")]
    assert worker.returncode == 0, output
