"""`python -m bench.settlement [--lines 50000] [--matched-share 0.9]`: a long
camt.053 statement processed end to end by the settlement consumer; lines/s and
the processor's peak memory (issue: under 200 MB, streaming, not the tree).

A throwaway database (SQLite in a temporary folder, or with `--database-url`
a new PostgreSQL database, dropped at the end), seeded and given the statement
by one child process (bench/settlement_seed.py); the statement processed in
another, fresh one (bench/settlement_process.py), so its memory is its own.
Prints a summary and writes bench/results/settlement-<date>-<commit>.json.
A measurement, never a test: docs/benchmark.md#settlement-processing.

This process stays small on purpose (no Django, no psycopg until the children
are done): on Linux a child's getrusage ru_maxrss keeps the peak of the process
that started it across exec, so a large parent would inflate the figure.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parent.parent
TARGET_MB = 200  # the bound, in MB (10^6 bytes)
DATABASE_PREFIX = "bench_settlement_"
# What would change the children's behaviour or make them refuse to start.
ENV_DROPPED = (
    "TEST_DB_SUFFIX",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "CELERY_BROKER_URL",
    "BROKER_DIR",
    "DJANGO_SETTINGS_MODULE",
)


class BadArguments(Exception):
    """The command line asks for something the benchmark will not do."""


def postgres_url(server_url: str) -> tuple[str, str]:
    """Return (the database URL to use, its new database's name).

    The URL names a server; a database name in it is accepted only under the
    benchmark's own prefix, as the new database's name: the benchmark creates
    it and drops it, so it never touches a database it did not create.
    """
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise BadArguments(f"--database-url must be postgres://..., not {parts.scheme}")
    name = parts.path.strip("/") or DATABASE_PREFIX + secrets.token_hex(4)
    if not name.startswith(DATABASE_PREFIX) or "/" in name:
        raise BadArguments(
            f"the database name must start with {DATABASE_PREFIX!r} (the benchmark "
            f"creates and drops it); got {name!r}, or leave the name out"
        )
    return urlunsplit(parts._replace(path="/" + name)), name


def child_env(folder: Path, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROPPED}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        VAR_DIR=str(folder / "var"),
        CONTENT_STORE_DIR=str(folder / "content"),
    )
    return env


def child_run(module: str, args: list[str], env: dict) -> dict:
    """Run `python -m module args`; return the JSON on its last line of output."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{done.stdout[-2000:]}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def database_drop(database_url: str, name: str, patience_s: float = 120) -> None:
    """Drop the benchmark's database, waiting for a restarting server if need be."""
    # Imported here, after the measured child has ended: see the module docstring.
    import psycopg
    from psycopg import sql

    server = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    deadline = time.monotonic() + patience_s
    while True:
        try:
            with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(name)
                    )
                )
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                print(f"could not drop database {name}; drop it by hand", flush=True)
                raise
            time.sleep(5)


def figures(processing: dict) -> dict:
    before, after = processing["memory_before"], processing["memory_after"]
    peak = after["vm_hwm_mib"]
    return {
        "lines": processing["lines"],
        "seconds": processing["seconds"],
        "lines_per_s": processing["lines"] / processing["seconds"],
        "peak_rss_mib": peak,
        "rss_growth_mib": peak - before["vm_hwm_mib"],
        "ru_maxrss_mib": after["ru_maxrss_mib"],
        "peak_under_200_mb": peak * 2**20 < TARGET_MB * 10**6,
        "queries_per_line": processing["queries"] / max(processing["lines"], 1),
        "payment_settled_written": processing["payment_settled_written"],
    }


