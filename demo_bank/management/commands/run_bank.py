"""`python manage.py run_bank`: the simulated bank's loop (demo mode only).

Every BANK_STATEMENT_SECONDS it books the transfer files the bank gateway
sent and writes each organisation's statement into its landing folder.
Outside demo mode it does nothing but wait to be stopped: a real bank is not
part of the application. Stops cleanly on SIGTERM.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from config.stop_signals import stop_on_signals
from demo_bank.bank import statements_issue


class Command(BaseCommand):
    help = "Run the demo's simulated bank: pain.001 in, camt.053 out."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args, once=False, **options):
        stop = stop_on_signals()
        if not settings.DEMO_MODE:
            self.stdout.write("The simulated bank runs in demo mode only; idle.")
            if not once:
                stop.wait()
            return
        self.stdout.write(
            f"Simulated bank: statements every {settings.BANK_STATEMENT_SECONDS} s "
            f"from {settings.BANK_INBOUND_DIR} into {settings.SETTLEMENT_LANDING_DIR}"
        )
        while True:
            close_old_connections()
            for issued in statements_issue():
                self.stdout.write(
                    f"{issued.organisation}: statement {issued.path.name} "
                    f"for {issued.transfer_files} transfer file(s)"
                )
            if once or stop.wait(settings.BANK_STATEMENT_SECONDS):
                return
