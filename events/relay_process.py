"""The relay as a process: leadership, wake-ups, backoff and a clean stop.

Only the leader publishes (PostgreSQL advisory lock, or a file lock on SQLite);
other relays wait as standbys and take over when the leader's session ends. The
leader checks that its lock is still held before each publish, and steps down
when it is not. It wakes on LISTEN/NOTIFY and polls as well: a lost
notification costs latency, never an event.
"""

import contextlib
import fcntl
import logging
import threading
import time
import zlib

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from config.db.conninfo import psycopg_conninfo
from config.db.listen import notifications_drained
from events.backoff import Backoff
from events.metrics import MeteredLeadership
from events.metrics_collectors import OutboxCollector
from events.metrics_server import heartbeat_beat, metrics_serve
from events.outbox import NOTIFY_CHANNEL
from events.publishers import BrokerUnavailable, publisher_for
from events.relay import LeadershipLost, RelayPipeline
from events.relay_switch import RelaySwitch
from observability.db_commits import (
    autocommit_statements_counted,
    notifications_counted,
)

logger = logging.getLogger("events.relay")
LOCK_KEY = zlib.crc32(b"payments.outbox.relay")
# A relay that lost its lock waits this many polls (at least STEP_DOWN_MIN_SECONDS)
# before it competes again, so a standby that kept its connection takes over.
STEP_DOWN_POLLS = 4
STEP_DOWN_MIN_SECONDS = 2.0
# How soon a dead peer is noticed on the lock connection, from either end: the
# client's TCP keepalives and timeout, and the server's for our session (the
# server releases the lock only when it notices we are gone).
KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
SERVER_KEEPALIVE = (
    "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; "
    "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000"
)
# How often the leader proves its lock session with a round trip (held()). Far
# below the ten seconds either end takes to give up on a silent network, and
# a round trip a second instead of one per cycle (one per approval or so).
PROOF_SECONDS = 1.0


class PostgresLeadership:
    """Session advisory lock plus LISTEN, on one dedicated autocommit connection.

    The lock is ours exactly as long as that session lives: PostgreSQL releases
    it when the session ends (crash, kill, pg_terminate_backend, lost network),
    and nothing else can take it from a live session.
    """

    def __init__(self):
        self.conninfo = {
            **psycopg_conninfo(connection.settings_dict),
            "application_name": "relay-leader",
        }
        self.conn: psycopg.Connection | None = None
        self.proved_at = float("-inf")
        self.woken = False

    def acquire(self) -> bool:
        if self.conn is not None and not self.conn.closed:
            return True
        conn = psycopg.connect(
            **self.conninfo, **KEEPALIVE, autocommit=True, connect_timeout=5
        )
        conn.add_notice_handler(self._server_spoke)
        conn.execute(SERVER_KEEPALIVE)
        locked = conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        autocommit_statements_counted(2)
        if not locked.fetchone()[0]:
            conn.close()
            return False
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        autocommit_statements_counted()
        self.conn = conn
        self.proved_at = time.monotonic()
        return True

    def held(self) -> bool:
        """Return whether the lock is still ours.

        The session ending is seen without a round trip: the server sends a
        FATAL message to the idle socket before it frees the lock for a
        standby, and a message unasked calls for a proof at once. A network
        that drops everything silently says nothing, so SELECT 1 proves the
        session at least every PROOF_SECONDS: it blocks on such a network,
        and stops the publishing, until
        tcp_user_timeout; the server frees the lock only after its keepalives
        gave up, longer than that (KEEPALIVE, SERVER_KEEPALIVE).
        """
        if self.conn is None or self.conn.closed:
            return False
        try:
            # Read after this cycle's claim: their rows may be newer than it,
            # so the next wait() returns at once and the next claim finds them.
            self.woken |= notifications_drained(self.conn) > 0
            if time.monotonic() - self.proved_at >= PROOF_SECONDS:
                self.conn.execute("SELECT 1")
                autocommit_statements_counted()
                self.proved_at = time.monotonic()
        except psycopg.Error:
            self.release()
            return False
        return True

    def _server_spoke(self, diagnostic) -> None:
        # Unasked, the server speaks to an idle session only to end it
        # (terminated, shut down, timed out): held() proves the session next.
        self.proved_at = float("-inf")

    def wait(self, timeout: float) -> None:
        """Sleep until a commit notifies us, or the poll interval passes."""
        try:
            if not self.woken:
                notified = self.conn.notifies(timeout=timeout, stop_after=1)
                notifications_counted(sum(1 for _ in notified))
            # Several commits may have notified; one drain serves them all.
            notifications_drained(self.conn)
        except psycopg.Error as exc:
            self.release()
            raise LeadershipLost(f"the leader lock's connection failed: {exc}") from exc
        self.woken = False

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.proved_at = float("-inf")


