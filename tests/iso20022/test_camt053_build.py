"""camt.053 statements the kit builds (the simulated bank's, and fixtures) are
valid against the official 001.08 and 001.02 XSDs and read back as built."""

import io
from datetime import UTC, date, datetime

import pytest

from iso20022.camt053 import statement_read_all
from iso20022.camt053_build import (
    AccountStatement,
    EntryTransaction,
    ReportEntry,
    StatementInvalid,
    statement_build,
    statement_write,
)
from iso20022.schemas import schema_errors

DAY = date(2026, 3, 3)
CREATED = datetime(2026, 3, 3, 18, tzinfo=UTC)
IBAN = "DE89370400440532013000"
CREDITOR = "FR1420041010050500013M02606"


def entries() -> tuple[ReportEntry, ...]:
    return (
        ReportEntry(
            amount=12550, direction="debit", booking_date=DAY, value_date=DAY,
            entry_reference="1", bank_reference="B-1",
            bank_transaction_code=("PMNT", "ICDT", "ESCT"),
            transactions=(
                EntryTransaction(
                    end_to_end_id="PAY-1", bank_reference="T-1",
                    creditor_name="Dupont", creditor_iban=CREDITOR, remittance="PAY-1",
                ),
            ),
        ),
        ReportEntry(  # a batch: one entry, two payments
            amount=300, direction="debit", booking_date=DAY, value_date=DAY,
            transactions=(
                EntryTransaction(amount=100, end_to_end_id="PAY-2"),
                EntryTransaction(amount=200, end_to_end_id="NOTPROVIDED"),
            ),
        ),
        ReportEntry(
            amount=500, direction="credit", booking_date=DAY, value_date=DAY,
            transactions=(EntryTransaction(debtor_name="Acme", debtor_iban=CREDITOR),),
        ),
        ReportEntry(
            amount=250, direction="debit", booking_date=DAY, value_date=DAY,
            bank_transaction_code=("ACMT", "MDOP", "CHRG"),
        ),
        ReportEntry(amount=999, direction="debit", booking_date=None, value_date=DAY,
                    status="PDNG"),
    )  # fmt: skip


def statement(**changes) -> AccountStatement:
    values = {
        "statement_id": "STMT-1", "account_iban": IBAN, "currency": "EUR",
        "opening_balance": 10000, "opening_date": DAY, "closing_date": DAY,
        "entries": entries(),
    } | changes  # fmt: skip
    return AccountStatement(**values)


@pytest.mark.parametrize("version", ["001.08", "001.02"])
def test_a_built_statement_is_valid_against_the_official_xsd(version):
    # given
    statements = [statement(), statement(statement_id="STMT-2", currency="JPY",
                                         entries=(), opening_balance=-700)]  # fmt: skip
    # when
    data = statement_build(
        message_id="CAMT-1", created_at=CREATED, statements=statements, version=version
    )
    # then
    assert schema_errors(data, f"camt.053.{version}") == []


@pytest.mark.parametrize("version", ["001.08", "001.02"])
def test_a_built_statement_reads_back_line_by_line(version):
    # given
    data = statement_build(
        message_id="CAMT-1",
        created_at=CREATED,
        statements=[statement()],
        version=version,
    )
    # when
    [header], lines = statement_read_all(data)
    # then
    assert header.version == version
    assert (header.opening_balance, header.closing_balance) == (
        10000,
        10000 - 12550 - 300 + 500 - 250,  # the pending 999 is not booked
    )
    shape = [(ln.entry_index, ln.amount, ln.direction, ln.status) for ln in lines]
    assert shape == [
        (0, 12550, "debit", "BOOK"),
        (1, 100, "debit", "BOOK"),
        (1, 200, "debit", "BOOK"),
        (2, 500, "credit", "BOOK"),
        (3, 250, "debit", "BOOK"),
        (4, 999, "debit", "PDNG"),
    ]  # fmt: skip
    first = lines[0]
    assert (first.end_to_end_id, first.bank_reference, first.entry_reference) == (
        "PAY-1", "T-1", "1",
    )  # fmt: skip
    assert (first.creditor_name, first.creditor_iban, first.remittance) == (
        "Dupont", CREDITOR, "PAY-1",
    )  # fmt: skip
    assert [line.end_to_end_id for line in lines[1:3]] == ["PAY-2", None]
    assert (lines[3].debtor_name, lines[3].debtor_iban) == ("Acme", CREDITOR)
    assert [line.is_bank_charge for line in lines] == [False] * 4 + [True, False]


def test_a_generator_of_entries_streams_when_the_closing_balance_is_given():
    # given
    def many():
        for n in range(1000):
            yield ReportEntry(amount=1 + n, direction="credit", booking_date=DAY,
                              value_date=DAY)  # fmt: skip

    out = io.BytesIO()
    # when
    statement_write(
        out, message_id="CAMT-1", created_at=CREATED,
        statements=[statement(entries=many(), closing_balance=10000 + 500500)],
    )  # fmt: skip
    # then
    [header], lines = statement_read_all(out.getvalue())
    assert len(lines) == 1000
    assert header.closing_balance == 10000 + sum(line.amount for line in lines)
    assert schema_errors(out.getvalue(), "camt.053.001.08") == []


def one(*transactions: EntryTransaction) -> dict:
    """Statement changes: a single entry holding `transactions`."""
    return {"entries": (ReportEntry(3, "debit", DAY, DAY, transactions=transactions),)}


@pytest.mark.parametrize(
    ("reason", "changes"),
    [
        ("bad-amount", {"entries": (ReportEntry(0, "debit", DAY, DAY),)}),
        ("bad-direction", {"entries": (ReportEntry(1, "out", DAY, DAY),)}),
        ("bad-amount", one(EntryTransaction(amount=1), EntryTransaction())),
        ("too-long", one(EntryTransaction(creditor_name="C" * 141))),
        ("too-long", {"statement_id": "S" * 36}),
        ("bad-iban", {"account_iban": "DE00 1234"}),
        ("bad-currency", {"currency": "EU"}),
    ],
)
def test_values_the_xsd_would_refuse_are_refused_with_a_reason(reason, changes):
    # when / then
    with pytest.raises(StatementInvalid) as refused:
        statement_build(
            message_id="CAMT-1", created_at=CREATED, statements=[statement(**changes)]
        )
    assert refused.value.reason == reason
