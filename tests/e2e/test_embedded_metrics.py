"""The metrics of every process of the embedded demo, scraped as Prometheus would.

Starts `manage.py demo` (web under gunicorn in multiprocess mode, the relay and
a worker per consumer, each with its own metrics port), approves payments
through REST, and reads web's /metrics, the relay's and each worker's: the
counters moved (commits counted by each process too), the relay leads, and
every loop says it is alive.
"""

import json

import pytest
import requests

from events.consumers import default_consumer_names
from events.topology import receivers
from tests.demo_process import demo_running
from tests.e2e.observe import (
    approvals_answered,
    approvals_counted_wait,
    metric_samples,
    metric_total,
)
from tests.e2e.rest import (
    first_account,
    payment_approve,
    payment_submit,
    token_headers,
)

pytestmark = pytest.mark.e2e


def _approve_payments(base: str, count: int) -> None:
    alice, bob = token_headers(base, "alice"), token_headers(base, "bob")
    account = first_account(base, alice)
    for n in range(count):
        keyed = {**alice, "Idempotency-Key": f"metrics-{n}"}
        payment = payment_submit(base, keyed, account, 1000 + n)
        assert payment.status_code == 201, payment.text
        approved = payment_approve(base, bob, payment.json()["id"])
        assert approved.status_code == 200, approved.text
    # the same key again: the first answer, replayed
    replay = payment_submit(
        base, {**alice, "Idempotency-Key": "metrics-0"}, account, 1000
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"


def test_every_process_serves_metrics_that_move_and_says_it_is_alive(tmp_path):
    with demo_running(tmp_path) as demo:
        ports = json.loads((tmp_path / "metrics-ports.json").read_text())
        workers = {name: ports[f"{name}-worker"] for name in default_consumer_names()}
        # the consumers bound to PaymentApproved (docs/adr/0019-bindings-per-stream.md)
        approvers = receivers(["PaymentApproved"], list(workers))
        relay = f"http://127.0.0.1:{ports['relay']}"

        # when: two payments are submitted and approved, one submission replayed
        _approve_payments(demo.base, 2)

        # then: every consumer of its stream applies both approvals, as its
        # worker counts them (one that does not act on a type applies it too,
        # advancing its position)
        approvals_counted_wait(
            {n: f"http://127.0.0.1:{workers[n]}/metrics" for n in approvers},
            outcome="applied",
            at_least=2,
            timeout=45,
        )

        # and: the relay published them, leads, and its outbox is drained
        relay_samples = metric_samples(relay + "/metrics")
        assert metric_total(relay_samples, "payments_relay_published_events_total") >= 4
        assert metric_total(relay_samples, "payments_relay_leader") == 1
        assert metric_total(relay_samples, "payments_relay_confirm_seconds_count") >= 1
        assert ("payments_outbox_backlog_rows", frozenset()) in relay_samples

        # and: web counted the requests by route name, across its processes
        assert approvals_answered(demo.base + "/metrics") == 2
        web = metric_samples(demo.base + "/metrics")
        replayed = {"outcome": "replayed"}
        assert metric_total(web, "payments_idempotency_requests_total", **replayed) == 1

        # and: each process counted its own commits (PostgreSQL counts them
        # only per database): web's submissions and approvals, the relay's
        # claims and marks, each consumer's applies
        assert metric_total(web, "payments_db_commits_total") >= 4
        assert metric_total(relay_samples, "payments_db_commits_total") >= 2
        for name in approvers:
            samples = metric_samples(f"http://127.0.0.1:{workers[name]}/metrics")
            assert metric_total(samples, "payments_db_commits_total") >= 2, name

        # and: a worker reports its lag and held events, and every loop is alive
        ledger = metric_samples(f"http://127.0.0.1:{workers['ledger']}/metrics")
        assert metric_total(ledger, "payments_consumer_dead_lettered_events") == 0
        assert any(name == "payments_consumer_lag_messages" for name, _ in ledger)
        for port in [ports["relay"], *workers.values()]:
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200, health.text
