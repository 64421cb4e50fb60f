"""python manage.py check_contracts: fail unless the event contracts hold.

Run by scripts/test.sh. What is checked is in contracts/checks.py; this command
adds who reads what: the consumers the installed apps declare
(events/consumers.py).
"""

from django.core.management.base import BaseCommand, CommandError

from contracts.checks import Contracts, contract_problems, published
from events.consumers import registry


def contracts_declared() -> Contracts:
    """The contracts in contracts/, read by the consumers the apps declare."""
    return Contracts(consumers={c.name: c.consumes for c in registry()})


class Command(BaseCommand):
    help = (
        "Check every event type's versions: schema, golden samples, upcaster "
        "from the previous version, a reading path in every consumer, a "
        "past-tense name, and the lock of published schemas."
    )

    def handle(self, *args, **options):
        contracts = contracts_declared()
        problems = contract_problems(contracts)
        if problems:
            for problem in problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(f"{len(problems)} contract problem(s)")
        types = published(contracts.schema_dir)
        listed = ", ".join(
            f"{name} v{'/v'.join(map(str, versions))}"
            for name, versions in types.items()
        )
        self.stdout.write(f"contracts hold: {listed}")
