"""The web app's /metrics: requests by route name and status, idempotent replays,
and gunicorn's worker processes added up in multiprocess mode."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config import gunicorn
from tests.config.settings_process import process_env
from tests.factories import payment_request_body

pytestmark = pytest.mark.django_db

REQUESTS = "payments_http_request_duration_seconds_count"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_requests_are_timed_by_route_name_and_status_never_by_path(
    client_for, alice, acme_eur
):
    # given
    client = client_for(alice)
    created = {"route": "payment-list", "method": "POST", "status": "201"}
    unknown = {"route": "unmatched", "method": "GET", "status": "404"}
    before = value(REQUESTS, **created), value(REQUESTS, **unknown)

    # when: a payment is created, and two unknown paths are asked for
    payment = client.post(
        "/api/v1/payments", payment_request_body(acme_eur), format="json"
    )
    client.get("/api/v1/no-such-thing/1")
    client.get("/api/v1/no-such-thing/2")

    # then
    assert payment.status_code == 201
    assert value(REQUESTS, **created) == before[0] + 1
    assert value(REQUESTS, **unknown) == before[1] + 2
    text = Client().get("/metrics").content.decode()
    assert "no-such-thing" not in text and payment.json()["id"] not in text


def test_a_replayed_post_and_a_mismatched_key_are_counted(client_for, alice, acme_eur):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)
    replayed = value("payments_idempotency_requests_total", outcome="replayed")
    mismatch = value("payments_idempotency_requests_total", outcome="mismatch")
    client.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    # when: the same request again, then another body under the same key
    again = client.post(
        "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    other = client.post(
        "/api/v1/payments",
        {**body, "amount": body["amount"] + 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    # then
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert (
        value("payments_idempotency_requests_total", outcome="replayed") == replayed + 1
    )
    assert (
        value("payments_idempotency_requests_total", outcome="mismatch") == mismatch + 1
    )


def test_metrics_is_served_to_anyone_unless_switched_off(settings):
    # when
    served = Client().get("/metrics")

    # then
    assert served.status_code == 200
    assert served["Content-Type"].startswith("text/plain")
    assert "payments_http_request_duration_seconds" in served.content.decode()

    # when: switched off
    settings.WEB_METRICS = False

    # then
    assert Client().get("/metrics").status_code == 404


_OBSERVE = """
import django
django.setup()
from api.metrics import HTTP_SECONDS
HTTP_SECONDS.labels("healthz", "GET", "200").observe(0.01)
"""


def test_the_processes_of_gunicorn_are_added_up(tmp_path, monkeypatch):
    # given: gunicorn started with a folder left over from an earlier run
    folder = tmp_path / "web-metrics"
    folder.mkdir()
    (folder / "histogram_12345.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    gunicorn.on_starting(server=None)
    assert list(folder.iterdir()) == []

    # when: two worker processes each answer one request
    env = process_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(folder))
    for _ in range(2):
        subprocess.run(  # noqa: S603 - this interpreter, fixed code
            [sys.executable, "-c", _OBSERVE],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
        )

    # then: this process's /metrics serves the sum of both
    samples = scraped(Client().get("/metrics").content.decode())
    labels = frozenset({"route": "healthz", "method": "GET", "status": "200"}.items())
    assert samples[(REQUESTS, labels)] == 2

    # and: a worker's exit is booked without losing its counts
    class Worker:
        pid = 12345

    gunicorn.child_exit(server=None, worker=Worker())
    samples = scraped(Client().get("/metrics").content.decode())
    assert samples[(REQUESTS, labels)] == 2
