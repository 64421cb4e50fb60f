"""How one camt.053 Ntry becomes StatementLines, in 001.02 and in 001.08: one
per TxDtls (a batch has several), or one from the entry when it has none.
"""

from collections.abc import Iterator
from datetime import date
from typing import Literal

from iso20022.fields import amount_minor, iso_date, iso_datetime
from iso20022.statement import StatementLine

DIRECTIONS: dict[str | None, Literal["debit", "credit"]] = {
    "DBIT": "debit",
    "CRDT": "credit",
}
NOT_PROVIDED = "NOTPROVIDED"
DETAILS = "NtryDtls/TxDtls"


class Flat:
    """An element's descendants by their path below it, found in one walk.

    lxml's findtext evaluates its path in Python on every call; an entry needs
    some twenty of them, so one walk and dictionary look-ups read it ~8x faster.
    Elements of another namespace are skipped; the walk does not enter `stop`.
    """

    __slots__ = ("paths",)

    def __init__(self, element, prefix: str, stop: str | None = None):
        self.paths: dict[str, list] = {}
        self._walk(element, "", prefix, len(prefix), stop)

    def _walk(self, element, base: str, prefix: str, cut: int, stop) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag[:cut] != prefix:
                continue  # a comment, or another namespace's element
            path = f"{base}/{tag[cut:]}" if base else tag[cut:]
            self.paths.setdefault(path, []).append(child)
            if path != stop and len(child):
                self._walk(child, path, prefix, cut, stop)

    def all(self, path: str) -> list:
        return self.paths.get(path, [])

    def first(self, path: str):
        found = self.paths.get(path)
        return found[0] if found else None

    def text(self, path: str) -> str | None:
        found = self.paths.get(path)
        value = found[0].text if found else None
        return (value.strip() or None) if value is not None else None

    def day(self, path: str) -> date | None:
        """A DateAndDateTimeChoice: Dt, or DtTm taken at its own offset's date."""
        if path not in self.paths:
            return None
        day = self.text(f"{path}/Dt")
        if day is not None:
            return iso_date(day)
        moment = self.text(f"{path}/DtTm")
        if moment is None:
            raise ValueError(f"{path} has neither Dt nor DtTm")
        return iso_datetime(moment).date()

    def code(self, base: str = "") -> tuple[str | None, str | None, str | None]:
        """Bank transaction code: domain, family, sub-family."""
        return (
            self.text(f"{base}BkTxCd/Domn/Cd"),
            self.text(f"{base}BkTxCd/Domn/Fmly/Cd"),
            self.text(f"{base}BkTxCd/Domn/Fmly/SubFmlyCd"),
        )


def _direction(code: str | None) -> Literal["debit", "credit"]:
    try:
        return DIRECTIONS[code]
    except KeyError:
        raise ValueError(f"CdtDbtInd {code!r} is neither CRDT nor DBIT") from None


def _amount(element) -> tuple[int, str]:
    currency = element.get("Ccy")
    return amount_minor(element.text, currency), currency


def _party(tx: Flat, role: str) -> tuple[str | None, str | None]:
    """Name and IBAN of Cdtr or Dbtr; 001.08 wraps the party in Pty."""
    name = tx.text(f"RltdPties/{role}/Pty/Nm") or tx.text(f"RltdPties/{role}/Nm")
    return name, tx.text(f"RltdPties/{role}Acct/Id/IBAN")


def entry_lines(reader, ntry) -> Iterator[StatementLine]:
    """Yield the lines of one Ntry; ValueError names what is missing or wrong.

    `reader` is the camt053 reader's state: its namespace prefix and version,
    the current statement and the line and entry counters (lines advances here).
    """
    prefix, v08 = f"{{{reader.ns}}}", reader.version == "001.08"
    entry = Flat(ntry, prefix, stop=DETAILS)
    amount_element = entry.first("Amt")
    if amount_element is None:
        raise ValueError("Ntry/Amt is missing")
    entry_amount, entry_currency = _amount(amount_element)
    entry_direction = _direction(entry.text("CdtDbtInd"))
    status = entry.text("Sts/Cd" if v08 else "Sts")
    if status is None:
        raise ValueError("Ntry/Sts is missing")
    common = {
        "entry_index": reader.entries,
        "statement_id": reader.statement.statement_id,
        "entry_reference": entry.text("NtryRef"),
        "status": status,
        "booking_date": entry.day("BookgDt"),
        "value_date": entry.day("ValDt"),
    }
    entry_reference = entry.text("AcctSvcrRef")
    details = entry.all(DETAILS)
    if not details:
        domain, family, subfamily = entry.code()
        yield StatementLine(
            index=reader.lines, bank_reference=entry_reference, end_to_end_id=None,
            amount=entry_amount, currency=entry_currency, direction=entry_direction,
            creditor_name=None, creditor_iban=None, debtor_name=None,
            debtor_iban=None, remittance=None, domain=domain, family=family,
            subfamily=subfamily, **common,
        )  # fmt: skip
        reader.lines += 1
        return
    for element in details:
        tx = Flat(element, prefix)
        amount_element = tx.first("AmtDtls/TxAmt/Amt")
        if amount_element is None and v08:
            amount_element = tx.first("Amt")
        if amount_element is not None:
            amount, currency = _amount(amount_element)
        elif len(details) == 1:
            amount, currency = entry_amount, entry_currency
        else:
            raise ValueError("a TxDtls of a batch entry has no amount")
        direction = entry_direction
        if v08 and tx.text("CdtDbtInd"):
            direction = _direction(tx.text("CdtDbtInd"))
        end_to_end_id = tx.text("Refs/EndToEndId")
        creditor_name, creditor_iban = _party(tx, "Cdtr")
        debtor_name, debtor_iban = _party(tx, "Dbtr")
        ustrd = [u.text.strip() for u in tx.all("RmtInf/Ustrd") if u.text]
        domain, family, subfamily = (
            tx.code() if "BkTxCd/Domn" in tx.paths else entry.code()
        )
        yield StatementLine(
            index=reader.lines,
            bank_reference=tx.text("Refs/AcctSvcrRef") or entry_reference,
            end_to_end_id=None if end_to_end_id == NOT_PROVIDED else end_to_end_id,
            amount=amount, currency=currency, direction=direction,
            creditor_name=creditor_name, creditor_iban=creditor_iban,
            debtor_name=debtor_name, debtor_iban=debtor_iban,
            remittance=" ".join(ustrd) or None, domain=domain, family=family,
            subfamily=subfamily, **common,
        )  # fmt: skip
        reader.lines += 1
