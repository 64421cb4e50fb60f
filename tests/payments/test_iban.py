"""IBAN checks: a country's length and format are checked, not only mod-97.

Each refused IBAN below passes the ISO 13616 mod-97 checksum (the test computes
it on its own), so only the country's rules can catch it. The IBANs the tests,
the benchmark and the demo seed use must all pass.
"""

import pytest

from bench.payments_seed import CREDITOR_IBAN as BENCH_CREDITOR_IBAN
from payments.iban import iban_build, iban_error, iban_normalise
from payments.management.commands.seed_demo import ORGANISATIONS
from payments.models import Payment
from tests.assertions import assert_problem, written_state
from tests.events_builders import DEBTOR_IBAN
from tests.factories import (
    VALID_CREDITOR_IBAN,
    DebtorAccountFactory,
    payment_request_body,
)

PAYMENTS = "/api/v1/payments"


def passes_mod97(iban: str) -> bool:
    """The hand-written checksum the app used before: letters as 10..35, mod 97."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# Each passes mod-97; each is impossible in its country.
MOD97_ONLY = [
    # DE has 22 characters: one digit short
    ("DE5137040044053201300", "An IBAN from DE has 22 characters, not 21."),
    # one digit long
    ("DE543704004405320130001", "An IBAN from DE has 22 characters, not 23."),
    # DE's account number is digits only
    (
        "DE0537040044053201300A",
        "An IBAN from DE holds 8 digits, then 10 digits after its check digits.",
    ),
    # GB's starts with four letters (the bank), not digits
    (
        "GB25123412345698765432",
        "An IBAN from GB holds 4 capital letters, then 6 digits, then 8 digits "
        "after its check digits.",
    ),
    # no country issues IBANs under XX
    ("XX46370400440532013000", "XX is not a country that issues IBANs."),
]


@pytest.mark.parametrize(("iban", "error"), MOD97_ONLY)
def test_an_iban_that_passes_mod97_but_not_its_countrys_rules_is_refused(iban, error):
    # given
    assert passes_mod97(iban)
    # when / then
    assert iban_error(iban) == error


@pytest.mark.parametrize(
    ("iban", "error"),
    [
        ("DE89370400440532013001", "check digits are wrong (mod-97 checksum failed)"),
        ("DE75", "Not an IBAN"),
        ("", "Not an IBAN"),
        ("12DE370400440532013000", "Not an IBAN"),
    ],
)
def test_a_bad_checksum_or_shape_is_refused(iban, error):
    assert error in iban_error(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
        "FR1420041010050500013M02606",  # letters inside the account number
        "MT84MALT011000012345MTLCAST001S",  # 31 characters
        "NO9386011117947",  # 15 characters
    ],
)
def test_real_ibans_of_several_countries_pass(iban):
    assert iban_error(iban) is None


@pytest.mark.parametrize(("iban", "error"), MOD97_ONLY[:3])
@pytest.mark.django_db
def test_the_api_refuses_them_as_a_400_naming_the_field_and_writes_nothing(
    client_for, alice, acme_eur, iban, error
):
    # given
    before = written_state()
    body = payment_request_body(acme_eur, creditor={"name": "Jane", "iban": iban})
    # when
    response = client_for(alice).post(PAYMENTS, body, format="json")
    # then
    problem = assert_problem(response, 400, "validation-error")
    assert problem["errors"] == {"creditor": {"iban": [error]}}
    assert written_state() == before
    assert not Payment.objects.exists()


def test_the_ibans_the_tests_and_the_benchmark_send_are_valid():
    web_form_iban = "DE75 5121 0800 1245 1261 99"  # tests/web and the demo docs
    for iban in (VALID_CREDITOR_IBAN, DEBTOR_IBAN, BENCH_CREDITOR_IBAN, web_form_iban):
        assert iban_error(iban_normalise(iban)) is None, iban


@pytest.mark.django_db
def test_the_factories_and_the_demo_seed_build_valid_ibans():
    built = [DebtorAccountFactory().iban for _ in range(3)] + [
        iban_build(country, bban)
        for spec in ORGANISATIONS.values()
        for _, country, bban, _ in spec["accounts"]
    ]
    assert all(iban_error(iban) is None for iban in built), built


def test_building_an_iban_the_country_cannot_have_fails_loudly():
    # A seed or factory that would make an IBAN the API refuses breaks at once.
    with pytest.raises(ValueError, match="length"):
        iban_build("DE", "3704004405320130")
