"""Read camt.053 bank statements (001.02 and 001.08) as a stream of one header
per Stmt and one line per transaction, refusing unsafe or foreign XML.
docs/iso20022.md#receiving-reading-a-statement says how each field is found.
"""

import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import BinaryIO

from lxml import etree

from iso20022.camt053_entries import entry_lines
from iso20022.errors import StatementUnreadable
from iso20022.fields import amount_minor, iso_date, iso_datetime
from iso20022.safe_xml import (
    PARSER_OPTIONS,
    GuardedSource,
    dtd_refuse,
    syntax_refusal,
)
from iso20022.statement import Statement, StatementLine

__all__ = [
    "NAMESPACES",
    "Statement",
    "StatementLine",
    "StatementUnreadable",
    "statement_read",
    "statement_read_all",
]

NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": "001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": "001.08",
}
# Only these elements raise events; everything else is read from their subtree.
EVENT_TAGS = ("{*}Document", "{*}GrpHdr", "{*}Stmt", "{*}Ntry")


def _root_check(name: str) -> None:
    if name != "Document":
        raise StatementUnreadable("not-camt053", f"the root is {name}, not Document")


def statement_read(source: BinaryIO | bytes) -> Iterator[Statement | StatementLine]:
    """Yield, per Stmt, its Statement and then its StatementLines, in file order.

    Streams: each entry is dropped once read, so memory stays flat however long
    the file. Refusals (StatementUnreadable) come while iterating; a caller
    that must not act on a partial file reads it whole first (statement_read_all).
    """
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(bytes(source))
    if not callable(getattr(source, "read", None)):
        raise StatementUnreadable("not-xml", "give bytes or a file opened in binary")
    guarded = GuardedSource(source, error=StatementUnreadable, root_check=_root_check)
    events = etree.iterparse(
        guarded, events=("start", "end"), tag=EVENT_TAGS, **PARSER_OPTIONS
    )
    reader = _Reader()
    try:
        for event, element in events:
            yield from reader.on(event, element)
    except etree.XMLSyntaxError as exc:
        raise syntax_refusal(exc, error=StatementUnreadable) from None


def statement_read_all(
    source: BinaryIO | bytes,
) -> tuple[list[Statement], list[StatementLine]]:
    """Read a whole file: its statements and its lines, or a refusal and nothing."""
    statements: list[Statement] = []
    lines: list[StatementLine] = []
    for item in statement_read(source):
        (statements if isinstance(item, Statement) else lines).append(item)
    return statements, lines


class _Reader:
    """The state of one pass: the namespace, the group header, the counters."""

    def __init__(self):
        self.ns = ""
        self.version = ""
        self.message_id: str | None = None
        self.created_at: datetime | None = None
        self.statement: Statement | None = None
        self.statements = 0
        self.lines = 0
        self.entries = 0
        self.paths: dict[str, str] = {}

    def p(self, path: str) -> str:
        """Clark notation for a path in the document's namespace, cached."""
        found = self.paths.get(path)
        if found is None:
            found = "/".join(f"{{{self.ns}}}{step}" for step in path.split("/"))
            self.paths[path] = found
        return found

    def text(self, element, path: str) -> str | None:
        value = element.findtext(self.p(path))
        return value.strip() or None if value is not None else None

    def on(self, event: str, element) -> Iterator[Statement | StatementLine]:
        local = element.tag.rpartition("}")[2]
        if event == "start":
            if local == "Document" and not self.ns:
                self._document(element)
            return
        if element.tag != self.p(local):
            return  # an element of that name in a foreign namespace
        if local == "GrpHdr":
            self.message_id = self.text(element, "MsgId")
            self.created_at = _moment(self.text(element, "CreDtTm"))
            element.clear()
        elif local == "Ntry":
            if self.statement is None:
                yield self._header(element.getparent())
            yield from self._entry(element)
            _drop(element)
        elif local == "Stmt":
            if self.statement is None:
                yield self._header(element)
            self.statement = None
            _drop(element)
        elif local == "Document" and self.statements == 0:
            raise StatementUnreadable("malformed", "the statement has no Stmt")

    def _document(self, element) -> None:
        namespace = element.tag.partition("}")[0].lstrip("{")
        if element.getparent() is not None:
            raise StatementUnreadable("not-camt053", "Document is not the root")
        dtd_refuse(element, error=StatementUnreadable)
        if namespace not in NAMESPACES:
            kind = namespace.rpartition(":")[2] or "no namespace"
            raise StatementUnreadable(
                "not-camt053", f"a {kind} document is not a camt.053.001.02/.08"
            )
        self.ns, self.version = namespace, NAMESPACES[namespace]

    def _header(self, stmt) -> Statement:
        if self.message_id is None:
            raise StatementUnreadable("malformed", "GrpHdr/MsgId is missing")
        statement_id = self.text(stmt, "Id")
        if statement_id is None:
            raise StatementUnreadable("malformed", "a Stmt has no Id")
        balances: dict[str, tuple[int, date | None, str | None]] = {}
        for balance in stmt.iterfind(self.p("Bal")):
            code = self.text(balance, "Tp/CdOrPrtry/Cd")
            if code in ("OPBD", "PRCD", "CLBD"):
                balances.setdefault(code, self._balance(balance, statement_id))
        opening = balances.get("OPBD") or balances.get("PRCD")
        closing = balances.get("CLBD")
        self.statement = Statement(
            version=self.version,
            message_id=self.message_id,
            statement_id=statement_id,
            created_at=_moment(self.text(stmt, "CreDtTm")) or self.created_at,
            account_iban=self.text(stmt, "Acct/Id/IBAN"),
            currency=self.text(stmt, "Acct/Ccy") or (opening[2] if opening else None),
            opening_balance=opening[0] if opening else None,
            opening_date=opening[1] if opening else None,
            closing_balance=closing[0] if closing else None,
            closing_date=closing[1] if closing else None,
        )
        self.statements += 1
        return self.statement

    def _balance(self, balance, statement_id: str):
        amount = balance.find(self.p("Amt"))
        currency = amount.get("Ccy") if amount is not None else None
        try:
            value = amount_minor(amount.text if amount is not None else None, currency)
            day = self.day(balance.find(self.p("Dt")))
        except ValueError as exc:
            raise StatementUnreadable(
                "malformed", f"Stmt {statement_id}, a balance: {exc}"
            ) from None
        sign = -1 if self.text(balance, "CdtDbtInd") == "DBIT" else 1
        return sign * value, day, currency

    def day(self, choice) -> date | None:
        """A DateAndDateTimeChoice: Dt, or DtTm taken at its own offset's date."""
        if choice is None:
            return None
        day = self.text(choice, "Dt")
        if day is not None:
            return iso_date(day)
        moment = self.text(choice, "DtTm")
        if moment is None:
            raise ValueError("a date has neither Dt nor DtTm")
        return iso_datetime(moment).date()

    def _entry(self, ntry) -> Iterator[StatementLine]:
        try:
            yield from entry_lines(self, ntry)
        except ValueError as exc:
            if isinstance(exc, StatementUnreadable):
                raise
            raise StatementUnreadable(
                "malformed", f"entry {self.entries} (line {ntry.sourceline}): {exc}"
            ) from None
        self.entries += 1


def _moment(text: str | None) -> datetime | None:
    try:
        return iso_datetime(text) if text is not None else None
    except ValueError as exc:
        raise StatementUnreadable("malformed", str(exc)) from None


def _drop(element) -> None:
    """Free a read element and the siblings before it, so memory stays flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
