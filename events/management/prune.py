"""The shape every prune_* command shares: a retention setting, a --older-than-days
override, and one line saying what went."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class PruneCommand(BaseCommand):
    """Subclasses name the retention setting, the prune function and the rows."""

    setting: str  # e.g. "OUTBOX_RETENTION_DAYS"
    rows: str  # e.g. "published outbox rows"

    def prune(self, *, older_than: timedelta) -> int:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help=f"default: {self.setting} ({getattr(settings, self.setting)})",
        )

    def handle(self, *args, older_than_days=None, **options):
        days = (
            getattr(settings, self.setting)
            if older_than_days is None
            else older_than_days
        )
        if days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        deleted = self.prune(older_than=timedelta(days=days))
        self.stdout.write(f"Pruned {deleted} {self.rows} older than {days} days.")
