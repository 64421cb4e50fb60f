"""python manage.py run_relay: publish committed outbox rows until stopped."""

import signal
import threading

from django.core.management.base import BaseCommand

from events.relay_process import relay_run


class Command(BaseCommand):
    help = (
        "Run the outbox relay (SIGTERM or Ctrl-C: finish the batch in flight, exit 0)."
    )

    def handle(self, *args, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        relay_run(stop=stop)
