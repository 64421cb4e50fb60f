"""How one camt.053 Ntry becomes StatementLines, in 001.02 and in 001.08: one
per TxDtls (a batch has several), or one from the entry when it has none.
"""

from collections.abc import Iterator
from typing import Literal

from iso20022.fields import amount_minor
from iso20022.statement import StatementLine

DIRECTIONS: dict[str | None, Literal["debit", "credit"]] = {
    "DBIT": "debit",
    "CRDT": "credit",
}
NOT_PROVIDED = "NOTPROVIDED"


def _direction(code: str | None) -> Literal["debit", "credit"]:
    try:
        return DIRECTIONS[code]
    except KeyError:
        raise ValueError(f"CdtDbtInd {code!r} is neither CRDT nor DBIT") from None


def _amount(element) -> tuple[int, str]:
    currency = element.get("Ccy")
    return amount_minor(element.text, currency), currency


def _party(reader, tx, role: str) -> tuple[str | None, str | None]:
    """Name and IBAN of Cdtr or Dbtr; 001.08 wraps the party in Pty."""
    name = (
        reader.text(tx, f"RltdPties/{role}/Pty/Nm")
        if reader.version == "001.08"
        else None
    )
    name = name or reader.text(tx, f"RltdPties/{role}/Nm")
    return name, reader.text(tx, f"RltdPties/{role}Acct/Id/IBAN")


def _code(reader, element) -> tuple[str | None, str | None, str | None]:
    return (
        reader.text(element, "BkTxCd/Domn/Cd"),
        reader.text(element, "BkTxCd/Domn/Fmly/Cd"),
        reader.text(element, "BkTxCd/Domn/Fmly/SubFmlyCd"),
    )


def entry_lines(reader, ntry) -> Iterator[StatementLine]:
    """Yield the lines of one Ntry; ValueError names what is missing or wrong.

    `reader` is the camt053 reader's state: its namespace paths (p, text, day),
    the current statement and the line and entry counters (lines advances here).
    """
    amount_element = ntry.find(reader.p("Amt"))
    if amount_element is None:
        raise ValueError("Ntry/Amt is missing")
    entry_amount, entry_currency = _amount(amount_element)
    entry_direction = _direction(reader.text(ntry, "CdtDbtInd"))
    status = reader.text(ntry, "Sts/Cd" if reader.version == "001.08" else "Sts")
    if status is None:
        raise ValueError("Ntry/Sts is missing")
    common = {
        "entry_index": reader.entries,
        "statement_id": reader.statement.statement_id,
        "entry_reference": reader.text(ntry, "NtryRef"),
        "status": status,
        "booking_date": reader.day(ntry.find(reader.p("BookgDt"))),
        "value_date": reader.day(ntry.find(reader.p("ValDt"))),
    }
    entry_reference = reader.text(ntry, "AcctSvcrRef")
    entry_code = _code(reader, ntry)
    details = ntry.findall(reader.p("NtryDtls/TxDtls"))
    if not details:
        domain, family, subfamily = entry_code
        yield StatementLine(
            index=reader.lines, bank_reference=entry_reference, end_to_end_id=None,
            amount=entry_amount, currency=entry_currency, direction=entry_direction,
            creditor_name=None, creditor_iban=None, debtor_name=None,
            debtor_iban=None, remittance=None, domain=domain, family=family,
            subfamily=subfamily, **common,
        )  # fmt: skip
        reader.lines += 1
        return
    for tx in details:
        amount_element = tx.find(reader.p("AmtDtls/TxAmt/Amt"))
        if amount_element is None and reader.version == "001.08":
            amount_element = tx.find(reader.p("Amt"))
        if amount_element is not None:
            amount, currency = _amount(amount_element)
        elif len(details) == 1:
            amount, currency = entry_amount, entry_currency
        else:
            raise ValueError("a TxDtls of a batch entry has no amount")
        direction = entry_direction
        if reader.version == "001.08" and reader.text(tx, "CdtDbtInd"):
            direction = _direction(reader.text(tx, "CdtDbtInd"))
        end_to_end_id = reader.text(tx, "Refs/EndToEndId")
        creditor_name, creditor_iban = _party(reader, tx, "Cdtr")
        debtor_name, debtor_iban = _party(reader, tx, "Dbtr")
        ustrd = [
            u.text.strip() for u in tx.iterfind(reader.p("RmtInf/Ustrd")) if u.text
        ]
        domain, family, subfamily = (
            _code(reader, tx)
            if tx.find(reader.p("BkTxCd/Domn")) is not None
            else entry_code
        )
        yield StatementLine(
            index=reader.lines,
            bank_reference=reader.text(tx, "Refs/AcctSvcrRef") or entry_reference,
            end_to_end_id=None if end_to_end_id == NOT_PROVIDED else end_to_end_id,
            amount=amount, currency=currency, direction=direction,
            creditor_name=creditor_name, creditor_iban=creditor_iban,
            debtor_name=debtor_name, debtor_iban=debtor_iban,
            remittance=" ".join(ustrd) or None, domain=domain, family=family,
            subfamily=subfamily, **common,
        )  # fmt: skip
        reader.lines += 1
