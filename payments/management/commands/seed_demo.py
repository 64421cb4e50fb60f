"""Create the demo organisations, users and accounts (demo mode only; idempotent).

It only ever adds what is missing. A user, membership or account that exists is
left exactly as it is: a re-run never resets a password or a role someone
changed, and never takes over a real user who happens to share a demo name.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from organisations.demo import DEMO_USER_ORGANISATIONS, demo_email
from organisations.models import Membership, Organisation
from payments.iban import iban_build
from payments.models import DebtorAccount

DEMO_PASSWORD = "demo-password"  # noqa: S105 - only ever created in demo mode

# username -> (is_maker, is_approver); who the users are is organisations.demo's
ROLES = {
    "alice": (True, False),
    "bob": (False, True),
    "carol": (True, True),
    "gina": (True, True),
}


def _users_of(slug: str) -> dict[str, tuple[bool, bool]]:
    return {
        username: ROLES[username]
        for username, organisation in DEMO_USER_ORGANISATIONS.items()
        if organisation == slug
    }


ORGANISATIONS = {
    "acme": {
        "name": "Acme Ltd",
        "users": _users_of("acme"),
        "accounts": [
            ("Acme operating EUR", "DE", "370400440532013000", "EUR"),
            ("Acme operating USD", "GB", "NWBK60161331926819", "USD"),
        ],
    },
    "globex": {
        "name": "Globex Corporation",
        "users": _users_of("globex"),
        "accounts": [
            ("Globex treasury EUR", "NL", "ABNA0417164300", "EUR"),
            ("Globex treasury USD", "GB", "BARC20000055779911", "USD"),
        ],
    },
}


def _roles_text(is_maker: bool, is_approver: bool) -> str:
    held = (("maker", is_maker), ("approver", is_approver))
    return " and ".join(role for role, has in held if has)


def seed_demo() -> list[tuple[str, str, str, bool]]:
    """Create what is missing; return (username, organisation, roles, created) rows.

    An existing user keeps its password and membership: the row reports the
    roles the seed would give, and created=False.
    """
    User = get_user_model()
    rows = []
    with transaction.atomic():
        for slug, spec in ORGANISATIONS.items():
            organisation, _ = Organisation.objects.get_or_create(
                slug=slug, defaults={"name": spec["name"]}
            )
            for username, (is_maker, is_approver) in spec["users"].items():
                user, created = User.objects.get_or_create(
                    username=username, defaults={"email": demo_email(username)}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                    Membership.objects.create(
                        user=user,
                        organisation=organisation,
                        is_maker=is_maker,
                        is_approver=is_approver,
                    )
                roles = _roles_text(is_maker, is_approver)
                rows.append((username, slug, roles, created))
            for name, country, bban, currency in spec["accounts"]:
                DebtorAccount.objects.get_or_create(
                    iban=iban_build(country, bban),
                    defaults={
                        "organisation": organisation,
                        "name": name,
                        "currency": currency,
                    },
                )
    return rows


class Command(BaseCommand):
    help = "Create the demo organisations, users and accounts (needs DEMO_MODE=1)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "seed_demo creates users with a published password; it runs only "
                "with DEMO_MODE=1."
            )
        rows = seed_demo()
        self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
        for username, organisation, roles, created in rows:
            note = "" if created else "  (existed: left as it was)"
            self.stdout.write(f"  {username:<6} {organisation:<7} {roles}{note}")
