"""Statements to receive, a fresh content store per test, and what a receipt wrote."""

import datetime

import pytest

from events.models import OutboxMessage
from settlement.models import LineDirection, LineOutcome, SettlementFile, StatementLine
from tests.conftest import content_store_at

IBAN = "DE89370400440532013000"


def statement(n: int = 1) -> bytes:
    """A small camt.053 statement; a different `n`, different bytes."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>STMT-{n}</MsgId>"
        "<CreDtTm>2026-12-04T22:00:00Z</CreDtTm></GrpHdr>"
        f'<Stmt><Id>STMT-{n}</Id><Ntry><Amt Ccy="EUR">125.50</Amt>'
        "<CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2026-12-04</Dt></BookgDt>"
        "</Ntry></Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


def statement_file(organisation, digit: str = "0") -> SettlementFile:
    """A received file's row (no bytes stored): what stored lines belong to."""
    return SettlementFile.objects.create(
        organisation=organisation,
        sha256=digit * 64,
        size=1,
        content_type="application/xml",
        source="upload",
    )


def line(settlement_file, index, *, e2e=None, amount=100, remittance="INV-1", **kw):
    """A debit line of the file, unsaved; waiting unless `outcome` says otherwise."""
    return StatementLine(
        file=settlement_file,
        index=index,
        end_to_end_id=e2e,
        amount=amount,
        currency="EUR",
        direction=LineDirection.DEBIT,
        booking_date=datetime.date(2026, 12, 1),
        creditor_iban=IBAN,
        remittance=remittance,
        outcome=kw.get("outcome", LineOutcome.UNKNOWN_PAYMENT),
        payment_id=kw.get("payment_id"),
    )


@pytest.fixture
def store_dir(tmp_path):
    """The folder the content store writes to in this test (empty at first)."""
    with content_store_at(tmp_path / "content"):
        yield tmp_path / "content"


def blobs(store_dir) -> list[str]:
    """The names of the files in the store (temporary ones included)."""
    if not store_dir.exists():
        return []
    return sorted(p.name for p in store_dir.rglob("*") if p.is_file())


def received_state(store_dir) -> dict:
    """Everything receiving writes: compare before and after a refusal."""
    return {
        "files": list(SettlementFile.objects.order_by("id").values()),
        "outbox": list(OutboxMessage.objects.values_list("event_id", flat=True)),
        "blobs": blobs(store_dir),
    }
