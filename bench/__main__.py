"""`python -m bench [--quick] [--repeats N] [--env KEY=VALUE ...]`: run and report."""

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from bench.machine import fault_runs, fault_runs_wait  # noqa: E402
from bench.plan import FULL, QUICK  # noqa: E402
from bench.report import json_write, table  # noqa: E402
from bench.run import run  # noqa: E402
from launcher.local import rabbitmq_reachable  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="1 repeat, smaller sizes (< 3 minutes)"
    )
    parser.add_argument("--repeats", type=int, help="repeats per figure")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the stack's processes, e.g. DB_CONN_MAX_AGE=60",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="py-spy profiles where a target is missed (default: on in full runs)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON folder")
    parser.add_argument(
        "--wait-for-fault-runs",
        type=float,
        default=1800,
        metavar="SECONDS",
        help="wait this long at most for a running `make chaos` to end first",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = replace(plan, repeats=args.repeats)
    if args.profile is not None:
        plan = replace(plan, profile=args.profile)
    overrides = dict(item.split("=", 1) for item in args.env)
    if not rabbitmq_reachable():
        print("bench needs RabbitMQ at 127.0.0.1:5672", file=sys.stderr)
        return 2
    waited = fault_runs_wait(args.wait_for_fault_runs)
    if fault_runs():
        print("a fault run is still running: its restarts would spoil the figures")
        return 3
    results = run(
        plan,
        mode="quick" if args.quick else "full",
        overrides=overrides,
        results_dir=args.output,
    )
    results["run"]["waited_for_fault_runs_s"] = waited
    stem = results["run"]["stem"] + ("-quick" if args.quick else "")
    # The JSON first: a report that cannot be drawn must not lose the run.
    path = json_write(results, args.output, stem)
    print()
    print(table(results))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
