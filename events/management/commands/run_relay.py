"""python manage.py run_relay: publish committed outbox rows until stopped."""

from django.core.management.base import BaseCommand

from config.stop_signals import stop_on_signals
from events.relay_process import relay_run


class Command(BaseCommand):
    help = (
        "Run the outbox relay (SIGTERM or Ctrl-C: finish the batch in flight, exit 0)."
    )

    def handle(self, *args, **options):
        relay_run(stop=stop_on_signals())
