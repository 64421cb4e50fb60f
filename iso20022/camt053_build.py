"""Build camt.053 statements (001.08, and 001.02 for fixtures): the simulated
bank's end-of-day statement, written as a stream. docs/iso20022.md#the-simulated-bank.
"""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, Literal

from iso20022.errors import StatementInvalid
from iso20022.fields import amount_text, currency_check, iban_check, text_check
from iso20022.xml_nodes import DocumentWriter, Node, el

__all__ = [
    "VERSIONS",
    "AccountStatement",
    "EntryTransaction",
    "ReportEntry",
    "StatementInvalid",
    "statement_build",
    "statement_write",
]

VERSIONS = {
    "001.02": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    "001.08": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
}
DIRECTIONS = {"debit": "DBIT", "credit": "CRDT"}


@dataclass(frozen=True)
class EntryTransaction:
    """One TxDtls: a single payment inside an entry (several make a batch)."""

    amount: int | None = None  # None: the entry's amount (one TxDtls only)
    end_to_end_id: str | None = None
    bank_reference: str | None = None  # Refs/AcctSvcrRef
    creditor_name: str | None = None
    creditor_iban: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    remittance: str | None = None  # RmtInf/Ustrd


@dataclass(frozen=True)
class ReportEntry:
    """One Ntry: a movement on the account, in the statement's currency."""

    amount: int  # minor units, positive
    direction: Literal["debit", "credit"]
    booking_date: date | None
    value_date: date | None
    status: str = "BOOK"  # BOOK, PDNG or INFO
    entry_reference: str | None = None  # NtryRef
    bank_reference: str | None = None  # Ntry/AcctSvcrRef
    bank_transaction_code: tuple[str, str, str] | None = None  # domain, family, sub
    transactions: tuple[EntryTransaction, ...] = ()


@dataclass(frozen=True)
class AccountStatement:
    """One Stmt. closing_balance None: computed from the booked entries (which
    are then read into memory); give it to stream a generator of entries."""

    statement_id: str
    account_iban: str
    currency: str
    opening_balance: int  # signed minor units, OPBD
    opening_date: date
    closing_date: date
    entries: Iterable[ReportEntry] = ()
    closing_balance: int | None = None  # signed minor units, CLBD
    created_at: datetime | None = None  # None: the message's


def _amount(tag: str, amount: int, currency: str) -> Node:
    return el(tag, amount_text(amount, currency), Ccy=currency)


def _date(tag: str, day: date | None) -> Node | None:
    return el(tag, el("Dt", day.isoformat())) if day is not None else None


def _balance(code: str, amount: int, currency: str, day: date) -> Node:
    return el(
        "Bal",
        el("Tp", el("CdOrPrtry", el("Cd", code))),
        _amount("Amt", abs(amount), currency),
        el("CdtDbtInd", "DBIT" if amount < 0 else "CRDT"),
        el("Dt", el("Dt", day.isoformat())),
    )


def _party(tag: str, name: str | None, version: str) -> Node | None:
    if name is None:
        return None
    # 001.08's Party40Choice wraps the party in Pty; 001.02 names it directly.
    return (
        el(tag, el("Pty", el("Nm", name)))
        if version == "001.08"
        else el(tag, el("Nm", name))
    )


def _account(tag: str, iban: str | None) -> Node | None:
    return el(tag, el("Id", el("IBAN", iban))) if iban else None


def _transaction(tx: EntryTransaction, entry: ReportEntry, currency: str, version):
    refs = [
        el("AcctSvcrRef", tx.bank_reference) if tx.bank_reference else None,
        el("EndToEndId", tx.end_to_end_id) if tx.end_to_end_id else None,
    ]
    parties = [
        _party("Dbtr", tx.debtor_name, version),
        _account("DbtrAcct", tx.debtor_iban),
        _party("Cdtr", tx.creditor_name, version),
        _account("CdtrAcct", tx.creditor_iban),
    ]
    amounts: list[Node] = []
    if tx.amount is not None:
        if version == "001.08":  # 001.08 added TxDtls/Amt and its own CdtDbtInd
            amounts += [
                _amount("Amt", tx.amount, currency),
                el("CdtDbtInd", DIRECTIONS[entry.direction]),
            ]
        amounts.append(el("AmtDtls", el("TxAmt", _amount("Amt", tx.amount, currency))))
    return el(
        "TxDtls",
        el("Refs", *refs) if any(refs) else None,
        *amounts,
        el("RltdPties", *parties) if any(parties) else None,
        el("RmtInf", el("Ustrd", tx.remittance)) if tx.remittance else None,
    )