class FileLeadership:
    """An exclusive file lock beside the SQLite database; polling only."""

    def __init__(self):
        self.path = settings.VAR_DIR / "relay.lock"
        self.file = None
        self._stop = threading.Event()

    def acquire(self) -> bool:
        if self.file is not None:
            return True
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.file = handle
        return True

    def held(self) -> bool:
        # The kernel drops the lock only with the process; nothing to check.
        return self.file is not None

    def wait(self, timeout: float) -> None:
        self._stop.wait(timeout)

    def release(self) -> None:
        if self.file is not None:
            self.file.close()
        self.file = None


def leadership_for_database():
    if connection.vendor == "postgresql":
        return PostgresLeadership()
    return FileLeadership()


def relay_run(*, stop: threading.Event, publisher=None, leadership=None) -> None:
    """Relay until `stop` is set; the batch in flight is finished first."""
    publisher = publisher or publisher_for(settings.CELERY_BROKER_URL)
    leadership = MeteredLeadership(leadership or leadership_for_database())
    metrics_serve("relay", collectors=[OutboxCollector()])
    poll = settings.RELAY_POLL_SECONDS
    backoff = Backoff(base=0.2, cap=settings.RELAY_BACKOFF_MAX_SECONDS)
    switch = RelaySwitch()
    pipeline = RelayPipeline(
        publisher=publisher,
        leadership=leadership,
        marks_wait=settings.RELAY_MARK_WAIT_SECONDS > 0,
    )
    standby_logged = broker_down = False
    logger.info("relay started (broker %s)", publisher.__class__.__name__)
    while not stop.is_set():
        heartbeat_beat()
        try:
            if not leadership.acquire():
                if not standby_logged:
                    logger.info("another relay is active; standing by")
                    standby_logged = True
                stop.wait(poll)
                continue
            if standby_logged:
                logger.info("took over as the active relay")
                standby_logged = False
            close_old_connections()
            if switch.paused():
                pipeline.finish()
                leadership.wait(poll)
                continue
            cycle = pipeline.step()
            if broker_down:
                logger.info("broker is back; draining the outbox in order")
                broker_down = False
            backoff.reset()
            if cycle.claimed >= settings.RELAY_BATCH_SIZE:
                continue  # a full batch: more are probably waiting
            # Rows confirmed and not yet marked wait a moment for the next
            # commit's claim to mark them in its transaction; then a claim
            # marks them anyway (with nothing to claim, if nothing came).
            leadership.wait(
                settings.RELAY_MARK_WAIT_SECONDS if pipeline.unmarked else poll
            )
        except LeadershipLost as exc:
            logger.warning("lost the leader lock (%s); standing by", exc)
            leadership.release()
            standby_logged = True
            stop.wait(max(STEP_DOWN_MIN_SECONDS, STEP_DOWN_POLLS * poll))
        except BrokerUnavailable as exc:
            delay = backoff.next_delay()
            logger.warning("broker unavailable (%s); retrying in %.1fs", exc, delay)
            broker_down = True
            stop.wait(delay)
        except (DatabaseError, psycopg.Error) as exc:
            delay = backoff.next_delay()
            logger.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
            leadership.release()
            connection.close()
            stop.wait(delay)
        except Exception:
            # A bug must not stop the outbox for good: every row's own errors
            # are contained in its cycle, so this is the relay's, and a later
            # cycle may well succeed. The traceback goes to the log.
            delay = backoff.next_delay()
            logger.exception("relay cycle failed; retrying in %.1fs", delay)
            stop.wait(delay)
    with contextlib.suppress(Exception):  # its rows are sent again on failure
        pipeline.finish()
    publisher.close()
    leadership.release()
    logger.info("relay stopped")
