"""`python -m bench.statement_parse [--lines 50000] [--version 001.08]`: how fast
the camt.053 reader streams a long statement, and its peak memory.

Builds the statement into a temporary file with the kit's streaming writer, then
reads it in a fresh interpreter (so the peak RSS is the reader's alone, next to
the interpreter's own before it starts) and prints lines/s and peak RSS. A
measurement, never a test: docs/iso20022.md#how-long-statements-stay-small.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from iso20022.camt053 import StatementLine, statement_read
from iso20022.camt053_build import (
    AccountStatement,
    EntryTransaction,
    ReportEntry,
    statement_write,
)

DAY = date(2026, 3, 3)
ACCOUNT = "DE89370400440532013000"
CREDITOR = "FR1420041010050500013M02606"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def entries(count: int):
    """Payments as the simulated bank books them: one TxDtls each, all fields."""
    for n in range(count):
        yield ReportEntry(
            amount=100 + n % 9000,
            direction="debit",
            booking_date=DAY,
            value_date=DAY,
            entry_reference=str(n + 1),
            bank_reference=f"BENCH-{n:08d}",
            bank_transaction_code=("PMNT", "ICDT", "ESCT"),
            transactions=(
                EntryTransaction(
                    end_to_end_id=f"PAY-{n:010d}",
                    bank_reference=f"BENCH-{n:08d}",
                    creditor_name=f"Creditor number {n}",
                    creditor_iban=CREDITOR,
                    remittance=f"PAY-{n:010d} invoice {n}",
                ),
            ),
        )


def bench_statement_write(
    target, *, name: str, version: str, opening_balance: int, entries
) -> None:
    """Stream one day's statement of the benchmark's account into `target`.

    The closing balance is given (0), so the writer streams the entries
    instead of listing them to compute it; the reader does not check it.
    """
    statement_write(
        target,
        message_id=name,
        created_at=datetime(2026, 3, 3, 18, tzinfo=UTC),
        version=version,
        statements=[
            AccountStatement(
                statement_id=f"{name}-1",
                account_iban=ACCOUNT,
                currency="EUR",
                opening_balance=opening_balance,
                opening_date=DAY,
                closing_date=DAY,
                closing_balance=0,
                entries=entries,
            )
        ],
    )


def build(path: Path, lines: int, version: str) -> float:
    """Write a `lines`-entry statement to `path`; return the seconds it took."""
    total = sum(100 + n % 9000 for n in range(lines))
    start = time.perf_counter()
    with path.open("wb") as target:
        bench_statement_write(
            target,
            name="BENCH-STATEMENT",
            version=version,
            opening_balance=total,
            entries=entries(lines),
        )
    return time.perf_counter() - start


def parse(path: Path) -> dict:
    """Read `path` with the streaming reader; what a fresh process measures."""
    before = peak_rss_mib()
    start = time.perf_counter()
    count = 0
    with path.open("rb") as source:
        for item in statement_read(source):
            count += isinstance(item, StatementLine)
    seconds = time.perf_counter() - start
    return {
        "lines": count,
        "seconds": seconds,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statement_parse")
    parser.add_argument("--lines", type=int, default=50_000, help="entries to build")
    parser.add_argument("--version", choices=["001.08", "001.02"], default="001.08")
    parser.add_argument("--parse-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.parse_only:  # the child: read, and report as JSON
        print(json.dumps(parse(args.parse_only)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statement.xml"
        built = build(path, args.lines, args.version)
        size = path.stat().st_size / 2**20
        child = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "bench.statement_parse", "--parse-only", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(child.stdout)
    print(f"camt.053.{args.version}, {args.lines} entries, {size:.1f} MiB")
    print(
        f"  build (streaming writer): {built:.2f} s, {args.lines / built:,.0f} lines/s"
    )
    print(
        f"  read  (streaming reader): {result['seconds']:.2f} s, "
        f"{result['lines'] / result['seconds']:,.0f} lines/s, {result['lines']} lines"
    )
    print(
        f"  reader process peak RSS: {result['peak_rss_mib']:.0f} MiB "
        f"(interpreter and imports before reading: {result['rss_before_mib']:.0f} MiB)"
    )
    print(f"  builder process peak RSS: {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
