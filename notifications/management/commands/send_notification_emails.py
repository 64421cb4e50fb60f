"""Send the e-mails of notifications whose after-commit send did not happen.

A worker killed between commit and send, or a mail server error, leaves a
notification with no `email_sent_at`; run this from cron to catch up.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand

from notifications.services import notification_emails_send_pending


class Command(BaseCommand):
    help = "E-mail notifications still unsent after --older-than seconds."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=60, metavar="SECONDS")

    def handle(self, *args, older_than, **options):
        sent = notification_emails_send_pending(
            older_than=timedelta(seconds=older_than)
        )
        self.stdout.write(f"sent {sent} e-mail(s)")
