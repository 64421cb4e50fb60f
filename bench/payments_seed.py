"""Run inside the stack's Django (`manage.py shell -c`): accounts and payments.

The benchmark's untimed pre-phases call these through Stack.manage, so payments
are made by the same services the API calls (validation, outbox row, NOTIFY).
Nothing here is imported by the benchmark process itself.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

CREDITOR_IBAN = "DE89370400440532013000"
ACCOUNTS = 8


def accounts_ensure(count: int = ACCOUNTS) -> list[str]:
    """Give acme `count` EUR debtor accounts (events spread over the partitions)."""
    from organisations.models import Organisation
    from payments.iban import iban_build
    from payments.models import DebtorAccount

    acme = Organisation.objects.get(slug="acme")
    existing = list(
        DebtorAccount.objects.filter(organisation=acme, currency="EUR").order_by("iban")
    )
    for n in range(len(existing), count):
        DebtorAccount.objects.get_or_create(
            iban=iban_build("DE", f"5000000000{n:08d}"),
            defaults={"organisation": acme, "name": f"Bench {n}", "currency": "EUR"},
        )
    return [
        str(a.id)
        for a in DebtorAccount.objects.filter(organisation=acme, currency="EUR")
    ]


def payments_make(count: int, *, approve: bool, tag: str, chunk: int = 50) -> None:
    """Submit `count` payments as alice (and approve each as bob if `approve`).

    Commits every `chunk` payments, so the relay can start publishing early.
    """
    from payments.models import DebtorAccount
    from payments.services import payment_approve, payment_submit

    users = get_user_model().objects
    alice, bob = users.get(username="alice"), users.get(username="bob")
    accounts = list(
        DebtorAccount.objects.filter(
            organisation__slug="acme", currency="EUR"
        ).values_list("id", flat=True)
    )
    for start in range(0, count, chunk):
        with transaction.atomic():
            for n in range(start, min(start + chunk, count)):
                payment = payment_submit(
                    actor=alice,
                    debtor_account_id=accounts[n % len(accounts)],
                    amount=100 + n,
                    currency="EUR",
                    creditor_name=f"Bench creditor {n}",
                    creditor_iban=CREDITOR_IBAN,
                    reference=f"{tag}-{n}",
                )
                if approve:
                    payment_approve(payment_id=payment.id, actor=bob)
