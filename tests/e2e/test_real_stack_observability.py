"""Follow one payment on the real stack: its trace spans every process, and the
pipeline's counters, lag and dead letters are on each process's /metrics.

Launches the application services of docker-compose.yml against the local
PostgreSQL and RabbitMQ with the console span exporter writing every
process's spans to one file (docs/operations.md#follow-one-payment), approves
payments through REST, scrapes web, the relay and every worker as Prometheus
would, then stops the stack (each process flushes its spans) and reads one
approval's trace back.
"""

import pytest
import requests

from events.topology import receivers
from launcher.local import rabbitmq_reachable, stack_down, stack_up
from tests.conftest import service_missing
from tests.e2e.observe import (
    approvals_answered,
    approvals_counted_wait,
    metric_samples,
    metric_total,
    spans_read,
)
from tests.e2e.rest import (
    first_account,
    payment_approve,
    payment_submit,
    token_headers,
)

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

APPROVALS = 3


def _approve(base: str, n: int) -> str:
    alice, bob = token_headers(base, "alice"), token_headers(base, "bob")
    payment = payment_submit(base, alice, first_account(base, alice), 2000 + n)
    assert payment.status_code == 201, payment.text
    payment_id = payment.json()["id"]
    approved = payment_approve(base, {**bob, "X-Request-ID": f"obs-{n}"}, payment_id)
    assert approved.status_code == 200, approved.text
    return payment_id


def test_a_payment_is_one_trace_and_the_pipeline_is_on_metrics(tmp_path):
    if not rabbitmq_reachable():
        service_missing("needs RabbitMQ at 127.0.0.1:5672 for the real-stack test")
    spans_file = tmp_path / "spans.jsonl"
    stack = stack_up(
        tmp_path,
        overrides={
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_CONSOLE_FILE": str(spans_file),
        },
    )
    try:
        urls = stack.metrics_urls
        consumers = receivers(["PaymentApproved"])
        # when: payments are approved through REST
        payments = [_approve(stack.base_url, n) for n in range(APPROVALS)]

        # then: each bound consumer's worker counts them applied
        workers = {name: urls[f"{name}-worker"] for name in consumers}
        approvals_counted_wait(
            workers, outcome="applied", at_least=APPROVALS, timeout=60
        )
        relay = metric_samples(urls["relay"])
        published = metric_total(relay, "payments_relay_published_events_total")
        assert published >= 2 * APPROVALS
        assert metric_total(relay, "payments_relay_leader") == 1
        for name in consumers:
            worker = metric_samples(urls[f"{name}-worker"])
            assert metric_total(worker, "payments_consumer_dead_lettered_events") == 0
            assert any(s == "payments_consumer_lag_messages" for s, _ in worker)
            health = urls[f"{name}-worker"].replace("/metrics", "/healthz")
            assert requests.get(health, timeout=5).status_code == 200
        # and: a redelivered copy of the first approval is skipped as a duplicate
        bob = token_headers(stack.base_url, "bob")
        events = requests.get(
            f"{stack.base_url}/api/v1/payments/{payments[0]}/events",
            headers=bob,
            timeout=10,
        ).json()["results"]
        [approval] = [e["id"] for e in events if e["type"] == "PaymentApproved"]
        redelivered = requests.post(
            f"{stack.base_url}/api/v1/events/{approval}/redeliver",
            headers=bob,
            timeout=10,
        )
        assert redelivered.status_code == 202, redelivered.text
        approvals_counted_wait(
            workers, outcome="skipped_duplicate", at_least=1, timeout=60
        )
        assert approvals_answered(urls["web"]) == APPROVALS
    finally:
        stack_down(stack)  # SIGTERM: each process flushes its spans

    # and: the first approval's trace runs from web through the relay to every
    # consumer bound to it, each apply the relay publish's child; the
    # redelivered copy's spans say skipped_duplicate
    spans = spans_read(spans_file)
    [publish] = [
        s
        for s in spans
        if s["name"] == "relay publish PaymentApproved"
        and s["attributes"]["payments.event.subject"] == payments[0]
    ]
    trace_id = publish["context"]["trace_id"]
    by_id = {s["context"]["span_id"]: s for s in spans}
    assert by_id[publish["parent_id"]]["resource"]["attributes"]["service.name"] == (
        "web"
    )
    copies = [
        s
        for s in spans
        if s["kind"] == "SpanKind.CONSUMER"
        and s["attributes"].get("payments.event.id")
        == publish["attributes"]["payments.event.id"]
    ]
    applies = {
        s["attributes"]["payments.consumer"]: s
        for s in copies
        if s["attributes"]["payments.inbox.outcome"] == "applied"
    }
    duplicates = {
        s["attributes"]["payments.consumer"]
        for s in copies
        if s["attributes"]["payments.inbox.outcome"] == "skipped_duplicate"
    }
    assert set(applies) == set(consumers)
    assert duplicates == set(consumers)  # the redelivered copy, in its own span
    for name, apply in applies.items():
        assert apply["context"]["trace_id"] == trace_id
        assert apply["parent_id"] == publish["context"]["span_id"]
        assert apply["resource"]["attributes"]["service.name"] == f"{name}-worker"
        assert apply["attributes"]["payments.inbox.outcome"] == "applied"
