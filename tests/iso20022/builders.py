"""Values the kit's tests build messages from: a debtor, transfers, a pain.001."""

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from iso20022.pain001 import Party, Transfer, credit_transfer_build

FILES = Path(__file__).resolve().parent / "files"
CREATED = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
EXECUTION = date(2026, 3, 3)
BOOKING = date(2026, 3, 3)
DEBTOR = Party(name="Example Trading GmbH", iban="DE89370400440532013000")


def transfer(n: int = 1, **changes) -> Transfer:
    base = Transfer(
        end_to_end_id=f"PAY-2026-{n:04d}",
        amount=10000 + n,
        currency="EUR",
        creditor_name=f"Creditor {n}",
        creditor_iban="FR1420041010050500013M02606",
        remittance=f"PAY-2026-{n:04d}",
    )
    return replace(base, **changes)


def pain001(*transfers: Transfer, debtor: Party = DEBTOR, message_id="PAIN-1") -> bytes:
    return credit_transfer_build(
        message_id=message_id,
        created_at=CREATED,
        initiating_party="Example Trading GmbH",
        debtor=debtor,
        requested_execution_date=EXECUTION,
        transfers=list(transfers) or [transfer(1), transfer(2)],
    )
