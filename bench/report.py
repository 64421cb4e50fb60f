"""The printed table of a run, and its JSON file."""

import json
from pathlib import Path

STAMPS_NOTE = (
    "End-to-end latency: the PaymentApproved outbox row's created_at to each "
    "consumer's InboxEntry.applied_at; both are insert-time stamps "
    "(timezone.now()) taken a few hundred microseconds before their commits."
)


def _num(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _spread(node: dict | None, digits: int = 1) -> str:
    """median [min-max] of an over-repeats node."""
    if not node or node.get("median") is None:
        return "-"
    text = _num(node["median"], digits)
    if len([r for r in node.get("runs", []) if r is not None]) > 1:
        text += f" [{_num(node['min'], digits)}-{_num(node['max'], digits)}]"
    return text


def _get(node, *path):
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


QUANTILES = ("p50", "p95", "p99", "max")


def _lat(node: dict, prefix=(), quantiles=QUANTILES) -> str:
    return " / ".join(_spread(_get(node, *prefix, q)) for q in quantiles)


def _share(node: dict | None, path=("cpu_ms_per_approval",)) -> str:
    """The share of the machine's CPU other processes used during a phase."""
    value = _get(node, *path, "other_processes_share", "median")
    if value is None:
        value = _get(node, *path, "other_processes_share")
    return "-" if value is None else f"{100 * value:.0f}%"


def _framework_floor(figures: dict) -> str:
    """The frameworks' floor of CPU per approval, by part."""
    floor = figures.get("framework_floor_cpu_ms_per_approval")
    if not floor:
        return "framework floor: - (a paced floor was not measured)"
    return (
        f"framework floor {_num(floor['total'], 2)} ms: web no-op once (gunicorn "
        f"{_num(floor['web_gunicorn'], 2)} + PostgreSQL "
        f"{_num(floor['web_postgresql'], 2)}) + "
        f"{floor['deliveries_per_approval']} paced no-op deliveries (worker "
        f"{_num(floor['celery_worker'], 2)} + RabbitMQ "
        f"{_num(floor['rabbitmq_deliveries'], 2)}) + "
        f"{floor['events_per_approval']} publishes (RabbitMQ "
        f"{_num(floor['rabbitmq_publishes'], 2)})"
    )


def table(results: dict) -> str:
    out: list[str] = []
    add = out.append
    m, c, run = results["machine"], results["commit"], results["run"]
    add(
        f"Machine: {m['cores']} cores, {m['memory_mib']:,} MiB, {m['cpu_model']}; "
        f"PostgreSQL {m['postgresql']}, RabbitMQ {m['rabbitmq']}, "
        f"Python {m['python']}"
    )
    add(
        f"Commit {c['short']}{' (work tree had local changes)' if c['dirty'] else ''}"
        f"; mode {run['mode']}, {run['repeats']} repeat(s); overrides "
        f"{run['overrides'] or 'none'}; "
        f"{run.get('queue_type', 'classic')} queues; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}"
    )
    add("Figures: median [min-max] over repeats.")
    floors = results.get("floors") or {}
    add("")
    add("FLOORS (same run, same PostgreSQL and RabbitMQ)")
    for clients, node in floors.get("pg_insert_commit", {}).items():
        add(
            f"  PostgreSQL single-row INSERT+commit, {clients:>2} conn: "
            f"{_spread(node.get('rows_per_s'))} rows/s"
        )
    batched = floors.get("amqp_publish_batched_confirms", {})
    single = floors.get("amqp_publish_confirm_each", {})
    add(
        "  AMQP publish, confirms per batch of "
        f"{_num(_get(batched, 'batch', 'median'))}: "
        f"{_spread(batched.get('msgs_per_s'))} msgs/s; confirming each: "
        f"{_spread(single.get('msgs_per_s'))} msgs/s"
    )
    add(
        "  Raw relay loop (claim UPDATE..RETURNING, publish, confirm, mark): "
        f"{_spread(_get(floors, 'raw_relay_loop', 'events_per_s'))} events/s"
    )
    noop = floors.get("celery_noop", {})
    add(
        f"  Celery no-op task (prefork, 1 process, acks_late, prefetch 1): "
        f"{_spread(noop.get('tasks_per_s'))} tasks/s; round trip p50/p95/p99/max "
        f"{_lat(noop, ('round_trip_ms',))} ms"
    )
    side = floors.get("celery_noop_side_by_side", {})
    add(
        f"  Celery no-op, {_num(_get(side, 'workers', 'median'), 0)} workers side by "
        "side like the consumers (solo, a burst's prefetch, the stack's queue "
        f"type), on a backlog: {_spread(side.get('tasks_per_s_mean'))} tasks/s "
        f"each on average, {_spread(side.get('tasks_per_s_total'))} in all"
    )
    paced = floors.get("celery_noop_paced", {})
    prefetch = _num(_get(paced, "prefetch", "median"), 0)
    add(
        f"  Celery no-op paced (solo, prefetch {prefetch}, one task at a time at "
        f"{_num(_get(paced, 'rate', 'median'), 0)}/s): CPU ms "
        f"per task: worker {_spread(paced.get('worker_cpu_ms_per_task'), 2)}, "
        f"RabbitMQ {_spread(paced.get('rabbitmq_cpu_ms_per_task'), 2)} (the "
        f"publish {_spread(paced.get('rabbitmq_publish_cpu_ms_per_task'), 2)}) "
        f"above its idle {_spread(paced.get('rabbitmq_idle_cpu_ms_per_s'), 1)} ms/s"
    )
    web = floors.get("web_noop", {})
    add(
        "  Web no-op approve (the web's gunicorn command, token auth, no writes), "
        f"{_num(_get(web, 'clients', 'median'), 0)} clients: "
        f"{_spread(web.get('requests_per_s'))} requests/s; CPU ms per request: "
        f"gunicorn {_spread(web.get('gunicorn_cpu_ms_per_request'), 2)}, "
        f"PostgreSQL {_spread(web.get('postgresql_cpu_ms_per_request'), 2)} above "
        f"its idle {_spread(web.get('postgresql_idle_cpu_ms_per_s'), 1)} ms/s"
    )
    figures = results.get("figures") or {}
    ratios = figures.get("ratios_to_floors", {})
    add("")
    add("THROUGHPUT through REST (approvals/s counted when every consumer applied)")
    add(
        "  clients  approvals/s           API calls/s        "
        "API p50 / p95 / p99 ms            vs PG floor  client CPU  others"
    )
    for clients, node in (results.get("throughput") or {}).items():
        ratio = _get(ratios, "rest_approvals_per_s_to_pg_insert_commit", clients)
        client_cpu = _get(node, "client_cpu_share", "median")
        add(
            f"  {clients:>7}  {_spread(node.get('approvals_per_s')):<21} "
            f"{_spread(node.get('api_calls_per_s')):<18} "
            f"{_lat(node, ('api_latency_ms',), QUANTILES[:3]):<33} "
            f"{_num(ratio, 3):>11}  {_num(100 * (client_cpu or 0)):>9}%  "
            f"{_share(node)}"
        )
    add("")
    add(
        "END-TO-END LATENCY, ms, approve commit -> consumer commit "
        "(p50 / p95 / p99 / max)"
    )
    for key, node in (results.get("latency") or {}).items():
        rate = _spread(node.get("target_rate"))
        achieved = _spread(node.get("achieved_rate"))
        add(
            f"  {key} rate: {rate}/s open loop (achieved {achieved}/s; other "
            f"processes used {_share(node)} of the machine)"
        )
        add(f"    last consumer:      {_lat(node, ('last_of_three',))}")
        for consumer, sub in node.get("consumers", {}).items():
            add(f"    {consumer:<18}  {_lat(sub)}")
        add(f"    relay (to published) {_lat(node, ('relay_published',))}")
        add(f"    API call (from due)  {_lat(node, ('api_latency_ms',))}")
    add(f"  {STAMPS_NOTE}")
    add("")
    relay = results.get("relay_drain") or {}
    add(
        f"RELAY DRAIN of {_num(_get(relay, 'rows', 'median'))} pending rows: "
        f"{_spread(relay.get('events_per_s'))} events/s published+confirmed; "
        f"{_num(ratios.get('relay_drain_to_raw_relay_loop'), 2)} of the raw relay "
        f"loop, {_num(ratios.get('relay_drain_to_amqp_batched_publish'), 2)} of raw "
        f"batched publishing; other processes used "
        f"{_share(relay, ())} of the machine"
    )
    drain = results.get("consumer_drain") or {}
    add(
        f"CONSUMER DRAIN of {drain.get('events_per_consumer', '-')} events per "
        f"consumer ({drain.get('events_by_type', {})}), workers started on a full "
        "backlog, all at once; other processes used "
        f"{_share(drain, ())} of the machine:"
    )
    for consumer, rate in drain.get("events_per_s", {}).items():
        windows = _get(drain, "events_per_s_windows", consumer)
        costs = _get(drain, "service_ms_by_type", consumer) or {}
        ratio = _get(ratios, "consumer_drain_to_celery_noop", consumer)
        side_ratio = _get(
            ratios, "consumer_drain_to_celery_noop_side_by_side", consumer
        )
        add(
            f"  {consumer:<15} {_num(rate)} events/s (windows {_spread(windows)}); "
            f"{_num(ratio, 3)} of the Celery no-op, {_num(side_ratio, 3)} of the "
            "side-by-side no-op; ms per event: "
            + ", ".join(f"{t} {_num(v['mean_ms'], 2)}" for t, v in costs.items())
        )
    emails = drain.get("emails")
    if emails:
        add(
            f"  e-mails of the backlog: {emails['sent']} sent at "
            f"{_num(emails['sent_per_s'])}/s; {emails['unsent_at_drain_end']} "
            f"still unsent when the consumers had drained, "
            f"{emails['unsent_after_wait']} after the wait"
        )
    add("")
    add(
        "CPU ms per approval, by process group (32 clients | moderate rate); "
        "postgresql and rabbitmq are whole servers"
    )
    per32 = _get(results, "throughput", "32", "cpu_ms_per_approval", "per_unit") or {}
    per_mod = _get(results, "latency", "moderate", "cpu_ms_per_approval", "per_unit")
    for name, node in per32.items():
        add(
            f"  {name:<24} {_spread(node, 2):<22} "
            f"{_spread((per_mod or {}).get(name), 2)}"
        )
    per_db = _get(results, "throughput", "32", "db_per_approval") or {}
    add(
        "  PostgreSQL per approval (32 clients): "
        + ", ".join(
            f"{k} {_spread(v)}"
            for k, v in per_db.items()
            if k not in ("tables", "commits_by_process", "statements_by_process")
        )
    )
    add(
        "  commits per approval by process (32 clients): "
        + ", ".join(
            f"{k} {_spread(v, 2)}"
            for k, v in (per_db.get("commits_by_process") or {}).items()
        )
    )
    add(
        "  statements per approval by process (32 clients): "
        + ", ".join(
            f"{k} {_spread(v, 1)}"
            for k, v in (per_db.get("statements_by_process") or {}).items()
        )
    )
    for name, stats in (per_db.get("tables") or {}).items():
        add(
            f"    {name:<32} seq scans {_spread(stats.get('seq_scan'), 2)}, rows "
            f"read by them {_spread(stats.get('seq_tup_read'))}, index scans "
            f"{_spread(stats.get('idx_scan'), 2)}, index entries read "
            f"{_spread(stats.get('idx_tup_read'))}, rows fetched "
            f"{_spread(stats.get('idx_tup_fetch'))}"
        )
    add("")
    memory = results.get("memory") or {}
    add("PEAK RSS (VmHWM), MiB, per service (largest process):")
    add(
        "  "
        + "; ".join(
            f"{k} {v:.0f}" for k, v in memory.get("max_mib_per_service", {}).items()
        )
    )
    add("")
    add(
        f"PER APPROVAL, all processes together, at "
        f"{figures.get('cost_measured_at_clients')} clients: "
        f"{_num(figures.get('cpu_ms_per_approval_total'), 1)} ms CPU, "
        f"{_num(figures.get('db_commits_per_approval_total'), 1)} database commits"
    )
    add("")
    add("TARGETS (issue 12)")
    for key, target in (results.get("targets") or {}).items():
        verdict = {True: "met", False: "MISSED", None: "no figure"}[target["met"]]
        add(
            f"  {key:<36} {_num(target['value'], 2):>10}  "
            f"{target['target']:<10} {verdict}"
        )
        if "floor" in target:
            add(f"    {_framework_floor(figures)}")
    for name, profile in (results.get("profiles") or {}).items():
        add("")
        kind = (
            "CPU: only the thread holding the GIL"
            if name.endswith("_cpu")
            else "wall clock incl. idle"
        )
        add(f"PROFILE {name} (py-spy, {kind}): top frames by self time")
        for process, summary in profile.items():
            if not summary.get("samples"):
                continue
            add(
                f"  {process}: {summary['samples']} samples, "
                f"{100 * summary['waiting_share']:.0f}% waiting"
            )
            for row in summary["top_self"][:5]:
                add(f"    {100 * row['share']:5.1f}%  {row['frame']}")
            add("    the application's frames, share of busy samples (inclusive):")
            for row in summary.get("top_app_busy", [])[:12]:
                add(f"    {100 * row['share']:5.1f}%  {row['frame']}")
    for note in results.get("notes", []):
        add(f"Note: {note}")
    return "\n".join(out)


def json_write(results: dict, directory: Path, stem: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(results, indent=1, sort_keys=False, default=str) + "\n")
    return path
