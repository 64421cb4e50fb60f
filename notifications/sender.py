"""Where e-mails are sent from: a thread of the notifications worker, or inline;
or, with NOTIFICATION_EMAIL_SENDER=mailer, neither (notifications/mailer.py).

In the worker, a slow mail server must hold up neither the event being
consumed (the after-commit send) nor the worker's main loop (where its
periodic timer runs the sweep), so both only hand the work to one background
thread per process. Anything else that records notifications (a test, a
management command) sends inline after commit. See notifications/emails.py.
"""

import logging
import os
import threading

from django.conf import settings
from django.db import connection

from notifications.email_metrics import email_outbox_observed
from notifications.emails import notification_emails_send, notification_emails_send_due

logger = logging.getLogger(__name__)

# An idle sender's thread lets its database connection go after this long.
IDLE_CLOSE_SECONDS = 5.0


class EmailSender:
    """Send e-mails on a background thread once `enable()`d; inline until then."""

    def __init__(self) -> None:
        self.enabled = False
        self._reset()
        # A forked worker child inherits the flag but neither the thread nor a
        # lock it may have held: it starts its own on first use.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._ids: list = []
        self._sweep = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def enable(self) -> None:
        self.enabled = True
        if settings.NOTIFICATION_EMAIL_SENDER == "worker":
            email_outbox_observed()  # the worker sends: its /metrics says what waits

    def send_after_commit(self, notification_ids) -> None:
        """E-mail just-committed notifications: queue them, or send them now.

        Nothing to do when the mailer sends: the commit has woken it.
        """
        if settings.NOTIFICATION_EMAIL_SENDER == "mailer":
            return
        if not self.enabled:
            notification_emails_send(notification_ids=notification_ids)
            return
        with self._condition:
            self._ids.extend(notification_ids)
            self._wake()

    def sweep(self) -> None:
        """Sweep for due e-mails: on the thread once enabled, so the caller (the
        worker's timer) never waits on the mail server; inline until then.
        Nothing to do when the mailer sends: it sweeps too."""
        if settings.NOTIFICATION_EMAIL_SENDER == "mailer":
            return
        if not self.enabled:
            notification_emails_send_due()
            return
        with self._condition:
            self._sweep = True
            self._wake()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread after the pass in hand, and send inline from now on."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self.enabled = False
        self._reset()

    def _wake(self) -> None:
        # Called with the condition held.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="notification-emails", daemon=True
            )
            self._thread.start()
        self._condition.notify()

    def _run(self) -> None:
        try:
            while self._pass():
                pass
        finally:
            # So that a stopped sender holds no connection, and a test
            # database can be dropped.
            connection.close()

    def _pass(self) -> bool:
        """Send what is queued; False once stopping.

        The thread keeps its database connection from one pass to the next,
        as a request or a consumer does: one per pass cost a PostgreSQL session
        (a process started and ended) for every batch of e-mails. It lets the
        connection go once idle for IDLE_CLOSE_SECONDS.
        """
        with self._condition:
            busy = self._condition.wait_for(
                lambda: self._ids or self._sweep or self._stopping,
                timeout=IDLE_CLOSE_SECONDS,
            )
            if self._stopping:
                return False
            if self._ids and not self._sweep:
                # A claim and a mark per pass: let a few more commits join it.
                self._condition.wait_for(
                    lambda: (
                        self._stopping
                        or len(self._ids) >= settings.NOTIFICATION_EMAIL_BATCH_SIZE
                    ),
                    timeout=settings.NOTIFICATION_EMAIL_LINGER_SECONDS,
                )
                if self._stopping:
                    return False
            ids, self._ids = self._ids, []
            sweep, self._sweep = self._sweep, False
        if not busy:
            connection.close()
            return True
        # As Django does before a request: replace a connection that broke or
        # outlived CONN_MAX_AGE.
        connection.close_if_unusable_or_obsolete()
        try:
            if ids:
                notification_emails_send(notification_ids=ids)
            # A full pass with the server answering: more may be due now.
            if sweep and notification_emails_send_due().more:
                with self._condition:
                    self._sweep = True
        except Exception:
            logger.exception("sending notification e-mails failed; will retry")
            connection.close()  # whatever failed, the next pass starts afresh
        return True


email_sender = EmailSender()
