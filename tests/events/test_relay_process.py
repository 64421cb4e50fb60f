"""The relay as a long-running process: its loop, leadership, wake-ups and stop.

The loop runs in a thread (relay_run) or as `manage.py run_relay`, against the
test database and a private filesystem broker. Waits poll with a deadline: they
check that something happens, never how fast.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from events.models import OutboxMessage
from events.publishers import BrokerUnavailable, KombuPublisher
from events.relay_process import FileLeadership, PostgresLeadership, relay_run
from tests.events.conftest import outbox_event, queue_of

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(django_settings.BASE_DIR)


def eventually(check, *, within: float = 10.0, what: str = "condition") -> None:
    """Poll `check` until it is true; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def all_published() -> bool:
    return not OutboxMessage.objects.filter(published_at__isnull=True).exists()


def ledger_ids(broker, rows) -> list[str]:
    """The event ids waiting in the ledger's queues of these rows, sorted."""
    queues = {queue_of("ledger", row) for row in rows}
    return sorted(m.envelope["id"] for q in queues for m in broker.drain(q))


class Counting(KombuPublisher):
    """The real filesystem publisher, counting what it published."""

    def __init__(self):
        super().__init__("filesystem://")
        self.published = 0

    def publish_batch(self, messages):
        results = super().publish_batch(messages)
        self.published += sum(1 for error in results if error is None)
        return results


class DownThenUp(KombuPublisher):
    """A broker that refuses the first `failures` batches, then works."""

    def __init__(self, failures: int):
        super().__init__("filesystem://")
        self.failures = failures
        self.refused = 0

    def publish_batch(self, messages):
        if self.refused < self.failures:
            self.refused += 1
            raise BrokerUnavailable("[Errno 111] Connection refused")
        return super().publish_batch(messages)


@contextmanager
def running_relay(**kwargs):
    """Run relay_run in a thread; stop it and check it ended on the way out."""
    stop = threading.Event()

    def run():
        try:
            relay_run(stop=stop, **kwargs)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield stop, thread
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive(), "the relay did not stop"


@pytest.fixture
def fast_relay(broker, settings):
    settings.RELAY_POLL_SECONDS = 0.1
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.5
    return broker


def test_the_relay_loop_publishes_new_rows_and_stops_when_asked(
    fast_relay, acme, alice
):
    # given: a running relay
    with running_relay(publisher=KombuPublisher("filesystem://")) as (stop, thread):
        # when: events commit while it runs
        rows = [outbox_event(organisation=acme, submitted_by=alice) for _ in range(3)]

        # then: it publishes them
        eventually(all_published, what="the relay to publish the rows")
        # and a stop request ends the loop
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
    assert ledger_ids(fast_relay, rows) == sorted(str(row.event_id) for row in rows)


def test_the_relay_survives_a_broker_outage_and_then_drains(
    fast_relay, acme, alice, caplog
):
    # given: a broker that is away for the relay's first two attempts
    rows = [outbox_event(organisation=acme, submitted_by=alice) for _ in range(2)]
    flaky = DownThenUp(failures=2)

    # when
    with running_relay(publisher=flaky):
        eventually(all_published, what="the rows to be published after the outage")

    # then: it retried instead of dying, and lost nothing
    assert flaky.refused == 2
    assert "broker unavailable" in caplog.text
    assert ledger_ids(fast_relay, rows) == sorted(str(row.event_id) for row in rows)


def test_the_standby_takes_over_when_the_leader_stops(fast_relay, acme, alice):
    # given: a leader that is publishing, and a standby
    leader, standby = Counting(), Counting()
    with running_relay(publisher=leader) as (leader_stop, leader_thread):
        outbox_event(organisation=acme, submitted_by=alice)
        eventually(lambda: leader.published == 1, what="the leader to publish")
        with running_relay(publisher=standby):
            outbox_event(organisation=acme, submitted_by=alice)
            eventually(lambda: leader.published == 2, what="the leader again")
            assert standby.published == 0

            # when: the leader stops
            leader_stop.set()
            leader_thread.join(10)
            outbox_event(organisation=acme, submitted_by=alice)

            # then: the standby takes over
            eventually(lambda: standby.published == 1, what="the standby to take over")
    assert leader.published == 2
    assert all_published()


def test_file_leadership_admits_one_relay_at_a_time(broker):
    # given
    first, second = FileLeadership(), FileLeadership()

    # when / then
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres
def test_postgres_leadership_admits_one_relay_until_it_releases(broker):
    # given
    first, second = PostgresLeadership(), PostgresLeadership()

    try:
        # when / then
        assert first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_a_committed_publish_wakes_the_waiting_relay(broker, acme, alice):
    # given: the leader waiting for a notification, with a long poll interval
    leadership = PostgresLeadership()
    assert leadership.acquire()
    waiter = threading.Thread(target=leadership.wait, args=(30,), daemon=True)
    waiter.start()

    try:
        # when
        outbox_event(organisation=acme, submitted_by=alice)

        # then: the wait ended on the NOTIFY, long before its 30 s timeout
        waiter.join(10)
        assert not waiter.is_alive(), "the commit's NOTIFY did not wake the relay"
    finally:
        if not waiter.is_alive():
            leadership.release()


def relay_command_env(broker_root: Path, var_dir: Path) -> dict:
    """Environment for a relay process on this test's database and broker."""
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        url = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    env.update(
        DATABASE_URL=url,
        CELERY_BROKER_URL="filesystem://",
        BROKER_DIR=str(broker_root),
        VAR_DIR=str(var_dir),
        RELAY_POLL_SECONDS="0.2",
        DJANGO_SECRET_KEY="test-only",
    )
    return env


def test_run_relay_publishes_and_exits_0_on_sigterm(broker, tmp_path, acme, alice):
    # given: the relay command running on this test's database and broker
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_relay"],
        cwd=BASE_DIR,
        env=relay_command_env(broker.root, tmp_path / "var"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        row = outbox_event(organisation=acme, submitted_by=alice)
        eventually(
            all_published, within=20, what="the relay process to publish the row"
        )

        # when
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    # then
    assert process.returncode == 0, output
    assert "relay stopped" in output
    ids = [m.envelope["id"] for m in broker.drain(queue_of("ledger", row))]
    assert ids == [str(row.event_id)]
