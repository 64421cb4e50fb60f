"""One benchmark run: the stack up, the floors, the pipeline's phases, then down."""

import datetime
import os
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from bench.deliveries import deliveries_per_approval
from bench.floors import Shape, floors_measure
from bench.http_clients import closed_loop
from bench.machine import commit_info, machine_info
from bench.meter import Meter
from bench.pipeline import (
    Context,
    backlog_insert,
    consumer_drain,
    latency_run,
    login,
    relay_drain,
    throughput_run,
)
from bench.probe import CONSUMERS, WORKERS, Probe, consumer_queues_purge
from bench.procfs import server_groups
from bench.profiling import Recording, py_spy, summarize
from bench.stats import merge_runs
from bench.summary import figures_derive
from bench.targets import targets_check
from bench.web_noop import WebStack
from events.topology import receivers
from launcher.local import PG, RABBIT, stack_down, stack_up
from launcher.runner import service_env


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _profile_approvals(ctx: Context, plan, out: Path) -> tuple[dict, dict]:
    """32 clients while py-spy records web, relay and every worker: the wall
    clock profiles, and the CPU (GIL-holding) profiles of the same seconds.

    The workers were just started: a few approvals first, applied by every
    consumer, so that the profile shows their steady state, not their imports.
    """
    warm = ctx.take(20)
    base = ctx.probe.inbox_max_id()
    warmed = closed_loop("127.0.0.1", ctx.stack.port, ctx.token, warm, 4)
    ctx.probe.wait_applied(
        base, len(warmed.ok), timeout=180, event_types=("PaymentApproved",)
    )
    ids = ctx.take(plan.profile_approvals)
    base = ctx.probe.inbox_max_id()
    # The mailer too, where the stack runs one (docker-compose.yml does).
    names = [
        "web",
        "relay",
        *WORKERS,
        *(["mailer"] if "mailer" in ctx.stack.running else []),
    ]
    recordings = {
        (name, gil): Recording(
            ctx.stack.running[name].process.pid,
            out / f"approvals-{name}{'-gil' if gil else ''}.txt",
            gil=gil,
        )
        for name in names
        for gil in (False, True)
    }
    time.sleep(1)  # py-spy attaches
    result = closed_loop("127.0.0.1", ctx.stack.port, ctx.token, ids, 32)
    ctx.probe.wait_applied(
        base, len(result.ok), timeout=120 + len(ids), event_types=("PaymentApproved",)
    )
    wall: dict = {}
    cpu: dict = {}
    for (name, gil), recording in recordings.items():
        path = recording.stop()
        (cpu if gil else wall)[name] = summarize(path) if path else {"samples": 0}
    return wall, cpu


def _profile_relay(ctx: Context, plan, out: Path) -> dict:
    """One more relay drain (not counted) with py-spy on the relay."""
    ctx.stop("relay")
    backlog_insert(ctx, plan.relay_backlog, "bench-relay-profile")
    ctx.start("relay")
    recording = Recording(ctx.stack.running["relay"].process.pid, out / "relay.txt")
    ctx.probe.wait_outbox_drained(timeout=600)
    path = recording.stop()
    consumer_queues_purge(ctx.stack.name, 4)
    return {"relay": summarize(path) if path else {"samples": 0}}


def _throughput(ctx: Context, plan) -> dict:
    runs: dict[int, list] = {c: [] for c in plan.throughput}
    for repeat in range(plan.repeats):
        for clients, count in plan.throughput.items():
            _log(f"throughput #{repeat + 1}: {clients} clients, {count} approvals")
            runs[clients].append(throughput_run(ctx, clients, count))
    return {str(c): merge_runs(r) for c, r in runs.items()}


def _latency(ctx: Context, plan, throughput: dict | None) -> dict:
    """At the moderate rate, and at a share of the best sustained throughput."""
    best = max(
        (node["approvals_per_s"]["median"] for node in (throughput or {}).values()),
        default=plan.saturation_guess,
    )
    saturation = round(plan.saturation_share * best, 1)
    moderate, near = [], []
    for repeat in range(plan.repeats):
        _log(f"latency #{repeat + 1}: {plan.moderate_rate}/s and {saturation}/s")
        moderate.append(latency_run(ctx, plan.moderate_rate, plan.latency_seconds))
        near.append(latency_run(ctx, saturation, plan.latency_seconds))
    return {"moderate": merge_runs(moderate), "near_saturation": merge_runs(near)}


def _relay(ctx: Context, plan) -> dict:
    runs = []
    for repeat in range(plan.repeats):
        _log(f"relay drain #{repeat + 1}: {plan.relay_backlog} pending rows")
        runs.append(relay_drain(ctx, plan.relay_backlog, f"bench-relay-{repeat}"))
    return merge_runs(runs)


