"""GET /api/v1/consumers: backlog read from the broker, state read from the database.

The backlog is checked against messages really waiting (files of the filesystem
broker; a RabbitMQ virtual host through passive declares), and a broker that
cannot be reached must leave the page answering with the backlog unknown.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection
from rest_framework.test import APIClient

from events.inbox import consume
from events.models import ConsumerState
from events.topology import topology_declare
from events.worker import consumer_app, dead_letter
from tests.assertions import assert_problem
from tests.events.api.conftest import approved_payment, relay_all
from tests.events.conftest import queue_of
from tests.events_builders import payment_event

pytestmark = pytest.mark.django_db

CONSUMERS = ["ledger", "notifications", "reconciliation"]


@pytest.fixture(autouse=True)
def _three_consumers(settings):
    settings.EVENT_CONSUMERS = CONSUMERS
    settings.EVENT_PARTITIONS = 4


def overview(client) -> dict:
    response = client.get("/api/v1/consumers")
    assert response.status_code == 200, response.content
    return response.json()


def by_name(body: dict) -> dict:
    return {consumer["name"]: consumer for consumer in body["results"]}


def test_backlog_counts_the_messages_waiting_in_each_partition_queue(
    broker, settings, alice, bob, acme_eur, client_for
):
    # given: two events published; ledger took its copies, the others did not
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    broker.drain(queue_of("ledger", approved))
    # when
    body = overview(client_for(alice))
    # then
    assert body["broker_error"] is None
    consumers = by_name(body)
    assert list(consumers) == CONSUMERS
    partition = int(queue_of("ledger", approved).rsplit(".p", 1)[1])
    for name, waiting in (("ledger", 0), ("notifications", 2), ("reconciliation", 2)):
        consumer = consumers[name]
        assert consumer["backlog"] == waiting
        assert [q["name"] for q in consumer["queues"]] == [
            f"{name}.p{n}" for n in range(4)
        ]
        assert [q["backlog"] for q in consumer["queues"]] == [
            waiting if n == partition else 0 for n in range(4)
        ]
        assert consumer["queues"][partition]["partition"] == partition
        assert consumer["dead_letter_queue"] == {
            "name": f"{name}.dead",
            "backlog": 0,
            "note": None,
        }


def test_dead_letters_parked_events_pause_and_heartbeat_are_reported(
    broker, acme, alice, bob, client_for
):
    # given: a dead letter in ledger.dead, a parked event, a paused consumer,
    # one fresh heartbeat and one stale
    submitted = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    approved = payment_event(
        "PaymentApproved",
        organisation=acme,
        submitted_by=alice,
        actor=bob,
        payment_id=submitted.subject,
    )
    dead_letter(consumer_app("ledger", {}), "ledger", submitted.envelope, "boom")
    consume(consumer="notifications", envelope=approved.envelope, handlers={})
    now = timezone.now()
    ConsumerState.objects.create(consumer="ledger", paused=True, heartbeat_at=now)
    ConsumerState.objects.create(
        consumer="notifications", heartbeat_at=now - timedelta(seconds=11)
    )
    # when
    consumers = by_name(overview(client_for(alice)))
    # then
    ledger, notifications, reconciliation = (consumers[n] for n in CONSUMERS)
    assert (ledger["paused"], ledger["running"]) == (True, True)
    assert ledger["dead_letter_queue"]["backlog"] == 1
    assert ledger["dead_lettered"] == 1
    assert ledger["parked"] == 0
    assert (notifications["paused"], notifications["running"]) == (False, False)
    assert notifications["heartbeat_at"] is not None
    assert notifications["parked"] == 1
    assert notifications["dead_lettered"] == 0
    assert reconciliation["running"] is False
    assert reconciliation["heartbeat_at"] is None


def test_any_organisations_user_may_read_it_but_not_outsiders(
    broker, gina, outsider, client_for
):
    assert overview(client_for(gina))["results"]
    assert_problem(client_for(outsider).get("/api/v1/consumers"), 403)
    assert_problem(APIClient().get("/api/v1/consumers"), 401)


def test_an_unreachable_broker_leaves_the_backlog_unknown_not_the_page_broken(
    settings, alice, client_for
):
    # given: nothing listens on port 1
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    ConsumerState.objects.create(consumer="ledger", paused=True)
    # when
    body = overview(client_for(alice))
    # then
    assert body["broker_error"]
    ledger = by_name(body)["ledger"]
    assert ledger["backlog"] is None
    assert {q["backlog"] for q in ledger["queues"]} == {None}
    assert ledger["dead_letter_queue"]["backlog"] is None
    assert ledger["paused"] is True


def test_a_missing_broker_folder_is_reported_too(broker, alice, client_for):
    # given
    for path in (broker.root / "queue").iterdir():
        path.unlink()
    (broker.root / "queue").rmdir()
    # when
    body = overview(client_for(alice))
    # then
    assert "cannot read the broker folder" in body["broker_error"]
    assert by_name(body)["ledger"]["backlog"] is None


def test_on_rabbitmq_backlog_comes_from_passive_declares(
    rabbitmq, settings, alice, bob, acme_eur, client_for
):
    # given: reconciliation's queues were never declared; the others were
    with Connection(rabbitmq) as connection:
        topology_declare(connection.default_channel, ["ledger", "notifications"])
    settings.EVENT_CONSUMERS = ["ledger", "notifications"]
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    settings.EVENT_CONSUMERS = CONSUMERS
    # when
    consumers = by_name(overview(client_for(alice)))
    # then
    assert consumers["ledger"]["backlog"] == 2
    partition = int(queue_of("ledger", approved).rsplit(".p", 1)[1])
    assert consumers["notifications"]["queues"][partition]["backlog"] == 2
    assert consumers["ledger"]["dead_letter_queue"]["backlog"] == 0
    reconciliation = consumers["reconciliation"]
    assert reconciliation["backlog"] == 0
    assert {q["note"] for q in reconciliation["queues"]} == {"not declared"}
    assert reconciliation["dead_letter_queue"]["note"] == "not declared"