def _entry(entry: ReportEntry, currency: str, version: str) -> Node:
    _entry_check(entry)
    code = entry.bank_transaction_code
    domain = (
        el(
            "Domn",
            el("Cd", code[0]),
            el("Fmly", el("Cd", code[1]), el("SubFmlyCd", code[2])),
        )
        if code
        else None
    )
    return el(
        "Ntry",
        el("NtryRef", entry.entry_reference) if entry.entry_reference else None,
        _amount("Amt", entry.amount, currency),
        el("CdtDbtInd", DIRECTIONS[entry.direction]),
        el("Sts", el("Cd", entry.status))
        if version == "001.08"
        else el("Sts", entry.status),
        _date("BookgDt", entry.booking_date),
        _date("ValDt", entry.value_date),
        el("AcctSvcrRef", entry.bank_reference) if entry.bank_reference else None,
        el("BkTxCd", domain),
        el(
            "NtryDtls",
            *(_transaction(tx, entry, currency, version) for tx in entry.transactions),
        )
        if entry.transactions
        else None,
    )


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _entry_check(entry: ReportEntry) -> None:
    error = StatementInvalid
    if not _positive(entry.amount):
        raise error("bad-amount", "an entry's amount must be a positive integer")
    if entry.direction not in DIRECTIONS:
        raise error(
            "bad-direction", f"direction {entry.direction!r} is not debit/credit"
        )
    for field in (entry.entry_reference, entry.bank_reference):
        if field is not None:
            text_check(field, field="entry reference", max_length=35, error=error)
    for tx in entry.transactions:
        if tx.amount is None and len(entry.transactions) > 1:
            raise error("bad-amount", "each transaction of a batch needs its amount")
        if tx.amount is not None and not _positive(tx.amount):
            raise error("bad-amount", "a transaction's amount must be positive")
        for value, name, length in (
            (tx.end_to_end_id, "end_to_end_id", 35),
            (tx.bank_reference, "bank_reference", 35),
            (tx.creditor_name, "creditor_name", 140),
            (tx.debtor_name, "debtor_name", 140),
            (tx.remittance, "remittance", 140),
        ):
            if value is not None:
                text_check(value, field=name, max_length=length, error=error)
        for iban, name in (
            (tx.creditor_iban, "creditor_iban"),
            (tx.debtor_iban, "debtor_iban"),
        ):
            if iban is not None:
                iban_check(iban, field=name, error=error)


def _closing(statement: AccountStatement, entries: Sequence[ReportEntry]) -> int:
    booked = (e for e in entries if e.status == "BOOK")
    return statement.opening_balance + sum(
        e.amount if e.direction == "credit" else -e.amount for e in booked
    )


def statement_write(
    target: BinaryIO,
    *,
    message_id: str,
    created_at: datetime,
    statements: Sequence[AccountStatement],
    version: str = "001.08",
) -> None:
    """Write a camt.053 document to `target`, one entry at a time.

    Raise StatementInvalid for a value the XSD would refuse, before or while
    writing (the target may then hold a partial document).
    """
    if version not in VERSIONS:
        raise StatementInvalid(
            "bad-version", f"version must be one of {sorted(VERSIONS)}"
        )
    text_check(message_id, field="message_id", max_length=35, error=StatementInvalid)
    if not statements:
        raise StatementInvalid("no-statements", "a camt.053 holds at least one Stmt")
    stamp = created_at.isoformat(timespec="seconds")
    with DocumentWriter(target, VERSIONS[version], "BkToCstmrStmt") as document:
        document.write(el("GrpHdr", el("MsgId", message_id), el("CreDtTm", stamp)))
        for statement in statements:
            text_check(
                statement.statement_id, field="statement_id", max_length=35,
                error=StatementInvalid,
            )  # fmt: skip
            iban_check(
                statement.account_iban, field="account_iban", error=StatementInvalid
            )
            currency = currency_check(
                statement.currency, field="currency", error=StatementInvalid
            )
            entries = statement.entries
            closing = statement.closing_balance
            if closing is None:
                entries = list(entries)
                closing = _closing(statement, entries)
            with document.element("Stmt"):
                document.write(el("Id", statement.statement_id))
                document.write(
                    el(
                        "CreDtTm",
                        (statement.created_at or created_at).isoformat(
                            timespec="seconds"
                        ),
                    )
                )
                document.write(
                    el(
                        "Acct",
                        el("Id", el("IBAN", statement.account_iban)),
                        el("Ccy", currency),
                    )
                )
                document.write(
                    _balance(
                        "OPBD",
                        statement.opening_balance,
                        currency,
                        statement.opening_date,
                    )
                )
                document.write(
                    _balance("CLBD", closing, currency, statement.closing_date)
                )
                document.write_all(_entry(e, currency, version) for e in entries)


def statement_build(
    *,
    message_id: str,
    created_at: datetime,
    statements: Sequence[AccountStatement],
    version: str = "001.08",
) -> bytes:
    """Return a camt.053 document as bytes; see statement_write."""
    out = io.BytesIO()
    statement_write(
        out, message_id=message_id, created_at=created_at, statements=statements,
        version=version,
    )  # fmt: skip
    return out.getvalue()