def _profiles(ctx: Context, plan, results: dict, out: Path) -> dict:
    """py-spy profiles of the processes behind each missed target."""
    missed = [k for k, v in results["targets"].items() if v["met"] is False]
    if not plan.profile or not missed:
        return {}
    if not py_spy():
        results["notes"].append(
            "targets missed but py-spy is not installed: no profiles "
            "(pip install py-spy into the venv)"
        )
        return {}
    out.mkdir(parents=True, exist_ok=True)
    profiles = {}
    if any(k.startswith("relay") for k in missed):
        _log("profile: relay drain under py-spy")
        profiles["relay_drain"] = _profile_relay(ctx, plan, out)
    ctx.start(*WORKERS)
    _log("profile: 32 clients under py-spy (web, relay, workers)")
    wall, cpu = _profile_approvals(ctx, plan, out)
    profiles["approvals_32_clients"] = wall
    profiles["approvals_32_clients_cpu"] = cpu
    return profiles


def _phase(results: dict, name: str, measure):
    """Run one phase; a failure is recorded and the run goes on with the next."""
    try:
        return measure()
    except Exception as exc:
        _log(f"{name} failed: {exc!r}")
        results.setdefault("errors", {})[name] = traceback.format_exc()[-3000:]
        return None


def run(plan, *, mode: str, overrides: dict, results_dir: Path) -> dict:
    started = time.time()
    commit = commit_info()
    stem = f"{datetime.date.today().isoformat()}-{commit['short']}"
    results: dict = {
        "schema": 1,
        "run": {
            "mode": mode,
            "started_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "repeats": plan.repeats,
            "plan": asdict(plan),
            "overrides": overrides,
        },
        "machine": machine_info(PG),
        "commit": commit,
        "notes": [],
    }
    tmp = tempfile.TemporaryDirectory(prefix="bench-")
    _log("starting the stack (docker-compose.yml's process list)")
    stack = stack_up(Path(tmp.name), overrides=overrides)
    # The queue type the stack's consumers run on (the compose file's, unless
    # overridden): the AMQP floors declare theirs alike.
    results["run"]["queue_type"] = service_env(
        stack.services["relay"], stack.overrides
    ).get("EVENT_QUEUE_TYPE", "classic")
    # How many queues one PaymentApproved reaches (one per consumer bound to
    # it): the AMQP floors fan out alike, so the broker does the same work per
    # message as for the relay.
    fanout = len(receivers(["PaymentApproved"], CONSUMERS))
    results["run"]["event_fanout"] = fanout
    # Consumer deliveries per approval, by event: what the framework's floor
    # per approval multiplies the paced Celery floor by (bench/summary.py).
    results["run"]["deliveries_per_approval"] = deliveries_per_approval(CONSUMERS)
    shape = Shape(queue_type=results["run"]["queue_type"], fanout=fanout)
    ctx = Context(stack=stack, meter=Meter(), probe=Probe(stack))
    ctx.track_all()
    for name, key in server_groups(stack.name).items():
        ctx.meter.track(name, key)
    try:
        # First: the web floor drives its no-op approve with the same token.
        login(ctx)
        _log(
            "floors: PostgreSQL, AMQP publish, raw relay loop, Celery no-op, "
            "paced Celery no-op, web no-op"
        )
        results["floors"] = _phase(
            results,
            "floors",
            lambda: floors_measure(
                plan,
                stack.name,
                stack.name,
                f"{RABBIT}:5672/{stack.name}",
                ctx.meter,
                shape,
                WebStack(stack.services["web"], stack.overrides, ctx.token),
            ),
        )
        stack.manage(
            "shell",
            "-c",
            "from bench.payments_seed import accounts_ensure; accounts_ensure()",
        )
        pool, pairs = plan.pool_size(), plan.backlog_pairs()
        _log(f"consumer drain: {pool} submitted + {pairs} approved payments")
        results["consumer_drain"] = _phase(
            results,
            "consumer_drain",
            lambda: consumer_drain(ctx, pool, pairs, plan.drain_windows),
        )
        if ctx.stack.running["ledger-worker"].process.poll() is not None:
            ctx.start(*WORKERS)  # the drain failed before it started them
        results["throughput"] = _phase(
            results, "throughput", lambda: _throughput(ctx, plan)
        )
        results["latency"] = _phase(
            results, "latency", lambda: _latency(ctx, plan, results["throughput"])
        )
        results["relay_drain"] = _phase(
            results, "relay_drain", lambda: _relay(ctx, plan)
        )
        results["figures"] = figures_derive(results)
        results["targets"] = targets_check(results["figures"])
        results["profiles"] = (
            _phase(
                results,
                "profiles",
                lambda: _profiles(ctx, plan, results, results_dir / "profiles" / stem),
            )
            or {}
        )
        ctx.meter.sample_rss()
        results["memory"] = ctx.meter.rss_report()
        results["figures"] = figures_derive(results)
        results["targets"] = targets_check(results["figures"])
    finally:
        ctx.meter.sample_rss()
        ctx.probe.close()
        _log("stopping the stack, dropping its database and vhost")
        stack_down(stack)
        tmp.cleanup()
    results["notes"] += ctx.notes
    results["run"]["duration_s"] = time.time() - started
    results["run"]["load_average_at_end"] = list(os.getloadavg())
    results["run"]["stem"] = stem
    return results
