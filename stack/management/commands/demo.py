"""python manage.py demo: migrate, seed demo data and run the app (embedded mode)."""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Migrate, seed the demo data and run the app on SQLite (demo mode)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, host, port, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "Run with DEMO_MODE=1 (the README's run command sets it)."
            )
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        self.stdout.write(
            f"\nOpen http://{host}:{port}/api/v1/docs for the API and its docs.\n"
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        call_command("runserver", f"{host}:{port}", use_reloader=False)
