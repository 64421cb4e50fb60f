"""The mailer: a process of its own that sends the notification e-mails.

The notifications consumer records each notification, the e-mail's outbox
row, in the transaction that applies the event (services.py). With
NOTIFICATION_EMAIL_SENDER=mailer (docker-compose.yml) the worker does nothing
more: this process claims the due e-mails, sends them and marks them
(emails.py), as the relay does for the event outbox. Building and sending an
e-mail cost the worker as much CPU as applying its event, and on a thread of
the worker it took turns with the consumer on one interpreter lock; here it
takes none of the consumer's time, and a slow mail server cannot touch it.
See docs/adr/0029-a-mailer-process-sends-the-emails.md.

It wakes when a commit inserts notifications (a statement trigger NOTIFYs
`notification_emails`: notifications/migrations/0004) and polls as well, for
e-mails whose backoff has passed and for SQLite, which has no NOTIFY: a lost
notification costs latency, never an e-mail. Several mailers may run: claims
skip each other's rows (email_claims.py).
"""

import logging
import threading
import time

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from config.db.conninfo import psycopg_conninfo
from events.backoff import Backoff
from events.metrics_server import heartbeat_beat, metrics_serve
from notifications.email_metrics import email_outbox_observed
from notifications.emails import notification_emails_send_due
from observability.db_commits import (
    autocommit_statements_counted,
    notifications_counted,
)

logger = logging.getLogger("notifications.mailer")

WAKE_CHANNEL = "notification_emails"
# The longest a stop waits for a waiting mailer to notice it.
STOP_SLICE = 0.5


class PostgresWake:
    """LISTEN on a connection of its own; wait for a commit's NOTIFY.

    Its poll only finds e-mails whose backoff has passed (the old sweep's
    interval), and any a lost notification left."""

    def __init__(self, stop: threading.Event):
        self.conninfo = {
            **psycopg_conninfo(connection.settings_dict),
            "application_name": "mailer-listen",
        }
        self.stop = stop
        self.conn: psycopg.Connection | None = None

    def poll_seconds(self) -> float:
        return settings.NOTIFICATION_EMAIL_SWEEP_SECONDS

    def wait(self, timeout: float) -> None:
        """Return once notified (after a short linger) or after `timeout`."""
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(
                **self.conninfo, autocommit=True, connect_timeout=5
            )
            self.conn.execute(f"LISTEN {WAKE_CHANNEL}")
            autocommit_statements_counted()
            # Whatever was committed before we listened is found by the pass
            # that follows this return.
            return
        try:
            woken = self._notified(timeout)
            if woken:
                # A burst's commit is often followed by the next one: wait a
                # moment so that one claim carries both bursts' e-mails.
                self.stop.wait(settings.NOTIFICATION_EMAIL_LINGER_SECONDS)
                notifications_counted(sum(1 for _ in self.conn.notifies(timeout=0)))
        except psycopg.Error:
            self.close()
            raise

    def _notified(self, timeout: float) -> bool:
        # In slices, so that a stop is noticed within one: a SIGTERM must not
        # wait out the poll interval.
        deadline = time.monotonic() + timeout
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for _ in self.conn.notifies(timeout=min(left, STOP_SLICE), stop_after=1):
                notifications_counted(1)
                return True
        return False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


class PollWake:
    """SQLite has no NOTIFY: wait out the poll interval, which is how soon an
    e-mail leaves."""

    def __init__(self, stop: threading.Event):
        self.stop = stop

    def poll_seconds(self) -> float:
        return settings.NOTIFICATION_EMAIL_POLL_SECONDS

    def wait(self, timeout: float) -> None:
        self.stop.wait(timeout)

    def close(self) -> None:
        pass


def wake_for_database(stop: threading.Event):
    if connection.vendor == "postgresql":
        return PostgresWake(stop)
    return PollWake(stop)


def _start_afresh(wake, stop: threading.Event, delay: float) -> None:
    wake.close()
    connection.close()
    stop.wait(delay)


def mailer_run(*, stop: threading.Event, wake=None) -> None:
    """Send due e-mails until `stop` is set; the pass in hand is finished first."""
    email_outbox_observed()
    metrics_serve("mailer")
    wake = wake or wake_for_database(stop)
    backoff = Backoff(base=0.2, cap=30.0)
    logger.info("mailer started")
    try:
        while not stop.is_set():
            heartbeat_beat()
            try:
                close_old_connections()
                sent = notification_emails_send_due(tick=heartbeat_beat)
                backoff.reset()
                if sent.more:
                    continue  # a full batch with the server answering
                wake.wait(wake.poll_seconds())
            except (DatabaseError, psycopg.Error) as exc:
                delay = backoff.next_delay()
                logger.warning(
                    "database unavailable (%s); retrying in %.1fs", exc, delay
                )
                _start_afresh(wake, stop, delay)
            except Exception:
                # Whatever else failed, the rows stay pending under their
                # lease: log it, and the next pass starts afresh.
                delay = backoff.next_delay()
                logger.exception("sending e-mails failed; retrying in %.1fs", delay)
                _start_afresh(wake, stop, delay)
    finally:
        wake.close()
        connection.close()
        logger.info("mailer stopped")
