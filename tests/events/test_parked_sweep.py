"""A parked event whose gap has filled is applied even when its re-send is lost.

The release of a parked successor happens in the transaction that fills its gap;
a successor whose handler fails there is re-sent after commit. If that re-send
is lost (the worker killed between commit and publish), the worker's sweep
(events.worker.release_parked) applies it.
"""

import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest

from events.inbox import consume
from events.models import ConsumerPosition, Delivery, DeliveryStatus, InboxEntry
from events.topology import dead_letter_queue_name
from events.worker import release_parked
from ledger.handlers import HANDLERS as LEDGER_HANDLERS
from ledger.models import JournalEntry
from tests.events.test_worker_process import (
    BASE_DIR,
    User,
    database_prepare,
    rows,
    worker_env,
    worker_start,
)
from tests.events_builders import payment_event

APPLIED, PARKED = DeliveryStatus.APPLIED, DeliveryStatus.PARKED


@pytest.fixture
def payment(acme, alice, bob):
    """A payment's submission (1) and approval (2), with the ledger's handlers."""
    payment_id = uuid.uuid4()
    return [
        payment_event(
            event_type,
            organisation=acme,
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
        ).envelope
        for event_type in ("PaymentSubmitted", "PaymentApproved")
    ]


def flaky_approval(failures: int):
    """The ledger's handlers, with an approval handler failing `failures` times."""
    calls = []

    def approve(event):
        calls.append(event.id)
        if len(calls) <= failures:
            raise RuntimeError("ledger locked for month end")
        LEDGER_HANDLERS[("PaymentApproved", 2)](event)

    return {**LEDGER_HANDLERS, ("PaymentApproved", 2): approve}


def lost_resend(envelope: dict) -> None:
    raise ConnectionError("the worker died before the re-send left")


@pytest.mark.django_db(transaction=True)
def test_a_successor_whose_resend_is_lost_is_applied_by_the_sweep(
    payment, broker, django_capture_on_commit_callbacks
):
    # given: the approval parked ahead of its submission
    submitted, approved = payment
    handlers = flaky_approval(failures=1)
    assert consume(consumer="ledger", envelope=approved, handlers=handlers) == PARKED

    # when: the submission releases it, its handler fails once, and the re-send
    # that should retry it is lost
    outcome = consume(
        consumer="ledger", envelope=submitted, handlers=handlers, on_stuck=lost_resend
    )

    # then: the submission's delivery still succeeds (the lost re-send is not its
    # failure), and the approval waits, parked, with its gap filled
    assert outcome == APPLIED
    entry = InboxEntry.objects.get(consumer="ledger", event_id=approved["id"])
    assert entry.status == PARKED

    # when: the worker's sweep runs
    from events.worker import consumer_app

    app = consumer_app("ledger", handlers)
    assert release_parked(app, "ledger", handlers) == 1

    # then: applied once, booked once, position moved on
    entry.refresh_from_db()
    assert entry.status == APPLIED
    assert (
        ConsumerPosition.objects.get(
            consumer="ledger", subject=approved["subject"]
        ).last_sequence
        == 2
    )
    assert JournalEntry.objects.filter(event_id=approved["id"]).count() == 1
    # and a second sweep finds nothing to do
    assert release_parked(app, "ledger", handlers) == 0


@pytest.mark.django_db(transaction=True)
def test_a_successor_that_keeps_failing_is_dead_lettered_by_the_sweep(
    payment, broker, settings
):
    # given: a released approval that fails every time, its re-send lost
    settings.CONSUMER_MAX_RETRIES = 2
    submitted, approved = payment
    handlers = flaky_approval(failures=100)
    consume(consumer="ledger", envelope=approved, handlers=handlers)
    consume(
        consumer="ledger", envelope=submitted, handlers=handlers, on_stuck=lost_resend
    )
    from events.worker import consumer_app

    app = consumer_app("ledger", handlers)

    # when: the sweep runs until the attempts are used up
    for _ in range(3):
        release_parked(app, "ledger", handlers)

    # then: dead-lettered visibly, with a copy in the dead-letter queue
    entry = InboxEntry.objects.get(consumer="ledger", event_id=approved["id"])
    assert entry.status == DeliveryStatus.DEAD_LETTERED
    assert "month end" in entry.error
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope["id"] == approved["id"]
    assert (
        Delivery.objects.filter(
            event_id=approved["id"], status=DeliveryStatus.FAILED
        ).count()
        == 2
    )


KILLED_IN_THE_WINDOW = """
import os, sys, django
django.setup()
from events.inbox import consume
from ledger.handlers import HANDLERS
import json
submitted, approved = json.loads(sys.argv[1])
def approve_fails(event):
    raise RuntimeError("ledger locked for month end")
handlers = {**HANDLERS, ("PaymentApproved", 2): approve_fails}
consume(consumer="ledger", envelope=approved, handlers=handlers)
# The re-send after commit never happens: the process dies right there.
consume(consumer="ledger", envelope=submitted, handlers=handlers,
        on_stuck=lambda envelope: os._exit(9))
"""


@pytest.mark.django_db
def test_a_worker_killed_between_release_and_resend_leaves_nothing_stranded(
    broker, tmp_path
):
    # given: a process applies the submission, fails to release the approval and
    # is killed between its commit and the re-send (nothing in any queue)
    import json

    env = worker_env(tmp_path, broker.root)
    organisation_id = database_prepare(env)
    env["CONSUMER_PARKED_SWEEP_SECONDS"] = "0.5"
    db = tmp_path / "db.sqlite3"
    organisation = SimpleNamespace(pk=organisation_id)
    payment_id = uuid.uuid4()
    submitted, approved = (
        payment_event(
            event_type,
            organisation=organisation,
            submitted_by=User(pk=1, username="alice"),
            actor=User(pk=2, username="bob"),
            payment_id=payment_id,
        ).envelope
        for event_type in ("PaymentSubmitted", "PaymentApproved")
    )
    killed = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", KILLED_IN_THE_WINDOW, json.dumps([submitted, approved])],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == 9, killed.stderr
    hex_id = uuid.UUID(approved["id"]).hex
    assert rows(
        db, "SELECT status FROM events_inboxentry WHERE event_id = ?", hex_id
    ) == [("parked",)]
    assert not broker.waiting()

    # when: a real ledger worker starts, with no message to receive
    log = tmp_path / "worker.log"
    worker = worker_start(env, log)
    try:
        deadline = time.monotonic() + 20
        status: list[tuple] = []
        while time.monotonic() < deadline and status != [("applied",)]:
            status = rows(
                db, "SELECT status FROM events_inboxentry WHERE event_id = ?", hex_id
            )
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=15)

    # then: its sweep applied the approval, and the ledger booked it once
    assert status == [("applied",)], log.read_text()
    assert rows(db, "SELECT event_id FROM ledger_journalentry") == [(hex_id,)]
