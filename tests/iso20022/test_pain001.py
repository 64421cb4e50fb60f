"""pain.001.001.09: what the app sends its bank is valid against the official
XSD, carries the right amounts, and refuses what the XSD would refuse."""

from dataclasses import replace
from datetime import datetime

import pytest
from lxml import etree

from iso20022.pain001 import (
    CreditTransferInvalid,
    CreditTransferUnreadable,
    Party,
    credit_transfer_build,
    credit_transfer_read,
)
from iso20022.schemas import schema_errors
from tests.iso20022.builders import CREATED, DEBTOR, EXECUTION, FILES, pain001, transfer

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def test_a_file_in_several_currencies_is_valid_and_carries_each_currencys_decimals():
    # given
    transfers = [
        transfer(1, amount=12550, currency="EUR", creditor_bic="BNPAFRPP"),
        transfer(
            2, amount=1000, currency="JPY", creditor_iban="GB29NWBK60161331926819"
        ),
        transfer(3, amount=1234, currency="BHD"),
    ]
    # when
    data = pain001(*transfers)
    # then
    assert schema_errors(data, "pain.001.001.09") == []
    root = etree.fromstring(data)
    amounts = [(a.get("Ccy"), a.text) for a in root.iterfind(".//p:InstdAmt", NS)]
    assert amounts == [("EUR", "125.50"), ("JPY", "1000"), ("BHD", "1.234")]
    assert (
        root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", None, NS) == "1126.734"
    )
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", None, NS) == "3"
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_the_creditor_agent_is_written_only_when_its_bic_is_known():
    # given
    data = pain001(transfer(1, creditor_bic="BNPAFRPPXXX"), transfer(2))
    # when
    root = etree.fromstring(data)
    transactions = root.findall(".//p:CdtTrfTxInf", NS)
    # then
    assert schema_errors(data, "pain.001.001.09") == []
    assert transactions[0].findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", None, NS) == (
        "BNPAFRPPXXX"
    )
    assert transactions[1].find("p:CdtrAgt", NS) is None


def test_the_debtor_agent_is_its_bic_or_notprovided():
    # given
    with_bic = pain001(debtor=replace(DEBTOR, bic="COBADEFFXXX"))
    without = pain001(debtor=DEBTOR)
    # when
    agent = ".//p:DbtrAgt/p:FinInstnId"
    # then
    for data in (with_bic, without):
        assert schema_errors(data, "pain.001.001.09") == []
    assert etree.fromstring(with_bic).findtext(f"{agent}/p:BICFI", None, NS) == (
        "COBADEFFXXX"
    )
    assert etree.fromstring(without).findtext(f"{agent}/p:Othr/p:Id", None, NS) == (
        "NOTPROVIDED"
    )


def test_a_built_file_reads_back_as_it_was_built():
    # given
    transfers = (
        transfer(1, creditor_name="Müller & Söhne <GmbH>", creditor_bic="BYLADEM1001"),
        transfer(2, currency="JPY", amount=98765),
    )
    # when
    read = credit_transfer_read(pain001(*transfers, message_id="PAIN-RT"))
    # then
    assert read.message_id == "PAIN-RT"
    assert read.created_at == CREATED
    assert read.requested_execution_date == EXECUTION
    assert read.debtor == DEBTOR
    assert read.initiating_party == "Example Trading GmbH"
    assert read.transfers == transfers


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("message_id", {"message_id": "M" * 36}),
        ("initiating_party", {"initiating_party": "I" * 141}),
        ("debtor.name", {"debtor": Party("D" * 141, DEBTOR.iban)}),
        (
            "transfers[0].creditor_name",
            {"transfers": [transfer(creditor_name="C" * 141)]},
        ),
        ("transfers[0].remittance", {"transfers": [transfer(remittance="R" * 141)]}),
        (
            "transfers[0].end_to_end_id",
            {"transfers": [transfer(end_to_end_id="E" * 36)]},
        ),
    ],
)
def test_a_text_longer_than_the_xsd_allows_is_refused_not_truncated(field, change):
    # given
    values = {
        "message_id": "PAIN-1",
        "created_at": CREATED,
        "initiating_party": "Example",
        "debtor": DEBTOR,
        "requested_execution_date": EXECUTION,
        "transfers": [transfer()],
    } | change
    # when
    with pytest.raises(CreditTransferInvalid) as refused:
        credit_transfer_build(**values)
    # then
    assert refused.value.reason == "too-long"
    assert str(refused.value).startswith(field)
    assert "the XSD allows" in str(refused.value)


def test_texts_at_the_xsds_limits_are_accepted_whole():
    # given
    longest = transfer(
        end_to_end_id="E" * 35, creditor_name="C" * 140, remittance="R" * 140
    )
    # when
    data = pain001(longest, message_id="M" * 35)
    # then
    assert schema_errors(data, "pain.001.001.09") == []
    assert credit_transfer_read(data).transfers == (longest,)


@pytest.mark.parametrize(
    ("reason", "change"),
    [
        ("bad-iban", {"transfers": [transfer(creditor_iban="FR14 2004 1010")]}),
        (
            "bad-iban",
            {"transfers": [transfer(creditor_iban="FR1520041010050500013M02606")]},
        ),
        ("bad-bic", {"transfers": [transfer(creditor_bic="BNPA")]}),
        ("bad-currency", {"transfers": [transfer(currency="EURO")]}),
        ("bad-currency", {"transfers": [transfer(currency="XYZ")]}),
        ("bad-amount", {"transfers": [transfer(amount=0)]}),
        ("bad-amount", {"transfers": [transfer(amount=-5)]}),
        ("bad-amount", {"transfers": [transfer(amount=12.5)]}),
        ("empty", {"transfers": [transfer(remittance="  ")]}),
        ("bad-text", {"transfers": [transfer(creditor_name="Bob\x07")]}),
        ("no-transfers", {"transfers": []}),
        ("duplicate-end-to-end-id", {"transfers": [transfer(1), transfer(1)]}),
        ("naive-datetime", {"created_at": datetime(2026, 3, 2, 16, 30)}),
        ("bad-date", {"requested_execution_date": CREATED}),
    ],
)
def test_values_the_bank_would_reject_are_refused_with_a_reason(reason, change):
    # given
    values = {
        "message_id": "PAIN-1",
        "created_at": CREATED,
        "initiating_party": "Example",
        "debtor": DEBTOR,
        "requested_execution_date": EXECUTION,
        "transfers": [transfer()],
    } | change
    # when / then
    with pytest.raises(CreditTransferInvalid) as refused:
        credit_transfer_build(**values)
    assert refused.value.reason == reason


def test_reading_refuses_a_statement_a_tampered_count_and_a_doctype():
    # given
    statement = (FILES / "camt053_001_08.xml").read_bytes()
    tampered = pain001().replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>", 1)
    doctype = pain001().replace(
        b"?>", b"?><!DOCTYPE Document [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>", 1
    )
    invalid = pain001().replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>XXX</PmtMtd>")
    # when
    reasons = []
    for data in (statement, tampered, doctype, invalid, b"not xml"):
        with pytest.raises(CreditTransferUnreadable) as refused:
            credit_transfer_read(data)
        reasons.append(refused.value.reason)
    # then
    assert reasons == ["not-pain001", "malformed", "unsafe-xml", "not-valid", "not-xml"]
