"""One approval is one trace: web, the relay and every consumer, as real processes.

Runs `manage.py demo` (SQLite and the filesystem broker) with the console
exporter writing every process's spans to one file, approves a payment through
REST, stops the demo (each process flushes its spans as it exits), then reads
the trace back.
"""

import time

import pytest

from tests.demo_process import demo_running
from tests.e2e.observe import spans_read
from tests.e2e.rest import (
    first_account,
    payment_approve,
    payment_submit,
    token_headers,
)

pytestmark = pytest.mark.e2e

RECEIVERS = {"ledger", "notifications", "reconciliation", "settlement", "bank_gateway"}


def _approve_and_wait(base: str) -> dict:
    alice, bob = token_headers(base, "alice"), token_headers(base, "bob")
    payment = payment_submit(base, alice, first_account(base, alice), 4200).json()
    approved = payment_approve(
        base, {**bob, "X-Request-ID": "e2e-trace-1"}, payment["id"]
    )
    assert approved.status_code == 200, approved.text
    assert approved.headers["X-Request-ID"] == "e2e-trace-1"
    return payment


def test_one_approval_is_one_trace_across_web_the_relay_and_every_consumer(
    tmp_path, monkeypatch
):
    spans_file = tmp_path / "spans.jsonl"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_CONSOLE_FILE", str(spans_file))
    var_dir = tmp_path / "var"
    var_dir.mkdir()

    # given: the demo, traced; when: a payment approved through REST
    with demo_running(var_dir) as demo:
        payment = _approve_and_wait(demo.base)
        # every receiver applied it (each exports its apply span as it ends)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if (
                spans_file.exists()
                and {
                    s["attributes"].get("payments.consumer")
                    for s in spans_read(spans_file)
                    if s["name"].endswith("apply PaymentApproved")
                }
                >= RECEIVERS
            ):
                break
            time.sleep(0.5)
    # then (after a clean stop: every process flushed its spans)
    spans = spans_read(spans_file)
    relay = [s for s in spans if s["name"] == "relay publish PaymentApproved"]
    relay = [
        s for s in relay if s["attributes"]["payments.event.subject"] == payment["id"]
    ]
    assert len(relay) == 1, demo.log.read_text()[-3000:]
    [relay] = relay
    trace_id = relay["context"]["trace_id"]
    by_id = {s["context"]["span_id"]: s for s in spans}

    # the relay's parent is web's request span, in the same trace
    web = by_id[relay["parent_id"]]
    assert web["resource"]["attributes"]["service.name"] == "web"
    assert web["kind"] == "SpanKind.SERVER"
    assert web["context"]["trace_id"] == trace_id
    assert relay["resource"]["attributes"]["service.name"] == "relay"
    assert relay["kind"] == "SpanKind.PRODUCER"

    # every consumer's apply is the relay span's child, with its outcome
    applies = [
        s
        for s in spans
        if s["kind"] == "SpanKind.CONSUMER"
        and s["attributes"].get("payments.event.id")
        == relay["attributes"]["payments.event.id"]
    ]
    consumers = {s["attributes"]["payments.consumer"] for s in applies}
    assert consumers >= RECEIVERS, consumers
    for apply in applies:
        consumer = apply["attributes"]["payments.consumer"]
        assert apply["context"]["trace_id"] == trace_id
        assert apply["parent_id"] == relay["context"]["span_id"]
        assert apply["name"] == f"{consumer} apply PaymentApproved"
        assert apply["resource"]["attributes"]["service.name"] == (f"{consumer}-worker")
        assert apply["attributes"]["payments.inbox.outcome"] == "applied"
