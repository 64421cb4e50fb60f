"""python manage.py receive_landing: receive what lands in the landing folder.

Looks into SETTLEMENT_LANDING_DIR every SETTLEMENT_LANDING_POLL_SECONDS and
receives each complete file (settlement/landing.py). SIGTERM or Ctrl-C: it
finishes the file in hand and exits 0. See docs/operations.md.
"""

import logging
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from config.stop_signals import stop_on_signals
from observability.cause import Cause, caused_by
from settlement.landing import landing_pass

logger = logging.getLogger("settlement.landing")


class Command(BaseCommand):
    help = (
        "Receive the statements dropped in SETTLEMENT_LANDING_DIR, every "
        "SETTLEMENT_LANDING_POLL_SECONDS (SIGTERM or Ctrl-C: finish the file in "
        "hand, exit 0)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every-seconds",
            type=float,
            default=None,
            help="default: SETTLEMENT_LANDING_POLL_SECONDS "
            f"({settings.SETTLEMENT_LANDING_POLL_SECONDS})",
        )
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args, every_seconds=None, once=False, **options):
        seconds = (
            settings.SETTLEMENT_LANDING_POLL_SECONDS
            if every_seconds is None
            else every_seconds
        )
        if seconds <= 0:
            raise CommandError("--every-seconds must be more than 0.")
        root = Path(settings.SETTLEMENT_LANDING_DIR)
        root.mkdir(parents=True, exist_ok=True)
        stop = threading.Event()
        warned: set[str] = set()
        if not once:
            stop_on_signals(stop)
            self.stdout.write(f"receiving from {root} every {seconds:g} s")
        while not stop.is_set():
            if not once:
                # A connection broken by a database restart is replaced
                # before each pass rather than failing every file.
                close_old_connections()
            if once:
                with caused_by(Cause.fresh()):
                    self.stdout.write(str(landing_pass(root=root, warned=warned)))
                break
            try:
                # Each pass is its own cause: the files it receives share its id.
                with caused_by(Cause.fresh()):
                    tally = landing_pass(root=root, stop=stop, warned=warned)
            except DatabaseError as exc:
                # The database away for a moment: the files wait, and so do we.
                logger.warning("landing pass failed: %s", exc)
            else:
                if tally:
                    self.stdout.write(str(tally))
            stop.wait(seconds)
        if not once:
            self.stdout.write("landing receiver stopped")
