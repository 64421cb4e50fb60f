"""The headline figures of a run, and each pipeline figure's ratio to its floor."""

from bench.procfs import PG_PARTS_NAMES


def _median(node, *path):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node.get("median") if isinstance(node, dict) else None


def _ratio(a, b):
    return a / b if a is not None and b else None


# Process groups the meter reports that are no part of the stack, or a part of
# another group (this database's backends and the server's other parts by kind
# are inside the PostgreSQL server's figure).
NOT_THE_STACK = (*PG_PARTS_NAMES, "bench client", "other processes")


def _per_approval(run: dict) -> dict:
    """CPU ms by process group, their total; commits by process, their total."""
    cpu = {
        group: _median(run, "cpu_ms_per_approval", "per_unit", group)
        for group in (run.get("cpu_ms_per_approval") or {}).get("per_unit", {})
    }
    stack = [v for g, v in cpu.items() if g not in NOT_THE_STACK and v is not None]
    commits = (run.get("db_per_approval") or {}).get("commits_by_process") or {}
    statements = (run.get("db_per_approval") or {}).get("statements_by_process") or {}
    return {
        "cpu_ms_by_process": cpu,
        "cpu_ms_total": sum(stack) if stack else None,
        "db_commits_by_process": {name: _median(commits, name) for name in commits},
        "db_statements_by_process": {
            name: _median(statements, name) for name in statements
        },
        "db_commits": _median(run, "db_per_approval", "xact_commit"),
    }


def framework_floor(floors: dict, deliveries: dict | None) -> dict | None:
    """CPU ms per approval that the frameworks alone cost at the pipeline's pace.

    The web's no-op approve once (gunicorn, and PostgreSQL's token read); for
    each consumer delivery an approval makes, a paced no-op Celery worker's
    task and RabbitMQ's delivery of it; and RabbitMQ's publish once per event,
    which the broker fans out to the event's queues. The deliveries are the
    run's count from the consumers' declarations (bench/deliveries.py), not a
    measurement. None unless every part was measured.
    """
    paced = floors.get("celery_noop_paced") or {}
    per = {
        "request_gunicorn": _median(floors, "web_noop", "gunicorn_cpu_ms_per_request"),
        "request_postgresql": _median(
            floors, "web_noop", "postgresql_cpu_ms_per_request"
        ),
        "task_worker": _median(paced, "worker_cpu_ms_per_task"),
        "delivery_rabbitmq": _median(paced, "rabbitmq_delivery_cpu_ms_per_task"),
        "publish_rabbitmq": _median(paced, "rabbitmq_publish_cpu_ms_per_task"),
    }
    if not deliveries or None in per.values():
        return None
    count = sum(deliveries.values())
    events = sum(1 for n in deliveries.values() if n)
    parts = {
        "web_gunicorn": per["request_gunicorn"],
        "web_postgresql": per["request_postgresql"],
        "celery_worker": count * per["task_worker"],
        "rabbitmq_deliveries": count * per["delivery_rabbitmq"],
        "rabbitmq_publishes": events * per["publish_rabbitmq"],
    }
    return {
        **parts,
        "deliveries_per_approval": count,
        "events_per_approval": events,
        "total": sum(parts.values()),
    }


def figures_derive(results: dict) -> dict:
    """Flat, stable keys (documented in bench/README.md), medians over repeats."""
    floors = results.get("floors") or {}
    throughput = results.get("throughput") or {}
    latency = results.get("latency") or {}
    drain = results.get("consumer_drain") or {}
    by_clients = {
        clients: _median(run, "approvals_per_s") for clients, run in throughput.items()
    }
    rates = [v for v in by_clients.values() if v is not None]
    consumer_rates = drain.get("events_per_s", {})
    relay = _median(results.get("relay_drain") or {}, "events_per_s")
    raw_loop = _median(floors, "raw_relay_loop", "events_per_s")
    batched = _median(floors, "amqp_publish_batched_confirms", "msgs_per_s")
    noop = _median(floors, "celery_noop", "tasks_per_s")
    noop_rtt = _median(floors, "celery_noop", "round_trip_ms", "p50")
    side_by_side = _median(floors, "celery_noop_side_by_side", "tasks_per_s_mean")
    moderate = latency.get("moderate", {})
    # Costs per approval where the stack ran fastest: at saturation, so idle
    # work (timers, heartbeats) weighs least.
    fastest = max(by_clients, key=lambda c: by_clients[c] or 0, default=None)
    costs = _per_approval(throughput[fastest]) if fastest is not None else {}
    figures = {
        "rest_approvals_per_s": max(rates) if rates else None,
        "rest_approvals_per_s_by_clients": by_clients,
        "rest_api_calls_per_s_by_clients": {
            c: _median(run, "api_calls_per_s") for c, run in throughput.items()
        },
        "e2e_p50_ms_at_moderate_rate": _median(moderate, "last_of_three", "p50"),
        "e2e_p99_ms_at_moderate_rate": _median(moderate, "last_of_three", "p99"),
        "e2e_max_ms_at_moderate_rate": _median(moderate, "last_of_three", "max"),
        "e2e_p50_ms_near_saturation": _median(
            latency.get("near_saturation", {}), "last_of_three", "p50"
        ),
        "e2e_p99_ms_near_saturation": _median(
            latency.get("near_saturation", {}), "last_of_three", "p99"
        ),
        "relay_drain_events_per_s": relay,
        "raw_relay_loop_events_per_s": raw_loop,
        "relay_drain_share_of_raw_loop": _ratio(relay, raw_loop),
        "consumer_drain_events_per_s": consumer_rates,
        "celery_noop_side_by_side_tasks_per_s": side_by_side,
        "consumer_drain_events_per_s_min": min(
            (v for v in consumer_rates.values() if v is not None), default=None
        ),
        "peak_rss_mib_max": (results.get("memory") or {}).get("max_mib"),
        "cost_measured_at_clients": fastest,
        "cpu_ms_per_approval": costs.get("cpu_ms_by_process"),
        "cpu_ms_per_approval_total": costs.get("cpu_ms_total"),
        "db_commits_per_approval": costs.get("db_commits_by_process"),
        "db_statements_per_approval": costs.get("db_statements_by_process"),
        "db_commits_per_approval_total": costs.get("db_commits"),
        "framework_floor_cpu_ms_per_approval": framework_floor(
            floors, (results.get("run") or {}).get("deliveries_per_approval")
        ),
    }
    figures["ratios_to_floors"] = {
        "rest_approvals_per_s_to_pg_insert_commit": {
            c: _ratio(v, _median(floors, "pg_insert_commit", c, "rows_per_s"))
            for c, v in by_clients.items()
        },
        "relay_drain_to_raw_relay_loop": _ratio(relay, raw_loop),
        "relay_drain_to_amqp_batched_publish": _ratio(relay, batched),
        "consumer_drain_to_celery_noop": {
            c: _ratio(v, noop) for c, v in consumer_rates.items()
        },
        "consumer_drain_to_celery_noop_side_by_side": {
            c: _ratio(v, side_by_side) for c, v in consumer_rates.items()
        },
        "e2e_p50_at_moderate_rate_to_celery_round_trip_p50": _ratio(
            figures["e2e_p50_ms_at_moderate_rate"], noop_rtt
        ),
    }
    return figures
