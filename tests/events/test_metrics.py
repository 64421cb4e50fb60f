"""The relay's and the consumers' metrics: counters that move with real work, and
scrape-time gauges computed from real rows and a real (filesystem) broker."""

import socket
import time
from contextlib import closing
from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

import events.metrics_server
from events.inbox import consume, failure_record
from events.metrics import RELAY_LEADER, MeteredLeadership
from events.metrics_collectors import ConsumerCollector, OutboxCollector
from events.metrics_server import heartbeat_beat, metrics_app, metrics_serve
from events.models import OutboxMessage
from events.publishers import KombuPublisher
from events.relay import relay_once
from tests.events.conftest import outbox_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(acme, alice):
    """Write one event to the outbox, as a command would."""
    return lambda: outbox_event(organisation=acme, submitted_by=alice)


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def collected(collector) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


class Handlers:
    def __init__(self):
        self.handlers = {
            ("PaymentSubmitted", 1): lambda event: None,
            ("PaymentApproved", 1): lambda event: None,
        }


def test_the_outbox_collector_counts_waiting_rows_and_ages_the_oldest(row):
    # given: four rows; the oldest written 90 s ago, one published, one skipped
    oldest, published, skipped, _waiting = (row() for _ in range(4))
    OutboxMessage.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    OutboxMessage.objects.filter(pk=published.pk).update(published_at=timezone.now())
    OutboxMessage.objects.filter(pk=skipped.pk).update(skipped_at=timezone.now())

    # when
    samples = collected(OutboxCollector())

    # then: the oldest and the waiting one count; its age is the oldest's
    assert samples[("payments_outbox_backlog_rows", ())] == 2
    age = samples[("payments_outbox_oldest_unpublished_age_seconds", ())]
    assert 90 <= age < 120


def test_a_drained_outbox_reads_zero_rows_and_zero_age(row):
    # given
    written = row()
    OutboxMessage.objects.filter(pk=written.pk).update(published_at=timezone.now())

    # when
    samples = collected(OutboxCollector())

    # then
    assert samples[("payments_outbox_backlog_rows", ())] == 0
    assert samples[("payments_outbox_oldest_unpublished_age_seconds", ())] == 0


def test_the_consumer_collector_reads_lag_parked_and_dead_letters(broker, stream, row):
    # given: two events published to every consumer's partition queue
    row()
    row()
    assert relay_once(publisher=KombuPublisher(broker.url)) == 2
    # and: ledger parked an event ahead of a gap and dead-lettered another
    consume(consumer="ledger", envelope=stream(3), handlers=Handlers().handlers)
    failure_record(
        consumer="ledger", envelope=stream(1), error="boom", final=True
    )  # fmt: skip

    # when
    samples = collected(ConsumerCollector("ledger"))

    # then: the lag is what waits in the queues, per partition
    lag = {
        labels: count
        for (name, labels), count in samples.items()
        if name == "payments_consumer_lag_messages"
    }
    assert len(lag) == 4 and sum(lag.values()) == 2
    assert samples[("payments_consumer_parked_events", (("consumer", "ledger"),))] == 1
    dead = ("payments_consumer_dead_lettered_events", (("consumer", "ledger"),))
    assert samples[dead] == 1
    # and: another consumer's held events are not ledger's
    notifications = collected(ConsumerCollector("notifications"))
    assert notifications[
        ("payments_consumer_parked_events", (("consumer", "notifications"),))
    ] == 0  # fmt: skip


def test_consume_counts_applied_and_duplicate_events_when_they_commit(
    stream, django_capture_on_commit_callbacks
):
    # given
    labels = {"consumer": "ledger", "event_type": "PaymentSubmitted"}
    applied = value("payments_consumer_events_total", **labels, outcome="applied")
    skipped = value(
        "payments_consumer_events_total", **labels, outcome="skipped_duplicate"
    )
    latencies = value(
        "payments_consumer_commit_to_apply_seconds_count", consumer="ledger"
    )
    submitted = stream(1)

    # when: applied once, then delivered again
    with django_capture_on_commit_callbacks(execute=True):
        consume(consumer="ledger", envelope=submitted, handlers=Handlers().handlers)
    with django_capture_on_commit_callbacks(execute=True):
        consume(consumer="ledger", envelope=submitted, handlers=Handlers().handlers)

    # then
    assert (
        value("payments_consumer_events_total", **labels, outcome="applied")
        == applied + 1
    )
    assert (
        value("payments_consumer_events_total", **labels, outcome="skipped_duplicate")
        == skipped + 1
    )
    assert (
        value("payments_consumer_commit_to_apply_seconds_count", consumer="ledger")
        == latencies + 1
    )


