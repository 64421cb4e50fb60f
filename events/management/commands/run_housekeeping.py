"""python manage.py run_housekeeping: every retention prune, now and every N minutes.

The periodic job of the process list (docker-compose.yml `housekeeping`): it
prunes published outbox rows, applied inbox rows, delivery records and
idempotency keys past their retention, each by the rules of its own prune
(events/retention.py, api/idempotency.py). See docs/operations.md#retention.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from api.idempotency import idempotency_prune
from config.stop_signals import stop_on_signals
from events.retention import delivery_prune, inbox_prune, outbox_prune

logger = logging.getLogger("events.housekeeping")


def housekeeping_round(stop: threading.Event | None = None) -> dict[str, int | None]:
    """Run each prune once; return how many rows each deleted (None: it failed).

    One failing prune (the database away for a moment) does not stop the
    others, nor the process: the next round tries again. Once `stop` is set,
    the prunes not yet started are left for another time.
    """
    prunes = {
        "outbox rows": lambda: outbox_prune(
            older_than=timedelta(days=settings.OUTBOX_RETENTION_DAYS)
        ),
        "inbox rows": lambda: inbox_prune(
            older_than=timedelta(days=settings.INBOX_RETENTION_DAYS)
        ),
        "delivery records": lambda: delivery_prune(
            older_than=timedelta(days=settings.DELIVERY_RETENTION_DAYS)
        ),
        "idempotency keys": idempotency_prune,
    }
    done: dict[str, int | None] = {}
    for rows, prune in prunes.items():
        if stop is not None and stop.is_set():
            break
        try:
            done[rows] = prune()
        except DatabaseError as exc:
            logger.warning("pruning %s failed: %s", rows, exc)
            done[rows] = None
    return done


class Command(BaseCommand):
    help = (
        "Prune the outbox, inbox, delivery records and idempotency keys now and "
        "every HOUSEKEEPING_INTERVAL_MINUTES (SIGTERM or Ctrl-C: exit 0)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every-minutes",
            type=float,
            default=None,
            help="default: HOUSEKEEPING_INTERVAL_MINUTES "
            f"({settings.HOUSEKEEPING_INTERVAL_MINUTES})",
        )
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args, every_minutes=None, once=False, **options):
        minutes = (
            settings.HOUSEKEEPING_INTERVAL_MINUTES
            if every_minutes is None
            else every_minutes
        )
        if minutes <= 0:
            raise CommandError("--every-minutes must be more than 0.")
        stop = threading.Event()
        if not once:
            stop_on_signals(stop)
            self.stdout.write(f"housekeeping started: a round every {minutes:g} min")
        while not stop.is_set():
            if not once:
                # A connection left broken by a restart of the database, or
                # past DB_CONN_MAX_AGE, is replaced before each round.
                close_old_connections()
            done = housekeeping_round(stop)
            self.stdout.write(
                "pruned "
                + ", ".join(
                    f"{'?' if count is None else count} {rows}"
                    for rows, count in done.items()
                )
            )
            if once:
                break
            stop.wait(minutes * 60)
        if not once:
            self.stdout.write("housekeeping stopped")
