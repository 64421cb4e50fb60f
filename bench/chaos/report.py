"""The fault run's report: a readable summary on stdout and the full JSON record."""

import json
import os
import subprocess
import time
from pathlib import Path

from django.conf import settings

from bench.chaos.options import Options, results_dir


def commit() -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "short": git("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def machine() -> dict:
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gb": round(memory_kb / 1024**2, 1)}


def json_path(options: Options, short_commit: str) -> Path:
    if options.output is not None:
        return options.output
    return results_dir() / f"chaos-{time.strftime('%Y-%m-%d')}-{short_commit}.json"


def json_write(result: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def _line(label: str, value, mark: str = "") -> str:
    return f"  {label:<46} {value}{('  ' + mark) if mark else ''}"


def _ok(good: bool) -> str:
    return "ok" if good else "<-- VIOLATION"


def report_text(result: dict) -> str:
    a = result["approvals"]
    f = result["faults"]
    e = result["effects"]
    o = result["order"]
    reads = result["ledger_reads"]
    lost = a["response_lost"]
    out = [
        "",
        f"Fault run {result['run']['database']}  commit {result['commit']['short']}"
        f"{' (dirty)' if result['commit']['dirty'] else ''}  seed "
        f"{result['options']['seed']}  {result['machine']['cores']} cores",
        "",
        "Workload",
        _line("approvals planned", a["planned"]),
        _line(
            "payments submitted (2xx)",
            f"{a['submitted']} ({a['submits_with_lost_response']} after a lost "
            "response)",
        ),
        _line(
            "approvals accepted (2xx)",
            f"{a['accepted']} "
            f"({a['accepted_on_replay']} answered by an Idempotency-Key replay)",
        ),
        _line("approvals refused (definite 4xx)", a["refused"] or 0),
        _line("approvals never answered", a["without_answer"]),
        _line(
            "approvals whose response was lost",
            f"{lost['approvals']} (attempts: {lost['attempts_by_kind'] or 'none'})",
        ),
        _line("  ... final state in the database", lost["final_state_in_db"] or "-"),
        _line("  ... client finally got a 2xx", lost["finally_accepted_by_client"]),
        _line(
            "409 idempotency-key-in-progress answers",
            a["idempotency_in_progress_answers"],
        ),
        _line(
            "accepted but not approved in the database",
            a["accepted_but_not_approved"],
            _ok(not a["accepted_but_not_approved"]),
        ),
        _line(
            "payments whose state and outbox disagree",
            result["outbox"]["half_states"],
            _ok(not result["outbox"]["half_states"]),
        ),
        _line("workload duration", f"{result['run']['workload_seconds']:.1f}s"),
        "",
        "Faults (each enabled fault must fire at least once)",
        _line(
            "relay SIGKILLs",
            f"{f['relay_kills']} "
            f"({f['relay_kills_with_claimed_rows_in_flight']} with claimed rows "
            "in flight)",
        ),
        _line(
            "worker SIGKILLs",
            f"{f['worker_kills']} "
            f"({f['worker_kills_right_after_an_effect']} right after an effect, "
            f"{f['worker_kills_between_effect_and_ack']} proven before the ack)",
        ),
        _line(
            "mailer SIGKILLs",
            f"{f.get('mailer_kills', 0)} "
            f"({f.get('mailer_kills_with_claimed_emails_in_flight', 0)} with claimed "
            "e-mails in flight)",
        ),
        _line("RabbitMQ restarts", f["rabbitmq_restarts"]),
        _line("PostgreSQL restarts", f["postgres_restarts"]),
        _line("PostgreSQL read-only windows", f["postgres_read_only_windows"]),
        _line(
            "duplicate copies injected",
            f"{f['duplicates_injected']} in {f['duplicate_injections']} injections",
        ),
        _line(
            "outbox rows claimed more than once",
            result["outbox"]["rows_claimed_more_than_once"],
        ),
        _line(
            "enabled faults that never fired",
            f["never_fired"] or "none",
            "" if not f["never_fired"] else "<-- INCONCLUSIVE",
        ),
        "",
        "Invariants",
        _line(
            "lost (event never applied by a consumer)",
            result["lost"]["total"],
            _ok(not result["lost"]["total"]),
        ),
        _line(
            "dead-lettered (a fault blamed on an event)",
            result["lost"].get("dead_lettered", 0),
            _ok(not result["lost"].get("dead_lettered", 0)),
        ),
        _line(
            "double-applied effects",
            e["double_applied_total"],
            _ok(not e["double_applied_total"]),
        ),
        _line("missing effects", e["missing"], _ok(not any(e["missing"].values()))),
        _line(
            "unexpected effects",
            e["unexpected"],
            _ok(not any(e["unexpected"].values())),
        ),
        _line(
            "ledger reads during the run",
            f"{reads['ok_reads']} ok, "
            f"{reads['unbalanced_reads']} unbalanced, "
            f"{reads['unavailable_reads']} unavailable",
            _ok(not reads["unbalanced_reads"]),
        ),
        _line(
            "final ledger balanced per currency",
            result["ledger"]["final"]["balanced"],
            _ok(result["ledger"]["final"]["balanced"]),
        ),
        _line(
            "ledger moved exactly the approved amounts",
            result["ledger"]["matches_approved_amounts"],
            _ok(result["ledger"]["matches_approved_amounts"]),
        ),
        _line(
            "sequence-order violations",
            f"{o['total']} ({o['per_payment']} per "
            f"payment, {o['per_account']} per account, of which "
            f"{o.get('per_account_late_event_was_retried', 0)} after a task retry; "
            f"{o['ambiguous_republished']} ambiguous)",
            _ok(not o["total"]),
        ),
        _line(
            "messages left in queues after the drain",
            result["queues"]["left"],
            _ok(not result["queues"]["left"]),
        ),
        _line(
            "queue types",
            ", ".join(sorted(set((result["queues"].get("types") or {}).values())))
            or "unknown",
            "",
        ),
        _line(
            "drained",
            f"{result['drain']['drained']}: "
            f"{result['drain']['seconds_after_last_fault']:.1f}s after the last "
            "fault",
            _ok(result["drain"]["drained"]),
        ),
        _line(
            "notification e-mails never sent",
            f"{result['emails']['unsent_after_drain']} (waited "
            f"{result['emails'].get('seconds_waited_after_drain', 0):.1f}s after "
            f"the drain; {result['emails'].get('sent_more_than_once', 0)} sent "
            "more than once, under one Message-ID)",
            _ok(not result["emails"]["unsent_after_drain"]),
        ),
        _line(
            "processes that died unexpectedly",
            [d["service"] for d in result["processes"]["died_unexpectedly"]] or 0,
            _ok(not result["processes"]["died_unexpectedly"]),
        ),
        "",
        f"VERDICT: {result['verdict']}",
        *(f"  - {reason}" for reason in result["reasons"]),
        f"Logs: {result['run']['log_dir']}",
    ]
    return "\n".join(out)
