"""The command line of the fault run, and the plan it turns into."""

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# Every fault the nemesis knows. Each one listed in Options.faults must fire at
# least once, or the run proves nothing about it and is INCONCLUSIVE.
RELAY_KILL = "relay_kill"
WORKER_KILL = "worker_kill"
RABBITMQ_RESTART = "rabbitmq_restart"
POSTGRES_RESTART = "postgres_restart"
# PostgreSQL answers but refuses writes for a few seconds: what pooled connections
# see on a former primary during a failover (SQLSTATE 25006).
POSTGRES_READ_ONLY = "postgres_read_only"
DUPLICATES = "duplicates"
# The mailer, SIGKILLed: e-mails it claimed and had not marked wait out their
# claim (NOTIFICATION_EMAIL_CLAIM_SECONDS) and are sent again.
MAILER_KILL = "mailer_kill"
ALL_FAULTS = (
    RELAY_KILL,
    WORKER_KILL,
    MAILER_KILL,
    RABBITMQ_RESTART,
    POSTGRES_RESTART,
    POSTGRES_READ_ONLY,
    DUPLICATES,
)


@dataclass(frozen=True)
class Options:
    approvals: int = 10_000
    clients: int = 8
    accounts: int = 8  # Jepsen's bank test default
    # The workload is paced to last at least this long, so a short run still
    # spans the whole fault schedule instead of finishing before the first fault.
    min_duration: float = 60.0
    fault_interval: tuple[float, float] = (3.0, 7.0)
    # PostgreSQL and RabbitMQ are shared with everything else on the machine:
    # after the first of each, restart one of them at most this often.
    restart_cooldown: float = 60.0
    faults: frozenset[str] = frozenset(ALL_FAULTS)
    postgres_mode: str = "fast"  # pg_ctl shutdown mode: fast or immediate (a crash)
    rabbitmq_mode: str = "app"  # app: stop_app/start_app; node: stop the whole node
    drain_timeout: float = 600.0
    seed: int = field(default_factory=lambda: random.randrange(1_000_000))
    output: Path | None = None  # the JSON file; default bench/results/chaos-...
    keep: bool = False  # keep the run's database and vhost for inspection


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description=(
            "Approve payments through REST while the relay, the workers, RabbitMQ "
            "and PostgreSQL are crashed and restarted and duplicates are injected; "
            "then heal, drain and check that nothing was lost, applied twice or "
            "reordered. Exits 0 on PASS, 1 on FAIL, 2 when INCONCLUSIVE."
        ),
    )
    defaults = Options(seed=0)
    parser.add_argument("--approvals", type=int, default=defaults.approvals)
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument(
        "--min-duration",
        type=float,
        default=defaults.min_duration,
        help="pace the workload to last at least this many seconds",
    )
    parser.add_argument(
        "--fault-interval",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=defaults.fault_interval,
        help="seconds between faults, drawn uniformly",
    )
    parser.add_argument(
        "--restart-cooldown",
        type=float,
        default=defaults.restart_cooldown,
        help="seconds between restarts of the shared PostgreSQL/RabbitMQ after "
        "the first of each",
    )
    for fault in ALL_FAULTS:
        flag = fault.replace("_", "-")
        parser.add_argument(
            f"--no-{flag}",
            action="append_const",
            const=fault,
            dest="disabled",
            help=f"do not inject {fault.replace('_', ' ')}",
        )
    parser.add_argument(
        "--postgres-mode", choices=("fast", "immediate"), default="fast"
    )
    parser.add_argument("--rabbitmq-mode", choices=("app", "node"), default="app")
    parser.add_argument("--drain-timeout", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--output", type=Path, default=None, help="the JSON file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the run's database and vhost (they are dropped otherwise)",
    )
    args = parser.parse_args(argv)
    if args.approvals < 1 or args.clients < 1 or args.accounts < 3:
        parser.error("need at least 1 approval, 1 client and 3 accounts")
    low, high = args.fault_interval
    if not 0 < low <= high:
        parser.error("--fault-interval needs 0 < MIN <= MAX")
    faults = frozenset(ALL_FAULTS) - set(args.disabled or ())
    # Generous: on a busy 2-core machine a consumer drains 20-40 events/s.
    drain_timeout = args.drain_timeout or max(180.0, args.approvals * 0.15)
    return Options(
        approvals=args.approvals,
        clients=args.clients,
        accounts=args.accounts,
        min_duration=args.min_duration,
        fault_interval=(low, high),
        restart_cooldown=args.restart_cooldown,
        faults=faults,
        postgres_mode=args.postgres_mode,
        rabbitmq_mode=args.rabbitmq_mode,
        drain_timeout=drain_timeout,
        seed=args.seed if args.seed is not None else random.randrange(1_000_000),
        output=args.output,
        keep=args.keep,
    )


def results_dir() -> Path:
    return Path(settings.BASE_DIR) / "bench" / "results"
