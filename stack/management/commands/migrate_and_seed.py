"""The stack's one-shot job: migrate, then seed the demo data when in demo mode."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Apply migrations; in demo mode also create the demo users and accounts."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=1)
        if settings.DEMO_MODE:
            call_command("seed_demo")
