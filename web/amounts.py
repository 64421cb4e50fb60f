"""Read an amount typed in major units ("125.50") into minor units for its currency.

The API takes integers in minor units (see docs/api.md); people type major
units. The currency's minor units (payments/currencies.py) decide how many
decimals are allowed, so 125.505 EUR and 12.5 JPY are refused, not rounded.
"""

import re
from decimal import Decimal

from django.conf import settings

from contracts.currencies import minor_units

PLAIN = re.compile(r"^\d+(\.\d+)?$")
GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,250.50


class AmountError(ValueError):
    """Why the typed amount cannot be used; the message is shown to the user."""


def _decimals_word(count: int) -> str:
    return "1 decimal" if count == 1 else f"{count} decimals"


def amount_parse(text: str, currency: str) -> int:
    """Return the amount in minor units, or raise AmountError saying what is wrong."""
    digits = minor_units(currency)
    if digits is None:
        raise AmountError(f"{currency!r} is not an ISO 4217 currency.")
    value = re.sub(r"[\s\u00a0\u202f]", "", text or "")
    if not value:
        raise AmountError("Enter an amount, e.g. 125.50.")
    if value.startswith("-"):
        raise AmountError("Must be greater than zero.")
    if GROUPED.match(value):
        value = value.replace(",", "")
    elif "," in value:
        raise AmountError(
            "Use a dot for decimals and commas only between thousands, e.g. 1,250.50."
        )
    if not PLAIN.match(value):
        raise AmountError(
            "Not a number: use digits and one decimal point, e.g. 125.50."
        )
    whole, _, fraction = value.partition(".")
    if len(fraction) > digits:
        if digits == 0:
            raise AmountError(
                f"{currency} has no minor units: enter a whole number, e.g. {whole}."
            )
        raise AmountError(
            f"{currency} has {_decimals_word(digits)}; {text.strip()} has "
            f"{_decimals_word(len(fraction))}."
        )
    amount = int(Decimal(value).scaleb(digits))
    if amount <= 0:
        raise AmountError("Must be greater than zero.")
    ceiling = settings.PAYMENT_MAX_MAJOR_UNITS
    if Decimal(value) > ceiling:
        raise AmountError(f"Must be at most {ceiling:,} {currency}.")
    return amount
