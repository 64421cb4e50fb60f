"""IBAN checks through schwifty: the country's length and format, then mod-97.

schwifty carries the SWIFT IBAN registry (every country's length and BBAN
format), so a number that passes mod-97 but could not exist in its country is
refused too. National check digits inside the BBAN are not checked: schwifty
knows the algorithm for a few countries only, and a bank refuses a wrong
account number anyway. See docs/api.md (the creditor IBAN).
"""

import re

from schwifty import IBAN
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    SchwiftyException,
)

SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
# SWIFT's BBAN notation ("8!n10!n"): a count, "!" for exactly that many, a kind.
_PART = re.compile(r"(\d+)(!?)([nace])")
_KINDS = {
    "n": "digits",
    "a": "capital letters",
    "c": "letters or digits",
    "e": "spaces",
}


def iban_normalise(value: str) -> str:
    """Drop spaces and upper-case: 'de89 3704 ...' -> 'DE893704...'."""
    return re.sub(r"\s+", "", value).upper()


def _format_words(bban_spec: str) -> str:
    """Say "8!n10!n" as "8 digits, then 10 digits"."""
    parts = [
        f"{'' if exact else 'up to '}{count} {_KINDS[kind]}"
        for count, exact, kind in _PART.findall(bban_spec)
    ]
    return ", then ".join(parts)


def iban_error(iban: str) -> str | None:
    """Return why a normalised IBAN is invalid, or None when it is valid."""
    if not SHAPE.match(iban):
        return (
            "Not an IBAN: two letters, two check digits, then 11 to 30 letters "
            "or digits."
        )
    try:
        IBAN(iban)
    except InvalidCountryCode:
        return f"{iban[:2]} is not a country that issues IBANs."
    except InvalidLength:
        expected = IBAN(iban, allow_invalid=True).spec.iban_length
        return f"An IBAN from {iban[:2]} has {expected} characters, not {len(iban)}."
    except InvalidStructure:
        spec = IBAN(iban, allow_invalid=True).spec
        return (
            f"An IBAN from {iban[:2]} holds {_format_words(spec.bban_spec)} "
            "after its check digits."
        )
    except InvalidChecksumDigits:
        return "The IBAN's check digits are wrong (mod-97 checksum failed)."
    except SchwiftyException as exc:
        return f"Not a valid IBAN: {exc}."
    return None


def iban_build(country: str, bban: str) -> str:
    """Return the IBAN of a country and domestic account number, with check digits.

    Raises schwifty's errors when the BBAN does not fit the country's format, so
    the demo's seed and the tests' factories cannot make an IBAN the API refuses.
    """
    return str(IBAN.from_bban(country, bban))
