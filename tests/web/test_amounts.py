"""Amounts typed in major units become minor units, or a message a person can act on."""

import pytest

from web.amounts import AmountError, amount_parse


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("125.50", "EUR", 12550),
        ("125.5", "EUR", 12550),
        ("125", "EUR", 12500),
        (" 1 250.50 ", "EUR", 125050),
        ("1,250.50", "USD", 125050),
        ("0.01", "EUR", 1),
        ("12500", "JPY", 12500),
        ("1.234", "KWD", 1234),
    ],
)
def test_an_amount_in_major_units_becomes_minor_units_of_its_currency(
    typed, currency, minor
):
    assert amount_parse(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("125.505", "EUR", "EUR has 2 decimals; 125.505 has 3 decimals."),
        ("12.5", "JPY", "JPY has no minor units: enter a whole number, e.g. 12."),
        ("1.2345", "KWD", "KWD has 3 decimals; 1.2345 has 4 decimals."),
        ("abc", "EUR", "Not a number: use digits and one decimal point, e.g. 125.50."),
        ("1e3", "EUR", "Not a number"),
        ("12.5.0", "EUR", "Not a number"),
        ("NaN", "EUR", "Not a number"),
        ("125,50", "EUR", "Use a dot for decimals"),
        ("0", "EUR", "Must be greater than zero."),
        ("0.00", "EUR", "Must be greater than zero."),
        ("-5", "EUR", "Must be greater than zero."),
        ("", "EUR", "Enter an amount, e.g. 125.50."),
        ("1000000000.01", "EUR", "Must be at most 1,000,000,000 EUR."),
        ("10", "EUX", "'EUX' is not an ISO 4217 currency."),
    ],
)
def test_a_bad_amount_is_refused_with_a_message_that_says_what_to_fix(
    typed, currency, message
):
    with pytest.raises(AmountError) as refused:
        amount_parse(typed, currency)
    assert str(refused.value).startswith(message)
