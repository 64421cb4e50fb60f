"""A test payment for the lab, made by the payments service's own command.

Only through payments.services and payments.selectors: an import-linter contract
keeps the lab away from payments' models, locks and events, so the lab cannot
change a payment around the rules the service enforces (maker-checker).
"""

import itertools

from lab.errors import DemoPaymentNotPossible
from organisations.selectors import organisation_id_for
from payments.selectors import account_list, payment_list
from payments.services import payment_submit

CREDITORS = itertools.cycle(
    [
        ("Bolt Supplies GmbH", "DE75512108001245126199"),
        ("Northwind Traders", "GB33BUKB20201555555555"),
        ("Contoso Office BV", "NL91ABNA0417164300"),
    ]
)


def lab_payment_submit(*, actor):
    """Submit a payment with made-up creditor details, as `actor`.

    The very command of the payments page (payments.services.payment_submit),
    so its rules hold here too: only a maker may submit. The lab never acts as
    anyone but the signed-in user; the second person of maker-checker is a
    second demo user (switch in the header).
    """
    organisation_id = organisation_id_for(user=actor)
    account = account_list(organisation_id=organisation_id).first()
    if account is None:
        raise DemoPaymentNotPossible("Your organisation has no debtor account.")
    made = payment_list(organisation_id=organisation_id).count()
    name, iban = next(CREDITORS)
    return payment_submit(
        actor=actor,
        debtor_account_id=account.id,
        amount=10_000 + (made % 40) * 1_275,
        currency=account.currency,
        creditor_name=name,
        creditor_iban=iban,
        reference=f"LAB-{made + 1:04d}",
    )
