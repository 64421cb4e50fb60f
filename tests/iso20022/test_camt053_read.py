"""Reading camt.053 statements of both versions, shaped as banks send them: one
line per transaction, batch entries split, NOTPROVIDED dropped, and a stream."""

import io
from datetime import date, datetime, timedelta, timezone

import pytest

from iso20022.camt053 import (
    Statement,
    StatementLine,
    StatementUnreadable,
    statement_read,
    statement_read_all,
)
from iso20022.camt053_build import AccountStatement, ReportEntry, statement_write
from iso20022.schemas import schema_errors
from tests.iso20022.builders import FILES

CET = timezone(timedelta(hours=1))
NS08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def minimal(entry: str, namespace: str = NS08) -> bytes:
    """A one-statement camt.053 holding `entry` (a Ntry's XML) as its only entry."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{namespace}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>2026-03-03T18:00:00"
        "</CreDtTm></GrpHdr><Stmt><Id>S</Id><Acct><Id><IBAN>DE89370400440532013000"
        "</IBAN></Id></Acct><Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>"
        '<Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-03</Dt>'
        f"</Dt></Bal>{entry}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def entry(amount: str = "12.50", *, status: str = "<Sts><Cd>BOOK</Cd></Sts>",
          details: str = "", currency: str = "EUR") -> str:  # fmt: skip
    return (
        f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        f"{status}<BkTxCd/>{details}</Ntry>"
    )


def test_the_001_08_fixture_is_valid_and_reads_as_the_bank_reported_it():
    # given
    data = (FILES / "camt053_001_08.xml").read_bytes()
    assert schema_errors(data, "camt.053.001.08") == []
    # when
    [header], lines = statement_read_all(data)
    # then
    assert header == Statement(
        version="001.08", message_id="053D2026030318000001",
        statement_id="STMT-20260303-0001",
        created_at=datetime(2026, 3, 3, 18, 5, 12, tzinfo=CET),
        account_iban="DE89370400440532013000", currency="EUR",
        opening_balance=1_000_000, opening_date=date(2026, 3, 3),
        closing_balance=1_113_750, closing_date=date(2026, 3, 3),
    )  # fmt: skip
    assert [(ln.index, ln.entry_index, ln.end_to_end_id, ln.amount, ln.direction)
            for ln in lines] == [
        (0, 0, "PAY-2026-0001", 125000, "debit"),
        (1, 1, "PAY-2026-0002", 20000, "debit"),  # the batch of three ...
        (2, 1, "PAY-2026-0003", 15000, "debit"),
        (3, 1, None, 25000, "debit"),  # ... whose last said NOTPROVIDED
        (4, 2, "ACME-REM-88213", 300000, "credit"),
        (5, 3, None, 1250, "debit"),  # the fee
        (6, 4, "PAY-2026-0005", 7500, "debit"),  # pending, amount from its entry
    ]  # fmt: skip
    assert lines[0] == StatementLine(
        index=0, entry_index=0, statement_id="STMT-20260303-0001",
        entry_reference="1", bank_reference="TX2026030300001234",
        end_to_end_id="PAY-2026-0001", amount=125000, currency="EUR",
        direction="debit", status="BOOK", booking_date=date(2026, 3, 3),
        value_date=date(2026, 3, 3), creditor_name="Müller Bau GmbH",
        creditor_iban="DE02120300000000202051", debtor_name="Example Trading GmbH",
        debtor_iban="DE89370400440532013000", remittance="INV-4711 March works",
        domain="PMNT", family="ICDT", subfamily="ESCT",
    )  # fmt: skip
    assert lines[3].remittance == "PAY-2026-0004 order 88/2026"
    assert lines[3].creditor_iban == "BE68539007547034"
    assert (lines[4].debtor_name, lines[4].booking_date) == (
        "Acme Customer SA", date(2026, 3, 3),  # from a DtTm
    )  # fmt: skip
    fee = lines[5]
    assert fee.is_bank_charge and fee.bank_reference == "2026030300001240"
    assert (fee.domain, fee.family, fee.subfamily) == ("ACMT", "MDOP", "CHRG")
    pending = lines[6]
    assert (pending.status, pending.booked, pending.booking_date) == (
        "PDNG",
        False,
        None,
    )
    assert pending.creditor_iban == "AT611904300234573201"


def test_the_001_02_fixture_is_valid_and_reads_its_own_shapes():
    # given
    data = (FILES / "camt053_001_02.xml").read_bytes()
    assert schema_errors(data, "camt.053.001.02") == []
    # when
    with (FILES / "camt053_001_02.xml").open("rb") as file:
        [header], lines = statement_read_all(file)
    # then
    assert header.version == "001.02"
    assert header.created_at == datetime(2026, 3, 2, 21, 30)
    # PRCD stands for the opening balance; a DBIT balance is negative.
    assert (header.opening_balance, header.opening_date) == (-50000, date(2026, 3, 1))
    assert header.closing_balance == 35301
    assert [(ln.entry_reference, ln.bank_reference, ln.end_to_end_id, ln.amount,
             ln.direction, ln.status) for ln in lines] == [
        ("000001", "EREF0302-0001", "PAY-2026-0101", 9999, "debit", "BOOK"),
        ("000002", "EREF0302-0002-1", "PAY-2026-0102", 2000, "debit", "BOOK"),
        ("000002", "EREF0302-0002-2", None, 2500, "debit", "BOOK"),
        ("000003", "EREF0302-0003", None, 100000, "credit", "BOOK"),
        ("000004", "EREF0302-0004", None, 200, "debit", "BOOK"),
        (None, None, None, 1000, "credit", "PDNG"),
    ]  # fmt: skip
    # 001.02 names the creditor directly, not in Pty.
    assert (lines[0].creditor_name, lines[0].creditor_iban) == (
        "Office Supplies Ltd", "GB29NWBK60161331926819",
    )  # fmt: skip
    assert lines[1].creditor_name == "Kaffee Rösterei KG"
    assert lines[3].debtor_name == "Acme Customer SA"
    assert [ln.is_bank_charge for ln in lines] == [False] * 4 + [True, False]
    # booked lines add up to the bank's own closing balance
    booked = sum(-ln.amount if ln.direction == "debit" else ln.amount
                 for ln in lines if ln.booked)  # fmt: skip
    assert header.opening_balance + booked == header.closing_balance


def test_a_namespace_prefix_reads_the_same_as_the_default_namespace():
    # given
    plain = minimal(entry())
    prefixed = (
        plain.replace(b"<", b"<c:").replace(b"<c:/", b"</c:").replace(b"<c:?", b"<?")
        .replace(b'xmlns="', b'xmlns:c="')
    )  # fmt: skip
    # when
    read_plain, read_prefixed = statement_read_all(plain), statement_read_all(prefixed)
    # then
    assert b"<c:Ntry>" in prefixed
    assert read_prefixed == read_plain
    assert [line.amount for line in read_prefixed[1]] == [1250]


def test_the_reader_yields_the_first_lines_before_it_has_read_the_whole_file():
    # given
    day = date(2026, 3, 3)
    data = io.BytesIO()
    statement_write(
        data, message_id="M", created_at=datetime(2026, 3, 3, tzinfo=CET),
        statements=[AccountStatement(
            statement_id="S", account_iban="DE89370400440532013000", currency="EUR",
            opening_balance=0, opening_date=day, closing_date=day, closing_balance=0,
            entries=(ReportEntry(100, "credit", day, day) for _ in range(5000)),
        )],
    )  # fmt: skip
    total = len(data.getvalue())
    data.seek(0)
    # when
    items = statement_read(data)
    header, first = next(items), next(items)
    # then
    assert isinstance(header, Statement) and isinstance(first, StatementLine)
    assert data.tell() < total / 4
    assert sum(1 for _ in items) == 4999


@pytest.mark.parametrize(
    "bad_entry",
    [
        entry("12,50"),  # a decimal comma
        entry("1.5", currency="JPY"),  # more decimals than the currency has
        entry("1e3"),  # an exponent
        entry("12.50", currency="XXY"),  # no such currency
        entry(status=""),  # no Sts
        entry().replace("DBIT", "DEBIT"),
        entry("3.00", details="<NtryDtls><TxDtls/><TxDtls/></NtryDtls>"),  # no amounts
        entry(details="<BookgDt><Dt>03.03.2026</Dt></BookgDt>"),
    ],
)
def test_an_entry_with_a_value_that_is_not_what_it_claims_is_malformed(bad_entry):
    # when
    with pytest.raises(StatementUnreadable) as refused:
        statement_read_all(minimal(bad_entry))
    # then
    assert refused.value.reason == "malformed"
    assert "entry 0" in str(refused.value)


def test_a_file_opened_as_text_is_refused_with_a_reason():
    # given
    text = (FILES / "camt053_001_08.xml").open(encoding="utf-8")
    # when
    with text, pytest.raises(StatementUnreadable) as refused:
        statement_read_all(text)
    # then
    assert refused.value.reason == "not-xml"