def summary(results: dict) -> str:
    run, setup, proc, fig = (
        results["run"], results["setup"], results["processing"], results["figures"],
    )  # fmt: skip
    before = proc["memory_before"]
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in setup["lines_by_kind"].items())
    outcomes = ", ".join(f"{n:,} {k}" for k, n in proc["outcomes"].items() if n)
    verdict = "met" if fig["peak_under_200_mb"] else "MISSED"
    return "\n".join(
        [
            f"SETTLEMENT PROCESSING on {run['database']}: camt.053.001.08, "
            f"{run['lines']:,} lines ({kinds}), {setup['file_mib']:.1f} MiB; "
            f"{setup['expected_payments']:,} expected payments",
            f"  processed ({proc['status']}) in {fig['seconds']:.2f} s: "
            f"{fig['lines_per_s']:,.0f} lines/s; {proc['queries']:,} SQL statements "
            f"({fig['queries_per_line']:.2f} per line)",
            f"  outcomes: {outcomes}; PaymentSettled written: "
            f"{fig['payment_settled_written']:,}",
            f"  processor peak RSS (VmHWM): {fig['peak_rss_mib']:.0f} MiB "
            f"(before processing {before['vm_hwm_mib']:.0f} MiB, growth "
            f"{fig['rss_growth_mib']:.0f} MiB; ru_maxrss {fig['ru_maxrss_mib']:.0f} "
            f"MiB); target <= {TARGET_MB} MB: {verdict}",
            "  setup (untimed): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in setup["seconds"].items()),
            f"  processor CPU {proc['cpu_s']:.1f} s of {fig['seconds']:.1f} s; "
            f"machine ({results['machine']['cores']} cores) busy "
            f"{proc['machine_busy_share']:.0%} meanwhile, load average "
            f"{run['load_average_at_start'][0]:.2f} at start, "
            f"{run['load_average_at_end'][0]:.2f} at end",
            *(
                ["  a fault run (bench.chaos) was running at the end: do not trust it"]
                if run["fault_run_running_at_end"]
                else []
            ),
        ]
    )


def measure(args, folder: Path, database_url: str) -> tuple[dict, dict]:
    env = child_env(folder, database_url)
    if args.line_batch:
        env["SETTLEMENT_LINE_BATCH"] = str(args.line_batch)
    setup = child_run(
        "bench.settlement_seed",
        [
            *("--lines", str(args.lines), "--matched-share", str(args.matched_share)),
            *("--wait-for-fault-runs", str(args.wait_for_fault_runs)),
        ],
        env,
    )
    extra = ["--profile"] if args.profile else []
    processing = child_run(
        "bench.settlement_process", ["--file-id", setup["file_id"], *extra], env
    )
    return setup, processing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.settlement")
    parser.add_argument("--lines", type=int, default=50_000, help="statement lines")
    parser.add_argument(
        "--matched-share", type=float, default=0.9,
        help="share of lines that settle an expected payment (the rest: half "
        "unknown payments, half bank charges)",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", metavar="postgres://USER@HOST:PORT[/bench_settlement_X]",
        help="a PostgreSQL server: a new database on it, dropped at the end "
        "(default: SQLite in a temporary folder)",
    )  # fmt: skip
    parser.add_argument("--line-batch", type=int, help="SETTLEMENT_LINE_BATCH")
    parser.add_argument("--profile", action="store_true", help="under cProfile")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON folder")
    parser.add_argument(
        "--wait-for-fault-runs", type=float, default=1800, metavar="SECONDS",
        help="wait this long at most for a running `make chaos` to end first",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.lines < 1 or not 0 <= args.matched_share <= 1:
            raise BadArguments("--lines must be >= 1, --matched-share in [0, 1]")
        pg = postgres_url(args.database_url) if args.database_url else None
    except BadArguments as exc:
        parser.error(str(exc))
    started_at = datetime.now(UTC)
    load_at_start = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as name:
        folder = Path(name)
        database_url = pg[0] if pg else f"sqlite:///{folder / 'bench.sqlite3'}"
        if pg:
            print(f"database {pg[1]}: created for this run, dropped at its end")
        try:
            setup, processing = measure(args, folder, database_url)
        finally:
            if pg:
                database_drop(*pg)
    from bench.machine import commit_info, fault_runs, machine_basics  # see above

    commit = commit_info()
    database = "postgresql" if pg else "sqlite"
    stem = f"settlement-{started_at:%Y-%m-%d}-{commit['short']}" + "".join(
        suffix
        for suffix, wanted in (
            ("-postgresql", pg),
            (f"-{args.lines}", args.lines != 50_000),
            ("-profile", args.profile),
        )
        if wanted
    )
    results = {
        "schema": 1,
        "run": {
            "stem": stem,
            "started_at": started_at.isoformat(),
            "duration_s": (datetime.now(UTC) - started_at).total_seconds(),
            "lines": args.lines,
            "matched_share": args.matched_share,
            "database": database,
            "settlement_line_batch": args.line_batch or "default",
            "profiled": args.profile,
            "load_average_at_start": load_at_start,
            "load_average_at_end": list(os.getloadavg()),
            "fault_run_running_at_end": bool(fault_runs()),
        },
        "machine": machine_basics(),
        "commit": commit,
        "setup": setup,
        "processing": processing,
        "figures": figures(processing),
    }
    print(summary(results))
    if processing.get("profile"):
        print("\nPROFILE of the processor (cProfile)\n" + processing["profile"])
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{stem}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
