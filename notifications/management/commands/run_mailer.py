"""python manage.py run_mailer: send the notification e-mails until stopped."""

from django.core.management.base import BaseCommand

from config.stop_signals import stop_on_signals
from notifications.mailer import mailer_run


class Command(BaseCommand):
    help = (
        "Send the notification e-mails the notifications worker records "
        "(SIGTERM or Ctrl-C: finish the pass in hand, exit 0)."
    )

    def handle(self, *args, **options):
        mailer_run(stop=stop_on_signals())
