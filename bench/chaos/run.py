"""One fault run, start to finish.

1. A private database and vhost (launcher.local), migrated and seeded; the
   docker-compose.yml processes started with their logs in var/chaos/<run>/.
2. The workload, the ledger reader and the nemesis run together.
3. Heal: PostgreSQL and RabbitMQ up, every process running (a process that died
   by itself is restarted but recorded, and FAILS the run).
4. Drain, then check (checker.py) and report (report.py).
PostgreSQL and RabbitMQ are restored to how they were found in `finally`, even
when the run itself breaks.
"""

import dataclasses
import random
import re
import signal
import tempfile
import threading
import time
import traceback
from pathlib import Path

from django.conf import settings

from bench.chaos import checker, infrastructure
from bench.chaos.database import Connection
from bench.chaos.drain import drain_wait, emails_wait
from bench.chaos.duplicates import Injector
from bench.chaos.ledger_reads import LedgerReader
from bench.chaos.nemesis import Nemesis
from bench.chaos.options import Options, parse_options
from bench.chaos.processes import CONSUMERS, LONG_RUNNING, Supervisor
from bench.chaos.report import commit, json_path, json_write, machine, report_text
from bench.chaos.tenants import tenants_seed
from bench.chaos.workload import Workload
from launcher.local import Stack, rabbitmq_reachable, stack_down, stack_up
from launcher.rabbitmqctl import queue_types
from launcher.runner import service_stop

EXIT = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 2, "ERROR": 3}
# The e-mail claim of the run's stack: a killed mailer's e-mails wait this long.
EMAIL_CLAIM_SECONDS = 3

# Lines worth counting in each process's log: what the faults looked like from
# inside the app (retries, reconnects, lost workers, dead letters).
LOG_SIGNALS = {
    "tracebacks": "Traceback (most recent call last)",
    "error_lines": re.compile(r"\bERROR\b"),
    "critical_lines": re.compile(r"\bCRITICAL\b"),
    "worker_lost": "WorkerLostError",
    "could_not_ack": "Couldn't ack",
    "broker_connection_lost": "Connection to broker lost",
    "broker_unavailable": "broker unavailable",
    "database_unavailable": "database unavailable",
    "task_retries": re.compile(r"Task payments\.events\[[^\]]+\] retry"),
    "worker_held_event_for_database": "holding the event",
    "dead_lettered": "dead-lettered",
    "unrecoverable": "Unrecoverable error",
}


def log_signals(supervisor: Supervisor) -> dict:
    signals = {}
    for name in LONG_RUNNING:
        try:
            text = supervisor.log_path(name).read_text(errors="replace")
        except OSError:
            continue
        counts = {}
        for label, pattern in LOG_SIGNALS.items():
            n = (
                len(pattern.findall(text))
                if isinstance(pattern, re.Pattern)
                else text.count(pattern)
            )
            if n:
                counts[label] = n
        if name == "web":
            # gunicorn's arbiter replaces a worker that died; 2 boots per start.
            boots = text.count("Booting worker")
            counts["gunicorn_worker_respawns"] = boots - 2 * supervisor.starts[name]
        signals[name] = counts
    return signals


def log_lines(supervisor: Supervisor, service: str, needles, limit: int = 12):
    """The log lines of `service` that mention any of `needles` (event ids)."""
    try:
        text = supervisor.log_path(service).read_text(errors="replace")
    except OSError:
        return []
    found = [line for line in text.splitlines() if any(n in line for n in needles)]
    return found[:limit]


RETRIED = re.compile(r"Task payments\.events\[([0-9a-f-]+)\] retry:")


def retried_events(supervisor: Supervisor, service: str) -> set[str]:
    """The events a worker's log shows it retried (Celery's `retry:` lines)."""
    try:
        return set(
            RETRIED.findall(supervisor.log_path(service).read_text(errors="replace"))
        )
    except OSError:
        return set()


