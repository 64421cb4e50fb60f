from payments.services import payment_submit
from tests.factories import VALID_CREDITOR_IBAN


def test_submit_writes_payment_and_event(alice, acme_eur):
    payment = payment_submit(
        actor=alice,
        debtor_account_id=acme_eur.id,
        amount=100,
        currency="EUR",
        creditor_name="X",
        creditor_iban=VALID_CREDITOR_IBAN,
    )
    assert payment.version == 1
