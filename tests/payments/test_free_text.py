"""The services refuse control and invisible characters, whoever calls them.

The API's serializers and the web's forms ask the same rule first, for a message
beside the field; these tests show the service holds without them (the lab, a
management command, a future client).
"""

import pytest

from domain.errors import Invalid
from events.models import OutboxMessage
from payments.free_text import free_text_error
from payments.models import PaymentStatus
from payments.services import payment_reject, payment_submit
from tests.assertions import written_state
from tests.factories import VALID_CREDITOR_IBAN, payment_submitted

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "code_point"),
    [
        ("Acme\nBcc: x@example.org", "U+000A"),
        ("Acme\x9bLtd", "U+009B"),
        ("Acme\u202eLtd", "U+202E"),
        ("Acme\u2069", "U+2069"),
        ("A\u200ccme", "U+200C"),
        ("A\u00adcme", "U+00AD"),
        ("Acme\u2029Ltd", "U+2029"),
    ],
)
def test_the_rule_names_the_first_hidden_character(text, code_point):
    # then
    assert code_point in free_text_error(text)


@pytest.mark.parametrize("text", ["", "Acme Ltd", "Åsa Öberg", "東京 1-2-3", "€ 5 🙂"])
def test_the_rule_lets_visible_text_pass(text):
    # then
    assert free_text_error(text) is None


def test_submit_refuses_every_field_with_a_hidden_character_at_once(alice, acme_eur):
    # given
    before = written_state()

    # when
    with pytest.raises(Invalid) as refused:
        payment_submit(
            actor=alice,
            debtor_account_id=acme_eur.id,
            amount=100,
            currency="EUR",
            creditor_name="Acme\nBcc: x@example.org",
            creditor_iban=VALID_CREDITOR_IBAN,
            reference="INV\u200b1",
        )

    # then
    assert refused.value.errors.keys() == {"creditor", "reference"}
    assert list(refused.value.errors["creditor"]) == ["name"]
    assert written_state() == before


def test_reject_refuses_a_reason_with_a_hidden_character(alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    before = written_state()

    # when
    with pytest.raises(Invalid) as refused:
        payment_reject(payment_id=payment.id, actor=bob, reason="No\u202e")

    # then
    assert list(refused.value.errors) == ["reason"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert OutboxMessage.objects.filter(subject=str(payment.id)).count() == 1
    assert written_state() == before