def evidence_attach(result: dict, supervisor: Supervisor) -> None:
    """Put the consumers' own log lines next to each lost or reordered event, and
    count the account-order inversions whose late event had been retried."""
    order = result["order"]
    retried = {
        consumer: retried_events(supervisor, f"{consumer}-worker")
        for consumer in {c for c, _ in order["account_late_events"]}
    }
    order["per_account_late_event_was_retried"] = sum(
        1 for c, event in order["account_late_events"] if event in retried[c]
    )
    for example in result["order"]["account_examples"]:
        needles = [
            example["applied_first"]["event"],
            example["applied_second"]["event"],
        ]
        example["log"] = log_lines(supervisor, f"{example['consumer']}-worker", needles)
    for row in result["lost"]["examples"]:
        consumer, event_id = row[0], row[1]
        row.append(log_lines(supervisor, f"{consumer}-worker", [event_id]))


def _say(message: str) -> None:
    print(message, flush=True)


def _stack_teardown(stack: Stack, keep: bool) -> None:
    if keep:
        for running in stack.running.values():
            service_stop(running)
        _say(f"kept database and vhost {stack.name}")
        return
    stack_down(stack)


def chaos_run(options: Options, say=_say) -> dict:
    as_found = infrastructure.found()
    if not (as_found.postgres and as_found.rabbitmq and rabbitmq_reachable()):
        raise SystemExit(
            "the fault run needs PostgreSQL (127.0.0.1:5432) and RabbitMQ "
            f"(127.0.0.1:5672) running; found {as_found}"
        )
    rng = random.Random(options.seed)
    stack: Stack | None = None
    supervisor: Supervisor | None = None
    nemesis: Nemesis | None = None
    faults: threading.Thread | None = None
    workload: Workload | None = None
    reader: LedgerReader | None = None
    result: dict | None = None
    try:
        say(
            f"fault run: {options.approvals} approvals, faults {sorted(options.faults)}"
            f", seed {options.seed}"
        )
        stack = stack_up(
            Path(tempfile.mkdtemp(prefix="chaos-")),
            only=set(),
            overrides={
                "EVENT_CONSUMERS": ",".join(CONSUMERS),
                # A killed mailer's claimed e-mails go out again within
                # seconds, not after the production claim of five minutes.
                "NOTIFICATION_EMAIL_CLAIM_SECONDS": str(EMAIL_CLAIM_SECONDS),
                "NOTIFICATION_EMAIL_SWEEP_SECONDS": "1",
            },
        )
        log_dir = Path(settings.BASE_DIR) / "var" / "chaos" / stack.name
        log_dir.mkdir(parents=True, exist_ok=True)
        supervisor = Supervisor(stack, log_dir)
        supervisor.start_all()
        stack.wait_http(60)
        tenants = tenants_seed(stack, options.accounts)
        say(f"stack {stack.name} up; logs in {log_dir}")

        db = Connection(stack.name)
        injector = Injector(
            stack.name, Connection(stack.name), random.Random(rng.random())
        )
        reader = LedgerReader(stack.name)
        reader.start()
        supervisor.watch()
        workload = Workload(
            base_url=stack.base_url,
            tenants=tenants,
            approvals=options.approvals,
            clients=options.clients,
            min_duration=options.min_duration,
            seed=options.seed,
        )
        workload.start()
        nemesis = Nemesis(
            options, supervisor, stack.name, injector, rng, workload.started_at, say
        )
        faults = threading.Thread(
            target=nemesis.run, args=(workload.done,), name="nemesis", daemon=True
        )
        faults.start()
        while not workload.done.wait(10):
            finished, accepted = workload.progress()
            say(
                f"  t={time.monotonic() - workload.started_at:7.1f}s  "
                f"{finished}/{options.approvals} approvals done, {accepted} accepted"
                f"; ledger reads {reader.reads} ok, {len(reader.unbalanced)} "
                f"unbalanced, {reader.unavailable} unavailable"
            )
        say(
            f"workload done in {workload.finished_at - workload.started_at:.1f}s; "
            "finishing the fault deck"
        )
        faults.join()

        # Heal, as Jepsen's final generator does, then drain.
        healed = {
            "postgres_started": infrastructure.postgres_ensure(),
            "rabbitmq_started": infrastructure.rabbitmq_ensure(),
            "processes_started": supervisor.ensure_all_running(),
        }
        heal_end = time.monotonic()
        say("healed; draining")
        drain = drain_wait(db, stack.name, options.drain_timeout, say)
        emails_waited = emails_wait(db, timeout=EMAIL_CLAIM_SECONDS * 10)
        reader.stop()
        supervisor.stop_watching()
        supervisor.check_once()
        last_fault = nemesis.last_fault_end or heal_end

        say("checking")
        result = {
            "kind": "chaos",
            "infrastructure_notes": [],
            "commit": commit(),
            "machine": machine(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "options": {
                **dataclasses.asdict(options),
                "faults": sorted(options.faults),
                "output": str(options.output) if options.output else None,
            },
            "run": {
                "database": stack.name,
                "log_dir": str(log_dir),
                "workload_seconds": round(
                    workload.finished_at - workload.started_at, 1
                ),
            },
            "approvals": checker.approvals_check(workload.history, db),
            "outbox": checker.outbox_check(db),
            "lost": checker.lost_check(db),
            "effects": checker.effects_check(db),
            "emails": {
                **checker.emails_check(db, supervisor.log_path("mailer")),
                "seconds_waited_after_drain": round(emails_waited, 1),
            },
            "ledger_reads": reader.summary(),
            "ledger": checker.ledger_check(db),
            "order": checker.order_check(db),
            "queues": {
                "left": sum(q["messages"] for q in drain.depths.values())
                if drain.depths
                else None,
                "per_queue": drain.depths,
                # classic or quorum, as the compose file (or EVENT_QUEUE_TYPE) made them
                "types": _queue_types(stack.name, drain.depths or {}),
            },
            "drain": {
                "drained": drain.drained,
                "seconds_after_heal": round(drain.seconds, 1),
                "seconds_after_last_fault": round(
                    heal_end - last_fault + drain.seconds, 1
                ),
                "state": drain.state,
            },
            "healed": healed,
            "faults": checker.faults_check(
                nemesis.faults, options.faults, injector.copies, db
            ),
            "deliveries": checker.deliveries_check(db),
            "processes": {
                "starts": supervisor.starts,
                "died_unexpectedly": [dataclasses.asdict(d) for d in supervisor.deaths],
            },
            "log_signals": log_signals(supervisor),
            "fault_timeline": [dataclasses.asdict(f) for f in nemesis.faults],
        }
        evidence_attach(result, supervisor)
        if result["queues"]["left"] is None:
            result["queues"]["left"] = -1  # unknown: the broker did not answer
        return result
    finally:
        if nemesis is not None:
            nemesis.stop()
        if faults is not None:
            # A restart in flight finishes first, so restore() does not race it.
            faults.join(timeout=180)
        if workload is not None:
            workload.stop.set()
        if reader is not None:
            reader.stop()
        if supervisor is not None:
            supervisor.stop_watching()
        # The shared services first: dropping the database needs PostgreSQL.
        notes = infrastructure.restore(as_found)
        for note in notes:
            say(f"!! {note}")
        if result is not None:
            result["infrastructure_notes"] = notes
        if stack is not None:
            try:
                _stack_teardown(stack, options.keep)
            except Exception as exc:  # teardown must not hide the run's outcome
                say(f"!! teardown of {stack.name} failed: {exc}")
        after = infrastructure.found()
        say(
            f"PostgreSQL {'running' if after.postgres else 'DOWN'}, RabbitMQ "
            f"{'running' if after.rabbitmq else 'DOWN'} (as found: {as_found})"
        )


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    options = parse_options(argv)
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, through the `finally` that
    # brings PostgreSQL and RabbitMQ back and stops the stack's processes.
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        result = chaos_run(options)
    except KeyboardInterrupt:
        _say("interrupted; PostgreSQL and RabbitMQ were restored")
        return EXIT["ERROR"]
    except Exception:  # a broken run is reported as such, never as a verdict
        traceback.print_exc()
        _say("VERDICT: ERROR (the harness itself failed; see the traceback)")
        return EXIT["ERROR"]
    status, reasons = checker.verdict(result)
    result["verdict"], result["reasons"] = status, reasons
    path = json_write(result, json_path(options, result["commit"]["short"]))
    _say(report_text(result))
    _say(f"JSON: {path}")
    return EXIT[status]


def _queue_types(vhost: str, consumer_queues) -> dict[str, str] | None:
    """The type of each of the consumers' queues, for the record (not the
    harness's own, such as Celery's event queues); None when rabbitmqctl
    cannot tell."""
    try:
        types = queue_types(vhost)
    except Exception:
        return None
    return {name: kind for name, kind in types.items() if name in consumer_queues}
