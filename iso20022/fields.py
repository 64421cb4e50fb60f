"""The XSD's field rules the builders check up front: text lengths, IBAN, BIC,
currency and amounts, so a bad value is refused by name instead of truncated.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from contracts.currencies import minor_units
from iso20022.errors import Iso20022Error

IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$")
BIC = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# xs:decimal's lexical form; the XSD's amounts allow 18 digits in all.
DECIMAL = re.compile(r"^\+?(\d+(\.\d*)?|\.\d+)$")
MAX_DIGITS = 18
# xs:dateTime: fractions beyond microseconds and a Z are legal; Python 3.11 wants
# at most 6 fraction digits.
DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
DATE = re.compile(r"^(\d{4}-\d\d-\d\d)(Z|[+-]\d\d:\d\d)?$")
# Characters XML 1.0 cannot carry at all (lxml would refuse them mid-write).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_check(
    value: object, *, field: str, max_length: int, error: type[Iso20022Error]
) -> str:
    """Return `value` if it is a 1..max_length XML-safe string, else raise `error`."""
    if not isinstance(value, str) or not value.strip():
        raise error("empty", f"{field} must be a non-empty text")
    if len(value) > max_length:
        raise error(
            "too-long",
            f"{field} has {len(value)} characters; the XSD allows {max_length}",
        )
    if NOT_XML.search(value):
        raise error("bad-text", f"{field} holds a character XML cannot carry")
    return value


def iban_check(value: object, *, field: str, error: type[Iso20022Error]) -> str:
    """Return the IBAN if it has the XSD's shape and a valid mod-97 check."""
    if not isinstance(value, str) or not IBAN.match(value):
        raise error("bad-iban", f"{field} is not an IBAN (no spaces, upper case)")
    rearranged = value[4:] + value[:4]
    if int("".join(str(int(c, 36)) for c in rearranged)) % 97 != 1:
        raise error("bad-iban", f"{field} fails the IBAN check digits")
    return value


def bic_check(value: object, *, field: str, error: type[Iso20022Error]) -> str:
    if not isinstance(value, str) or not BIC.match(value):
        raise error("bad-bic", f"{field} is not a BIC (8 or 11 characters)")
    return value


def currency_check(value: object, *, field: str, error: type[Iso20022Error]) -> str:
    """Return an ISO 4217 code this kit knows the minor units of."""
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise error("bad-currency", f"{field} is not an ISO 4217 code")
    if minor_units(value) is None:
        raise error("bad-currency", f"{field}: {value} is not an active ISO 4217 code")
    return value


def amount_text(amount: int, currency: str) -> str:
    """Render minor units as the XSD decimal for the currency: (1250, EUR) -> 12.50."""
    digits = minor_units(currency)
    if digits is None:
        raise ValueError(f"unknown currency {currency}")
    sign = "-" if amount < 0 else ""
    if digits == 0:
        return f"{sign}{abs(amount)}"
    major, minor = divmod(abs(amount), 10**digits)
    return f"{sign}{major}.{minor:0{digits}d}"


def amount_check(
    value: object, currency: str, *, field: str, error: type[Iso20022Error]
) -> int:
    """Return a positive integer amount that fits the XSD's 18 digits."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise error("bad-amount", f"{field} must be a positive integer (minor units)")
    if len(str(value)) > MAX_DIGITS:
        raise error("bad-amount", f"{field} has more digits than the XSD allows")
    return value


def amount_minor(text: str | None, currency: str | None) -> int:
    """Parse an XSD amount into minor units; ValueError if it is not exact.

    "12.50" EUR -> 1250; "12.505" EUR and "1.5" JPY are refused (more decimals
    than the currency has); exponents, signs other than + and NaN are refused.
    """
    if text is None or currency is None:
        raise ValueError("missing amount or currency")
    digits = minor_units(currency)
    if digits is None:
        raise ValueError(f"unknown currency {currency!r}")
    text = text.strip()
    if not DECIMAL.match(text) or len(text.replace(".", "")) > MAX_DIGITS + 1:
        raise ValueError(f"amount {text!r} is not a decimal number")
    try:
        scaled = Decimal(text).scaleb(digits)
    except InvalidOperation as exc:  # pragma: no cover - the pattern keeps it out
        raise ValueError(f"amount {text!r} is not a decimal number") from exc
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {text} has more decimals than {currency} has")
    return int(scaled)


def iso_datetime(text: str | None) -> datetime:
    """Parse an xs:dateTime ("2026-03-02T17:00:00.123+01:00"); ValueError if not one."""
    match = DATETIME.match((text or "").strip())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO date and time")
    whole, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]
    zone = "+00:00" if zone == "Z" else (zone or "")
    return datetime.fromisoformat(whole + fraction + zone)


def iso_date(text: str | None) -> date:
    """Parse an xs:date ("2026-03-02", a zone is ignored); ValueError if not one."""
    match = DATE.match((text or "").strip())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO date")
    return date.fromisoformat(match.group(1))
