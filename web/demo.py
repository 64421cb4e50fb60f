"""The demo users a presenter may switch between, and the guard around switching.

Switching signs in without a password, so it exists only in demo mode, only for
the usernames seed_demo creates, and only while such an account still has the
published demo password (an account someone has taken over is never a switch
target).
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model

from payments.management.commands.seed_demo import DEMO_PASSWORD, ORGANISATIONS


@dataclass(frozen=True)
class DemoUser:
    username: str
    organisation: str
    roles: str


def _roles(is_maker: bool, is_approver: bool) -> str:
    held = [
        role for role, has in (("maker", is_maker), ("approver", is_approver)) if has
    ]
    return " and ".join(held)


DEMO_USERS: tuple[DemoUser, ...] = tuple(
    DemoUser(username, spec["name"], _roles(*flags))
    for spec in ORGANISATIONS.values()
    for username, flags in spec["users"].items()
)
DEMO_USERNAMES = frozenset(user.username for user in DEMO_USERS)


class SwitchRefused(Exception):
    """The switch is not available (not demo mode, or not a demo user)."""


def demo_user_for_switch(username: str):
    """Return the active demo user to sign in as, or raise SwitchRefused."""
    if not settings.DEMO_MODE:
        raise SwitchRefused("User switching exists only in demo mode.")
    if username not in DEMO_USERNAMES:
        raise SwitchRefused(f"{username!r} is not one of the demo users.")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not user.check_password(DEMO_PASSWORD):
        raise SwitchRefused(
            f"{username} is not set up as a demo user here; run seed_demo."
        )
    return user
