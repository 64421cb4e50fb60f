"""The settlement benchmark's setup, run in its own process: a migrated database,
the expected payments, a long camt.053 statement, received. bench/settlement.py.

With a PostgreSQL URL, this process also creates the benchmark's own database
(its parent stays small: see bench/settlement.py) before migrating it.
Expectations go straight into the settlement app's tables with bulk_create
(what its consumer would have learned from PaymentApproved events): the
benchmark measures processing, not the consumers before it. Prints one JSON
object (the file's id and what was made) on its last line of output.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django
import psycopg
from psycopg import sql

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.machine import fault_runs, fault_runs_wait  # noqa: E402
from bench.statement_parse import (  # noqa: E402
    ACCOUNT,
    CREDITOR,
    DAY,
    bench_statement_write,
)
from iso20022.camt053_build import EntryTransaction, ReportEntry  # noqa: E402
from organisations.models import Organisation  # noqa: E402
from settlement.models import ExpectedPayment, KnownAccount  # noqa: E402
from settlement.receiving import settlement_file_receive  # noqa: E402

SUBMITTER = {"id": 1, "username": "bench-maker"}
CHARGE = ("PMNT", "CCRD", "CHRG")  # a bank charge: not_a_payment
TRANSFER = ("PMNT", "ICDT", "ESCT")
KINDS = ("matched", "unknown", "fee")


def kinds(lines: int, matched_share: float) -> list[str]:
    """Each line's kind, the matched ones spread evenly through the file.

    Line i is a match when floor((i+1)*share) steps up (in millionths, so no
    rounding loses a line); of the others, every second is a bank charge and
    the rest name payments nobody expects.
    """
    share = round(matched_share * 1_000_000)
    result, others = [], 0
    for i in range(lines):
        if (i + 1) * share // 1_000_000 > i * share // 1_000_000:
            result.append("matched")
        else:
            result.append("fee" if others % 2 else "unknown")
            others += 1
    return result


def amount_of(n: int) -> int:
    return 100 + n % 9000


def expectations_seed(organisation: Organisation, count: int) -> list[str]:
    """Bulk-insert `count` expected payments; return their EndToEndIds in order."""
    debtor_account_id = uuid.uuid4()
    rows = []
    for n in range(count):
        payment_id = uuid.uuid4()
        rows.append(
            ExpectedPayment(
                organisation=organisation,
                payment_id=payment_id,
                event_id=uuid.uuid4(),
                end_to_end_id=payment_id.hex,
                debtor_account_id=debtor_account_id,
                debtor_iban=ACCOUNT,
                amount=amount_of(n),
                currency="EUR",
                creditor_name=f"Creditor number {n}",
                creditor_iban=CREDITOR,
                reference=f"invoice {n}",
                submitted_by=SUBMITTER,
            )
        )
    ExpectedPayment.objects.bulk_create(rows, batch_size=2000)
    return [row.end_to_end_id for row in rows]


def entries(line_kinds: list[str], end_to_end_ids: list[str]):
    """The statement's entries: matches by EndToEndId, unknown payments, charges."""
    expected = iter(enumerate(end_to_end_ids))
    for i, kind in enumerate(line_kinds):
        reference = f"BENCH-{i:08d}"
        if kind == "fee":
            yield ReportEntry(
                amount=250, direction="debit", booking_date=DAY, value_date=DAY,
                entry_reference=str(i + 1), bank_reference=reference,
                bank_transaction_code=CHARGE,
            )  # fmt: skip
            continue
        n, e2e = next(expected) if kind == "matched" else (i, uuid.uuid4().hex)
        yield ReportEntry(
            amount=amount_of(n), direction="debit", booking_date=DAY, value_date=DAY,
            entry_reference=str(i + 1), bank_reference=reference,
            bank_transaction_code=TRANSFER,
            transactions=(
                EntryTransaction(
                    end_to_end_id=e2e, bank_reference=reference,
                    creditor_name=f"Creditor number {n}", creditor_iban=CREDITOR,
                    remittance=f"invoice {n}",
                ),
            ),
        )  # fmt: skip


def statement_bytes(line_kinds: list[str], end_to_end_ids: list[str]) -> bytes:
    """Write the statement with the streaming writer, through a temporary file."""
    with tempfile.TemporaryFile() as target:
        bench_statement_write(
            target,
            name="BENCH-SETTLEMENT",
            version="001.08",
            opening_balance=10**12,
            entries=entries(line_kinds, end_to_end_ids),
        )
        target.seek(0)
        return target.read()


def database_create() -> None:
    """Create the (new, never existing) PostgreSQL database DATABASE_URL names."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith(".postgresql"):
        return
    server = {
        key.lower(): database[key]
        for key in ("HOST", "PORT", "USER", "PASSWORD")
        if database.get(key)
    }
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database["NAME"]))
        )


def setup(lines: int, matched_share: float, wait_s: float) -> dict:
    # A fault run loads the machine and restarts PostgreSQL: wait it out, and
    # on PostgreSQL do not start beside it (on SQLite the JSON will say so).
    waited = fault_runs_wait(wait_s)
    if fault_runs() and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise SystemExit("a fault run (bench.chaos) is still running; try later")
    started = time.perf_counter()
    database_create()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    organisation = Organisation.objects.create(slug="bench", name="Bench Ltd")
    KnownAccount.objects.create(organisation=organisation, iban=ACCOUNT)
    line_kinds = kinds(lines, matched_share)
    matched = line_kinds.count("matched")
    # As many expectations as lines: the matched share of them is in the file,
    # the rest still waits for its statement.
    end_to_end_ids = expectations_seed(organisation, lines)
    seeded = time.perf_counter()
    data = statement_bytes(line_kinds, end_to_end_ids[:matched])
    written = time.perf_counter()
    settlement_file, _ = settlement_file_receive(
        organisation_id=organisation.id,
        data=data,
        content_type="application/xml",
        source="upload",
        original_name="bench-camt053.xml",
    )
    return {
        "waited_for_fault_runs_s": waited,
        "file_id": str(settlement_file.id),
        "file_mib": len(data) / 2**20,
        "expected_payments": lines,
        "lines_by_kind": {
            k: line_kinds.count(k) for k in ("matched", "unknown", "fee")
        },
        "seconds": {
            "create_and_migrate": migrated - started,
            "seed": seeded - migrated,
            "write_statement": written - seeded,
            "receive": time.perf_counter() - written,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.settlement_seed")
    parser.add_argument("--lines", type=int, required=True)
    parser.add_argument("--matched-share", type=float, required=True)
    parser.add_argument("--wait-for-fault-runs", type=float, default=1800)
    args = parser.parse_args(argv)
    setup_done = setup(args.lines, args.matched_share, args.wait_for_fault_runs)
    print(json.dumps(setup_done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
