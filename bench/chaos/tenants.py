"""Who takes part: three organisations, their makers and approvers, and the debtor
accounts the approvals are spread over (the bank test's accounts).

The demo seed gives acme (alice, bob, carol) and globex (gina); the run adds a
second approver and maker to globex and a third organisation, so that every
organisation has a maker-checker pair and the fan-out crosses tenants.
"""

import json
from dataclasses import dataclass

import requests

from launcher.local import Stack

PASSWORD = "demo-password"  # noqa: S105 - the demo seed's published password
MARKER = "CHAOS-SEED "

# organisation -> {username: (is_maker, is_approver)}; the demo users keep theirs.
PEOPLE = {
    "acme": {"alice": (True, False), "bob": (False, True), "carol": (True, True)},
    "globex": {"gina": (True, True), "gus": (False, True), "gwen": (True, False)},
    "initech": {"ivan": (True, False), "iris": (False, True)},
}
CURRENCIES = ("EUR", "USD")

SEED = """
import json
from django.contrib.auth import get_user_model
from organisations.models import Membership, Organisation
from payments.iban import iban_build
from payments.models import DebtorAccount
people, count, currencies = json.loads({spec!r})
User = get_user_model()
for slug, users in people.items():
    org, _ = Organisation.objects.get_or_create(slug=slug, defaults={{"name": slug}})
    for username, (maker, approver) in users.items():
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password({password!r})
            user.save()
        Membership.objects.update_or_create(
            user=user,
            defaults={{"organisation": org, "is_maker": maker,
                       "is_approver": approver}},
        )
slugs = list(people)
accounts = []
for n in range(count):
    slug, currency = slugs[n % len(slugs)], currencies[n % len(currencies)]
    account, _ = DebtorAccount.objects.get_or_create(
        iban=iban_build("DE", f"4400000000{{n:08d}}"),
        defaults={{"organisation": Organisation.objects.get(slug=slug),
                   "name": f"Chaos {{slug}} {{n}}", "currency": currency}},
    )
    accounts.append([str(account.id), slug, account.currency])
print({marker!r} + json.dumps(accounts))
"""


@dataclass(frozen=True)
class Account:
    id: str
    organisation: str
    currency: str


@dataclass(frozen=True)
class Tenants:
    accounts: list[Account]
    tokens: dict[str, str]  # username -> API token

    def makers(self, organisation: str) -> list[str]:
        return [u for u, (m, _) in PEOPLE[organisation].items() if m]

    def approvers(self, organisation: str) -> list[str]:
        return [u for u, (_, a) in PEOPLE[organisation].items() if a]

    def headers(self, username: str) -> dict:
        return {"Authorization": f"Token {self.tokens[username]}"}


def tenants_seed(stack: Stack, accounts: int) -> Tenants:
    """Create the people and accounts (a management shell), then log in by REST."""
    spec = json.dumps([PEOPLE, accounts, CURRENCIES])
    output = stack.manage(
        "shell", "-c", SEED.format(spec=spec, password=PASSWORD, marker=MARKER)
    )
    line = next(x for x in output.splitlines() if x.startswith(MARKER))
    seeded = [Account(*row) for row in json.loads(line.removeprefix(MARKER))]
    tokens = {}
    for users in PEOPLE.values():
        for username in users:
            response = requests.post(
                f"{stack.base_url}/api/v1/auth/token",
                json={"username": username, "password": PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            tokens[username] = response.json()["token"]
    return Tenants(accounts=seeded, tokens=tokens)
