"""python manage.py prune_idempotency_keys: forget keys past their retention (24 h)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from api.idempotency import idempotency_prune


class Command(BaseCommand):
    help = "Delete stored Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=int, default=None)

    def handle(self, *args, older_than_hours, **options):
        age = None if older_than_hours is None else timedelta(hours=older_than_hours)
        deleted = idempotency_prune(older_than=age)
        self.stdout.write(f"Deleted {deleted} idempotency keys.")