def test_an_apply_rolled_back_with_its_burst_counts_nothing(
    stream, django_capture_on_commit_callbacks
):
    # given
    labels = {"consumer": "ledger", "event_type": "PaymentSubmitted"}
    before = value("payments_consumer_events_total", **labels, outcome="applied")

    # when: applied inside a transaction that then rolls back, as a burst's fast
    # pass does when a later event of it fails
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        consume(
            consumer="ledger",
            envelope=stream(1),
            handlers=Handlers().handlers,
            savepoint=False,
        )
        raise RuntimeError("a later event of the burst failed")

    # then
    assert callbacks == []
    assert (
        value("payments_consumer_events_total", **labels, outcome="applied") == before
    )


def test_a_relay_cycle_counts_published_rows_and_times_the_confirms(broker, row):
    # given
    published = value("payments_relay_published_events_total")
    batches = value("payments_relay_confirm_seconds_count")
    for _ in range(3):
        row()

    # when
    assert relay_once(publisher=KombuPublisher(broker.url)) == 3

    # then
    assert value("payments_relay_published_events_total") == published + 3
    assert value("payments_relay_confirm_seconds_count") == batches + 1


class FakeLeadership:
    def __init__(self, free: bool):
        self.free = free
        self.holding = False

    def acquire(self) -> bool:
        self.holding = self.holding or self.free
        return self.holding

    def held(self) -> bool:
        return self.holding

    def release(self) -> None:
        self.holding = False

    def wait(self, timeout: float) -> None:
        pass


def test_the_leader_gauge_follows_the_lock():
    # given
    standby = MeteredLeadership(FakeLeadership(free=False))
    leader = MeteredLeadership(FakeLeadership(free=True))

    # when / then: a standby reads 0, the leader 1, until it lets go
    assert standby.acquire() is False
    assert RELAY_LEADER._value.get() == 0
    assert leader.acquire() is True
    assert RELAY_LEADER._value.get() == 1
    leader.wait(0)  # anything else is the wrapped leadership's
    leader.release()
    assert RELAY_LEADER._value.get() == 0


def _call(app, path: str) -> tuple[str, bytes]:
    answer = {}

    def start_response(status, headers):
        answer["status"] = status

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return answer["status"], body


def test_liveness_is_a_503_once_the_loop_stops_ticking(monkeypatch):
    # given: the loop ticked just now
    app = metrics_app(CollectorRegistry())
    heartbeat_beat()
    assert _call(app, "/healthz")[0] == "200 OK"

    # when: the last tick is older than LIVENESS_STALE_SECONDS
    monkeypatch.setenv("LIVENESS_STALE_SECONDS", "5")
    monkeypatch.setattr(events.metrics_server, "_last_beat", time.monotonic() - 6)

    # then
    status, body = _call(app, "/healthz")
    assert status == "503 Service Unavailable"
    assert b'"stale"' in body


def test_a_process_serves_metrics_and_liveness_on_its_port(monkeypatch):
    # given: no port, no server
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert metrics_serve("test-none") is None

    # when: a port is set
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("METRICS_PORT", str(port))
    monkeypatch.setenv("METRICS_HOST", "127.0.0.1")
    heartbeat_beat()
    assert metrics_serve("test-served") == port

    # then: /metrics carries the process's metrics, /healthz its liveness
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "payments_relay_published_events_total" in text
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
    # and: the registry text is what Prometheus parses
    assert generate_latest(REGISTRY)


def test_a_port_already_taken_costs_the_metrics_not_the_process(monkeypatch, caplog):
    # given: another process (a second relay on this host) holds the port
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("METRICS_PORT", str(taken.getsockname()[1]))
        monkeypatch.setenv("METRICS_HOST", "127.0.0.1")

        # when
        served = metrics_serve("test-taken")

    # then: no server, an error that says so, and the caller goes on
    assert served is None
    assert "test-taken cannot serve /metrics" in caplog.text
