"""python manage.py prune_outbox: delete published outbox rows past their retention.

Published rows are kept OUTBOX_RETENTION_DAYS for replay_events; unpublished
rows are never deleted, whatever their age.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from events.retention import outbox_prune


class Command(BaseCommand):
    help = (
        "Delete outbox rows published more than N days ago (default "
        "OUTBOX_RETENTION_DAYS); never unpublished ones."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help=f"default: OUTBOX_RETENTION_DAYS ({settings.OUTBOX_RETENTION_DAYS})",
        )

    def handle(self, *args, older_than_days=None, **options):
        days = (
            settings.OUTBOX_RETENTION_DAYS
            if older_than_days is None
            else older_than_days
        )
        if days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        deleted = outbox_prune(older_than=timedelta(days=days))
        self.stdout.write(
            f"Pruned {deleted} published outbox rows older than {days} days."
        )
