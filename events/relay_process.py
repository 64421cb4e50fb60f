"""The relay as a process: leadership, wake-ups, backoff and a clean stop.

Only the leader publishes (PostgreSQL advisory lock, or a file lock on SQLite);
other relays wait as standbys and take over when the leader's session ends. The
leader wakes on LISTEN/NOTIFY and polls as well: a lost notification costs
latency, never an event.
"""

import fcntl
import logging
import threading
import zlib

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from events.outbox import NOTIFY_CHANNEL
from events.publishers import BrokerUnavailable, publisher_for
from events.relay import Backoff, relay_once
from events.relay_switch import RelaySwitch

logger = logging.getLogger("events.relay")
LOCK_KEY = zlib.crc32(b"payments.outbox.relay")


class PostgresLeadership:
    """Session advisory lock plus LISTEN, on one dedicated autocommit connection."""

    def __init__(self):
        params = connection.settings_dict
        self.conninfo = {
            "host": params["HOST"] or None,
            "port": params["PORT"] or None,
            "user": params["USER"] or None,
            "password": params["PASSWORD"] or None,
            "dbname": params["NAME"],
        }
        self.conn: psycopg.Connection | None = None

    def acquire(self) -> bool:
        if self.conn is not None and not self.conn.closed:
            return True
        conn = psycopg.connect(**self.conninfo, autocommit=True, connect_timeout=5)
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[
            0
        ]:
            conn.close()
            return False
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self.conn = conn
        return True

    def wait(self, timeout: float) -> None:
        """Sleep until a commit notifies us, or the poll interval passes."""
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            pass
        # Several commits may have notified; one drain serves them all.
        for _ in self.conn.notifies(timeout=0):
            pass

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


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
    leadership = leadership or leadership_for_database()
    poll = settings.RELAY_POLL_SECONDS
    backoff = Backoff()
    switch = RelaySwitch()
    standby_logged = broker_down = False
    logger.info("relay started (broker %s)", publisher.__class__.__name__)
    while not stop.is_set():
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
                leadership.wait(poll)
                continue
            published = relay_once(publisher=publisher)
            if broker_down:
                logger.info("broker is back; draining the outbox in order")
                broker_down = False
            backoff.reset()
            if published >= settings.RELAY_BATCH_SIZE:
                continue  # a full batch: more are probably waiting
            leadership.wait(poll)
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
    publisher.close()
    leadership.release()
    logger.info("relay stopped")
