"""Create the demo organisations, users and accounts (demo mode only; idempotent)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from organisations.models import Membership, Organisation
from payments.iban import iban_build
from payments.models import DebtorAccount

DEMO_PASSWORD = "demo-password"  # noqa: S105 - only ever created in demo mode

ORGANISATIONS = {
    "acme": {
        "name": "Acme Ltd",
        "users": {"alice": (True, False), "bob": (False, True), "carol": (True, True)},
        "accounts": [
            ("Acme operating EUR", "DE", "370400440532013000", "EUR"),
            ("Acme operating USD", "GB", "NWBK60161331926819", "USD"),
        ],
    },
    "globex": {
        "name": "Globex Corporation",
        "users": {"gina": (True, True)},
        "accounts": [
            ("Globex treasury EUR", "NL", "ABNA0417164300", "EUR"),
            ("Globex treasury USD", "GB", "BARC20000055779911", "USD"),
        ],
    },
}


def seed_demo() -> list[tuple[str, str, str]]:
    """Create or update the demo data; return (username, organisation, roles) rows."""
    User = get_user_model()
    rows = []
    with transaction.atomic():
        for slug, spec in ORGANISATIONS.items():
            organisation, _ = Organisation.objects.update_or_create(
                slug=slug, defaults={"name": spec["name"]}
            )
            for username, (is_maker, is_approver) in spec["users"].items():
                user, created = User.objects.get_or_create(
                    username=username, defaults={"email": f"{username}@{slug}.example"}
                )
                if created or not user.check_password(DEMO_PASSWORD):
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                Membership.objects.update_or_create(
                    user=user,
                    defaults={
                        "organisation": organisation,
                        "is_maker": is_maker,
                        "is_approver": is_approver,
                    },
                )
                roles = " and ".join(
                    role
                    for role, held in (("maker", is_maker), ("approver", is_approver))
                    if held
                )
                rows.append((username, slug, roles))
            for name, country, bban, currency in spec["accounts"]:
                DebtorAccount.objects.update_or_create(
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
        for username, organisation, roles in rows:
            self.stdout.write(f"  {username:<6} {organisation:<7} {roles}")
