"""manage.py replay_events --consumer NAME: re-send stored events to one consumer.

Only that consumer's partition queues receive them; its inbox skips what it has
already applied, so a replay can repair a consumer but never double an effect.
"""

import uuid
from datetime import UTC, datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from events.publishers import BrokerUnavailable
from events.replay import events_replay
from events.topology import partition_queue_name


def _since(value: str):
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)) is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise CommandError(
            f"--since {value!r} is not an ISO 8601 date or date-time, "
            "e.g. 2025-01-31T09:00:00Z."
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)  # the project runs on UTC
    return moment


class Command(BaseCommand):
    help = (
        "Re-send published outbox events, in order, to one consumer's partition "
        "queues only (its inbox skips those it already applied)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--consumer", required=True, help="e.g. ledger")
        parser.add_argument(
            "--since", help="only events created at or after this ISO date-time"
        )
        parser.add_argument("--payment", help="only this payment's events (its id)")

    def handle(self, *args, consumer, since=None, payment=None, **options):
        if consumer not in settings.EVENT_CONSUMERS:
            raise CommandError(
                f"No consumer named {consumer!r}; known: "
                f"{', '.join(settings.EVENT_CONSUMERS)}."
            )
        subject = None
        if payment is not None:
            try:
                subject = str(uuid.UUID(payment))
            except ValueError:
                raise CommandError(f"--payment {payment!r} is not a UUID.") from None
        try:
            sent = events_replay(
                consumer=consumer,
                since=_since(since) if since else None,
                subject=subject,
            )
        except BrokerUnavailable as exc:
            raise CommandError(f"The broker failed: {exc}") from exc
        first = partition_queue_name(consumer, 0)
        self.stdout.write(
            f"Replayed {sent} events to {consumer} "
            f"({first}..p{settings.EVENT_PARTITIONS - 1})."
        )
