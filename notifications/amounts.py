"""Render amounts in minor units for people: (12550, "EUR") -> "125.50 EUR".

Kept here rather than imported from payments: consumers share only the event
contract, and the decimals of a currency are public ISO 4217 facts.
"""

# ISO 4217 currencies whose minor unit is not two decimals; every other has two.
_DECIMALS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(),
        0,
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    "CLF": 4,
    "UYW": 4,
}


def amount_format(amount: int, currency: str) -> str:
    digits = _DECIMALS.get(currency, 2)
    if digits == 0:
        return f"{amount} {currency}"
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    return f"{sign}{major}.{minor:0{digits}d} {currency}"
