"""The simulated bank: a pain.001 in, its camt.053.001.08 out, read back by the
kit's reader line for line, with each quirk a real bank has."""

from dataclasses import replace

import pytest

from iso20022.bank_simulator import (
    SimulatorOptions,
    SimulatorRefused,
    statement_for,
    statements_for,
)
from iso20022.camt053 import statement_read_all
from iso20022.schemas import schema_errors
from tests.iso20022.builders import BOOKING, DEBTOR, pain001, transfer

TRANSFERS = (
    transfer(1, amount=12550, creditor_name="Dupont SARL"),
    transfer(
        2, amount=990, creditor_iban="NL91ABNA0417164300", creditor_bic="ABNANL2A"
    ),
    transfer(3, amount=40000, creditor_iban="BE68539007547034"),
)


def bank(options: SimulatorOptions | None = None, *, opening: int = 100_000):
    data = statement_for(
        pain001=pain001(*TRANSFERS), booking_date=BOOKING, opening_balance=opening,
        options=options or SimulatorOptions(),
    )  # fmt: skip
    assert schema_errors(data, "camt.053.001.08") == []
    return data, *statement_read_all(data)


def test_each_transfer_comes_back_as_a_booked_debit_with_what_the_app_sent():
    # when
    _, [header], lines = bank()
    # then
    assert (header.account_iban, header.currency, header.version) == (
        DEBTOR.iban, "EUR", "001.08",
    )  # fmt: skip
    assert header.opening_balance == 100_000
    assert header.closing_balance == 100_000 - 12550 - 990 - 40000
    assert header.opening_date == header.closing_date == BOOKING
    assert [
        (ln.end_to_end_id, ln.amount, ln.currency, ln.creditor_name, ln.creditor_iban,
         ln.remittance, ln.direction, ln.status, ln.booking_date, ln.value_date)
        for ln in lines
    ] == [
        (t.end_to_end_id, t.amount, t.currency, t.creditor_name, t.creditor_iban,
         t.remittance, "debit", "BOOK", BOOKING, BOOKING)
        for t in TRANSFERS
    ]  # fmt: skip
    assert [ln.entry_index for ln in lines] == [0, 1, 2]
    assert len({ln.bank_reference for ln in lines}) == 3
    assert not any(ln.is_bank_charge for ln in lines)


def test_the_same_file_gives_the_same_bytes_and_another_file_other_references():
    # given
    other = pain001(*TRANSFERS, message_id="PAIN-2")
    # when
    first, again = bank()[0], bank()[0]
    _, other_lines = statement_read_all(
        statement_for(pain001=other, booking_date=BOOKING)
    )
    # then
    assert first == again
    references = {ln.bank_reference for ln in bank()[2]}
    assert references.isdisjoint({ln.bank_reference for ln in other_lines})


def test_amount_delta_books_the_first_entry_at_another_amount():
    # when
    _, [header], lines = bank(SimulatorOptions(amount_delta=-550))
    # then
    assert [ln.amount for ln in lines] == [12000, 990, 40000]
    assert lines[0].end_to_end_id == TRANSFERS[0].end_to_end_id
    assert header.closing_balance == 100_000 - 12000 - 990 - 40000


def test_bank_fee_adds_a_charge_the_app_never_sent():
    # when
    _, [header], lines = bank(SimulatorOptions(bank_fee=250))
    # then
    fee = lines[-1]
    assert len(lines) == 4
    assert (fee.amount, fee.direction, fee.end_to_end_id, fee.is_bank_charge) == (
        250, "debit", None, True,
    )  # fmt: skip
    assert (fee.domain, fee.family, fee.subfamily) == ("ACMT", "MDOP", "CHRG")
    assert header.closing_balance == 100_000 - 12550 - 990 - 40000 - 250


