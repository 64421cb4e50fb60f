"""IBAN checks: shape, the country's length, and the ISO 13616 mod-97 checksum."""

import re

# Lengths from the SWIFT IBAN registry for the countries a demo is likely to use;
# other countries still get the shape and checksum checks.
COUNTRY_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27,
}  # fmt: skip
SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def iban_normalise(value: str) -> str:
    """Drop spaces and upper-case: 'de89 3704 ...' -> 'DE893704...'."""
    return re.sub(r"\s+", "", value).upper()


def iban_error(iban: str) -> str | None:
    """Return why a normalised IBAN is invalid, or None when it is valid."""
    if not SHAPE.match(iban):
        return (
            "Not an IBAN: two letters, two check digits, then 11 to 30 letters "
            "or digits."
        )
    expected = COUNTRY_LENGTHS.get(iban[:2])
    if expected and len(iban) != expected:
        return f"An IBAN from {iban[:2]} has {expected} characters, not {len(iban)}."
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(number) % 97 != 1:
        return "The IBAN's check digits are wrong (mod-97 checksum failed)."
    return None


def iban_build(country: str, bban: str) -> str:
    """Return the IBAN of a country and domestic account number, with check digits."""
    number = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(number) % 97:02d}{bban}"
