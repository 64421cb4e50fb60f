"""The stack's one-shot job: migrate, then seed the demo data when in demo mode.

Outside demo mode it seeds nothing, and names any demo users an earlier demo
run left behind, so an operator who switched the demo off sees them.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from organisations.demo import DEMO_USERNAMES, is_demo_user


class Command(BaseCommand):
    help = "Apply migrations; in demo mode also create the demo users and accounts."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=1)
        if settings.DEMO_MODE:
            call_command("seed_demo")
            return
        users = get_user_model().objects.filter(username__in=DEMO_USERNAMES)
        if left := sorted(user.username for user in users if is_demo_user(user)):
            self.stderr.write(
                f"Demo users from an earlier demo run exist: {', '.join(left)}. "
                "DEMO_MODE is off, so they may not sign in; delete them, or give "
                "them a password and an e-mail address of their own to keep them "
                "(docs/operations.md#demo-mode-and-demo-users)."
            )
