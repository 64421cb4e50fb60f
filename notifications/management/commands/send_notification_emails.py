"""Send the notification e-mails that are due: the worker's sweep, run by hand.

The notifications worker sweeps every NOTIFICATION_EMAIL_SWEEP_SECONDS on its
own; run this when no worker is running, to catch up at once after a mail
server outage, or with --retry-failed once the cause of failed e-mails is fixed.
"""

from django.core.management.base import BaseCommand

from notifications.emails import (
    notification_emails_retry_failed,
    notification_emails_send_due,
)


class Command(BaseCommand):
    help = "E-mail the notifications that are due, in batches, until none is."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, metavar="N")
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="first make failed e-mails pending again, with fresh attempts",
        )

    def handle(self, *args, batch_size, retry_failed, **options):
        if retry_failed:
            retried = notification_emails_retry_failed()
            self.stdout.write(f"retrying {retried} failed e-mail(s)")
        sent = 0
        while True:
            done = notification_emails_send_due(limit=batch_size)
            sent += done.sent
            if not done.more:
                break
        self.stdout.write(f"sent {sent} e-mail(s)")
