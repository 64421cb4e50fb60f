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
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from config.db.listen import readable
from events import relay_process
from events.models import OutboxMessage
from events.publishers import BrokerUnavailable, KombuPublisher
from events.relay import LeadershipLost
from events.relay_process import FileLeadership, PostgresLeadership, relay_run
from observability.db_commits import DB_STATEMENTS
from tests.events.conftest import outbox_event, queue_of
from tests.events.test_relay_failures import accounts_in_two_partitions

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


class Gated(Counting):
    """Counts what it published; its first publish waits for the test's go."""

    def __init__(self):
        super().__init__()
        self.publishing = threading.Event()
        self.go = threading.Event()

    def publish_batch(self, messages):
        if not self.publishing.is_set():
            self.publishing.set()
            self.go.wait(20)
        return super().publish_batch(messages)


class FailsOnce(KombuPublisher):
    """A publisher with a bug that strikes once (not a broker error)."""

    def __init__(self):
        super().__init__("filesystem://")
        self.failed = False

    def publish_batch(self, messages):
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in the publisher")
        return super().publish_batch(messages)


class Deferred(PostgresLeadership):
    """A standby that may not take the lock until the test allows it."""

    def __init__(self):
        super().__init__()
        self.allowed = threading.Event()

    def acquire(self) -> bool:
        return self.allowed.is_set() and super().acquire()


def terminate(leadership: PostgresLeadership) -> None:
    """End the leader lock's session from outside, as a failover or a DBA would.

    Returns once the session is gone, as it is before a standby can take the
    lock: pg_terminate_backend only signals it.
    """
    pid = leadership.conn.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    def gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            return cursor.fetchone() is None

    eventually(gone, what="the terminated session to end")


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


@pytest.mark.postgres
def test_a_publish_sends_no_statement_of_its_own_to_wake_the_relay(acme, alice):
    # when
    with CaptureQueriesContext(connection) as queries:
        outbox_event(organisation=acme, submitted_by=alice)

    # then: the outbox's insert trigger notifies (events/migrations/0010)
    statements = [q["sql"].lower() for q in queries.captured_queries]
    assert any("insert into" in sql for sql in statements)
    assert not [sql for sql in statements if "notify" in sql]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = "
            "'events_outboxmessage'::regclass AND NOT tgisinternal"
        )
        assert [row[0] for row in cursor.fetchall()] == ["events_outbox_notify"]


@pytest.mark.postgres
def test_a_relay_whose_lock_connection_dies_stops_publishing_and_a_standby_leads(
    fast_relay, settings, acme, alice
):
    # given: a busy leader (every cycle a full batch, so it never stops to wait)
    # in the middle of publishing the first of five events, and a standby
    settings.RELAY_BATCH_SIZE = 1
    account = uuid.uuid4()
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for _ in range(5)
    ]
    leader, standby = Gated(), Counting()
    leader_lock, standby_lock = PostgresLeadership(), Deferred()
    with running_relay(publisher=leader, leadership=leader_lock):
        assert leader.publishing.wait(10)
        with running_relay(publisher=standby, leadership=standby_lock):
            # when: the leader's lock session is killed while it publishes
            terminate(leader_lock)
            leader.go.set()

            # then: the leader notices before its next publish, and steps down
            eventually(
                lambda: leader_lock.conn is None or all_published(),
                what="the leader to notice it lost its lock",
            )
            assert leader.published == 1  # the event in flight, nothing after
            # and the standby takes over and publishes the rest
            standby_lock.allowed.set()
            eventually(all_published, what="the standby to publish the rest")
    assert leader.published == 1
    assert standby.published == 4
    assert ledger_ids(fast_relay, rows) == sorted(str(row.event_id) for row in rows)


@pytest.mark.postgres
def test_postgres_leadership_notices_its_lock_session_is_gone(broker):
    # given
    checked, waiting = PostgresLeadership(), PostgresLeadership()
    try:
        assert checked.acquire() and checked.held()

        # when
        terminate(checked)

        # then: the check says so, and the lock is free for another relay
        assert not checked.held()
        assert checked.conn is None
        eventually(waiting.acquire, what="the lock to be free")
        # and a leader waiting for notifications learns it too
        terminate(waiting)
        with pytest.raises(LeadershipLost):
            waiting.wait(5)
        assert waiting.conn is None
    finally:
        checked.release()
        waiting.release()


@pytest.mark.postgres
def test_the_leader_proves_its_lock_once_a_second_and_sees_its_end_unasked(
    monkeypatch,
):
    # given: a leader that has just proved its lock (taking it)
    lock = PostgresLeadership()
    try:
        assert lock.acquire()
        sent = DB_STATEMENTS._value.get()

        # when: it checks once per cycle within the second
        checks = [lock.held() for _ in range(5)]

        # then: no round trip for any of them
        assert checks == [True] * 5
        assert DB_STATEMENTS._value.get() == sent
        # and once a proof is due, one SELECT 1 proves the session
        monkeypatch.setattr(relay_process, "PROOF_SECONDS", 0.0)
        assert lock.held()
        assert DB_STATEMENTS._value.get() == sent + 1

        # when: its session is ended from outside, no proof due by the clock
        monkeypatch.setattr(relay_process, "PROOF_SECONDS", 3600.0)
        terminate(lock)

        # then: the server's goodbye on the idle socket calls for the proof
        # at once, and the proof fails
        assert not lock.held()
        assert lock.conn is None
    finally:
        lock.release()


@pytest.mark.postgres
def test_a_notification_the_check_read_still_wakes_the_next_wait(acme, alice):
    # given: a leader, and a commit that notified it while it was not waiting
    lock = PostgresLeadership()
    try:
        assert lock.acquire()
        outbox_event(organisation=acme, submitted_by=alice)
        eventually(lambda: readable(lock.conn.pgconn.socket), what="the notification")

        # when: the check before a publish reads it off the socket
        assert lock.held()
        started = time.monotonic()
        lock.wait(30)

        # then: the wait did not sleep out its 30 s
        assert time.monotonic() - started < 10
    finally:
        lock.release()


def test_a_corrupt_event_fails_alone_and_the_relay_goes_on(fast_relay, acme, alice):
    # given: an event whose stored envelope is corrupt
    stuck, flowing = accounts_in_two_partitions()
    bad = outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=stuck)
    OutboxMessage.objects.filter(id=bad.id).update(envelope={"id": str(bad.event_id)})

    with running_relay(publisher=KombuPublisher("filesystem://")) as (_, thread):
        # when: the relay meets it
        eventually(
            lambda: OutboxMessage.objects.filter(
                id=bad.id, failed_at__isnull=False
            ).exists(),
            what="the corrupt row to fail",
        )
        # then: it lives, and publishes what comes next in other partitions
        later = outbox_event(
            organisation=acme, submitted_by=alice, debtor_account_id=flowing
        )
        eventually(
            lambda: OutboxMessage.objects.filter(
                id=later.id, published_at__isnull=False
            ).exists(),
            what="the relay to publish after the corrupt row",
        )
        assert thread.is_alive()


def test_an_unexpected_error_in_a_cycle_is_logged_and_the_relay_goes_on(
    fast_relay, acme, alice, caplog
):
    # given
    rows = [outbox_event(organisation=acme, submitted_by=alice) for _ in range(2)]

    # when: a bug strikes the first cycle
    with running_relay(publisher=FailsOnce()):
        eventually(all_published, what="the relay to recover from the bug")

    # then
    assert "relay cycle failed" in caplog.text
    assert "a bug in the publisher" in caplog.text
    assert ledger_ids(fast_relay, rows) == sorted(str(row.event_id) for row in rows)


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