def test_batch_books_one_entry_whose_transactions_are_the_lines():
    # when
    data, [header], lines = bank(SimulatorOptions(batch=True))
    # then
    assert data.count(b"<Ntry>") == 1 and data.count(b"<TxDtls>") == 3
    assert b'<Amt Ccy="EUR">535.40</Amt>' in data  # the entry's total
    assert [ln.entry_index for ln in lines] == [0, 0, 0]
    assert [(ln.end_to_end_id, ln.amount) for ln in lines] == [
        (t.end_to_end_id, t.amount) for t in TRANSFERS
    ]
    assert header.closing_balance == 100_000 - 53540


def test_end_to_end_not_provided_leaves_amount_creditor_and_reference_to_match_on():
    # when
    data, _, lines = bank(SimulatorOptions(end_to_end_not_provided=True))
    # then
    assert data.count(b"<EndToEndId>NOTPROVIDED</EndToEndId>") == 3
    assert [ln.end_to_end_id for ln in lines] == [None, None, None]
    assert [
        (ln.amount, ln.currency, ln.creditor_iban, ln.remittance) for ln in lines
    ] == [(t.amount, t.currency, t.creditor_iban, t.remittance) for t in TRANSFERS]


def test_all_options_together_still_make_a_consistent_statement():
    # when
    options = SimulatorOptions(amount_delta=7, bank_fee=100, batch=True,
                               end_to_end_not_provided=True)  # fmt: skip
    _, [header], lines = bank(options)
    # then
    assert [ln.amount for ln in lines] == [12557, 990, 40000, 100]
    assert header.closing_balance == 100_000 - 12557 - 990 - 40000 - 100


def test_each_currency_of_a_file_is_its_own_statement_of_the_debtor_account():
    # given
    data = pain001(transfer(1, amount=500), transfer(2, amount=7000, currency="JPY"))
    # when
    statements, lines = statement_read_all(
        statement_for(pain001=data, booking_date=BOOKING, opening_balance=10_000)
    )
    # then
    assert [(s.currency, s.opening_balance, s.closing_balance) for s in statements] == [
        ("EUR", 10_000, 9_500),
        ("JPY", 10_000, 3_000),
    ]
    assert [(ln.statement_id, ln.amount) for ln in lines] == [
        (statements[0].statement_id, 500),
        (statements[1].statement_id, 7000),
    ]


def test_several_files_make_one_statement_per_account():
    # given
    other_debtor = replace(DEBTOR, iban="DE02120300000000202051")
    files = [
        pain001(transfer(1), message_id="A"),
        pain001(transfer(2), debtor=other_debtor, message_id="B"),
        pain001(transfer(3), message_id="C"),
    ]
    # when
    statements, lines = statement_read_all(
        statements_for(
            pain001_files=files, booking_date=BOOKING,
            opening_balances={(other_debtor.iban, "EUR"): -300},
        )
    )  # fmt: skip
    # then
    assert [(s.account_iban, s.opening_balance) for s in statements] == [
        (DEBTOR.iban, 0),
        (other_debtor.iban, -300),
    ]
    by_statement = [(ln.statement_id, ln.end_to_end_id) for ln in lines]
    assert by_statement == [
        (statements[0].statement_id, "PAY-2026-0001"),
        (statements[0].statement_id, "PAY-2026-0003"),
        (statements[1].statement_id, "PAY-2026-0002"),
    ]


@pytest.mark.parametrize(
    ("pain", "options", "reason"),
    [
        (b"not XML at all", SimulatorOptions(), "not-xml"),
        (b"<Document/>", SimulatorOptions(), "not-pain001"),
        (None, SimulatorOptions(amount_delta=-12550), "bad-delta"),
        (None, SimulatorOptions(bank_fee=-1), "bad-fee"),
    ],
)
def test_the_bank_refuses_a_file_it_cannot_read_or_options_it_cannot_apply(
    pain, options, reason
):
    # when
    with pytest.raises(SimulatorRefused) as refused:
        statement_for(
            pain001=pain or pain001(*TRANSFERS), booking_date=BOOKING, options=options
        )
    # then
    assert refused.value.reason == reason
