"""Statements to receive, a fresh content store per test, and what a receipt wrote."""

import pytest

from events.models import OutboxMessage
from settlement.models import SettlementFile
from tests.conftest import content_store_at


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
