"""GET /api/v1/consumers: backlog read from the broker, state read from the database.

An operator's (global) backlog is checked against messages really waiting
(files of the filesystem broker; a RabbitMQ virtual host through passive
declares), and a broker that cannot be reached must leave the page answering
with the backlog unknown. A member sees only their organisation's counts, and
the broker is asked at most once per cache interval, whoever polls.
"""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from kombu import Connection
from rest_framework.test import APIClient

from events import monitoring
from events.inbox import consume
from events.models import ConsumerState, RelayState
from events.topology import topology_declare
from events.worker import consumer_app, dead_letter, retry_in_broker
from tests.assertions import assert_problem
from tests.events.api.conftest import approved_payment, relay_all
from tests.events.conftest import outbox_event, queue_of
from tests.events_builders import payment_event
from tests.factories import payment_submitted

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
    broker, settings, alice, bob, staff, acme_eur, client_for
):
    # given: two events published; ledger took its copies, the others did not
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    broker.drain(queue_of("ledger", approved))
    # when
    body = overview(client_for(staff))
    # then
    assert body["scope"] == "global"
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
    broker, acme, alice, bob, staff, client_for
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
    consumers = by_name(overview(client_for(staff)))
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
    settings, staff, client_for
):
    # given: nothing listens on port 1
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    ConsumerState.objects.create(consumer="ledger", paused=True)
    # when
    body = overview(client_for(staff))
    # then
    assert body["broker_error"]
    ledger = by_name(body)["ledger"]
    assert ledger["backlog"] is None
    assert {q["backlog"] for q in ledger["queues"]} == {None}
    assert ledger["dead_letter_queue"]["backlog"] is None
    assert ledger["paused"] is True


def test_a_missing_broker_folder_is_reported_too(broker, staff, client_for):
    # given
    for path in (broker.root / "queue").iterdir():
        path.unlink()
    (broker.root / "queue").rmdir()
    # when
    body = overview(client_for(staff))
    # then
    assert "cannot read the broker folder" in body["broker_error"]
    assert by_name(body)["ledger"]["backlog"] is None


def test_on_rabbitmq_backlog_comes_from_passive_declares(
    rabbitmq, settings, alice, bob, staff, acme_eur, client_for
):
    # given: reconciliation's queues were never declared; the others were
    with Connection(rabbitmq) as connection:
        topology_declare(connection.default_channel, ["ledger", "notifications"])
    settings.EVENT_CONSUMERS = ["ledger", "notifications"]
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    settings.EVENT_CONSUMERS = CONSUMERS
    # when
    consumers = by_name(overview(client_for(staff)))
    # then
    assert consumers["ledger"]["backlog"] == 2
    partition = int(queue_of("ledger", approved).rsplit(".p", 1)[1])
    assert consumers["notifications"]["queues"][partition]["backlog"] == 2
    assert consumers["ledger"]["dead_letter_queue"]["backlog"] == 0
    reconciliation = consumers["reconciliation"]
    assert reconciliation["backlog"] == 0
    assert {q["note"] for q in reconciliation["queues"]} == {"not declared"}
    assert reconciliation["dead_letter_queue"]["note"] == "not declared"
    assert consumers["ledger"]["retry_queue"] == {
        "name": "ledger.retry",
        "backlog": 0,
        "note": None,
    }


def test_on_rabbitmq_a_retry_waiting_in_the_broker_is_counted(
    rabbitmq, settings, alice, staff, acme_eur, client_for
):
    # given: one of ledger's events failed and waits out its backoff
    settings.CONSUMER_RETRY_BACKOFF_SECONDS = 60
    settings.CONSUMER_RETRY_BACKOFF_MAX_SECONDS = 60
    with Connection(rabbitmq) as connection:
        topology_declare(connection.default_channel, CONSUMERS)
    envelope = payment_event(
        "PaymentSubmitted", organisation=acme_eur.organisation, submitted_by=alice
    ).envelope
    retry_in_broker(consumer_app("ledger", {}), "ledger", envelope, retries=0)

    # when
    ledger = by_name(overview(client_for(staff)))["ledger"]

    # then: it is in the retry queue, not in the partition queues
    assert ledger["retry_queue"]["backlog"] == 1
    assert ledger["backlog"] == 0


def test_on_the_embedded_broker_there_is_no_retry_queue(broker, staff, client_for):
    # retries wait in the worker there (a Celery countdown)
    consumers = by_name(overview(client_for(staff)))
    assert {c["retry_queue"] for c in consumers.values()} == {None}


# --- who sees what --------------------------------------------------------------


@pytest.fixture
def broker_reads(monkeypatch) -> list[list[str]]:
    """Record every time a view asks for the broker's queue depths."""
    reads = []
    real = monitoring.queue_depths

    def counting(names):
        reads.append(names)
        return real(names)

    monkeypatch.setattr(monitoring, "queue_depths", counting)
    return reads


@pytest.fixture
def connections_opened(monkeypatch) -> list[str]:
    """Count the broker connections the overview opens (kombu's Connection)."""
    opened = []
    real = monitoring.Connection

    def counting(url, *args, **kwargs):
        opened.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(monitoring, "Connection", counting)
    return opened


def test_a_member_sees_only_their_organisations_counts_and_no_shared_queue(
    broker,
    settings,
    acme,
    globex,
    alice,
    bob,
    gina,
    staff,
    acme_eur,
    globex_eur,
    client_for,
    broker_reads,
):
    # given: at ledger, one dead letter of acme's, and of globex's one dead
    # letter and one parked event; two acme events and one globex event
    # published and not yet taken by any consumer
    ledger = consumer_app("ledger", {})
    ours = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    dead_letter(ledger, "ledger", ours.envelope, "RuntimeError: ours")
    theirs = payment_event("PaymentSubmitted", organisation=globex, submitted_by=gina)
    dead_letter(ledger, "ledger", theirs.envelope, "RuntimeError: theirs")
    ahead = payment_event(
        "PaymentApproved",
        organisation=globex,
        submitted_by=gina,
        payment_id=uuid.uuid4(),
    )
    consume(consumer="ledger", envelope=ahead.envelope, handlers={})
    _, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    payment_submitted(by=gina, account=globex_eur)
    relay_all(settings)
    broker_reads.clear()

    # when: alice, a member of acme, looks
    body = overview(client_for(alice))

    # then: acme's counts only, from the database, and nothing of the broker's
    assert body["scope"] == "organisation"
    assert body["broker_error"] is None
    assert broker_reads == []
    mine = by_name(body)
    assert (mine["ledger"]["dead_lettered"], mine["ledger"]["parked"]) == (1, 0)
    assert {n: mine[n]["backlog"] for n in CONSUMERS} == dict.fromkeys(CONSUMERS, 2)
    for consumer in mine.values():
        assert consumer["queues"] == []
        assert consumer["dead_letter_queue"]["backlog"] is None
        assert "operators" in consumer["dead_letter_queue"]["note"]

    # when: staff look
    every = by_name(overview(client_for(staff)))

    # then: every organisation's, the broker's depths included
    assert (every["ledger"]["dead_lettered"], every["ledger"]["parked"]) == (2, 1)
    assert every["ledger"]["backlog"] == 3
    assert every["ledger"]["dead_letter_queue"]["backlog"] == 2

    # when: ledger applies acme's two events, and alice polls again later
    for row in (submitted, approved):
        consume(consumer="ledger", envelope=row.envelope, handlers={})
    cache.clear()  # the cache interval has passed
    mine = by_name(overview(client_for(alice)))

    # then: ledger has reached them; the others have not
    assert mine["ledger"]["backlog"] == 0
    assert mine["notifications"]["backlog"] == 2


def test_the_consumers_page_shows_a_member_their_organisations_numbers_only(
    broker, demo, settings, acme, globex, alice, gina, broker_reads
):
    # given: a dead letter of globex's at ledger
    theirs = payment_event("PaymentSubmitted", organisation=globex, submitted_by=gina)
    dead_letter(consumer_app("ledger", {}), "ledger", theirs.envelope, "boom")
    broker_reads.clear()
    browser = Client()
    browser.force_login(alice)

    # when
    page = browser.get("/consumers").content.decode()

    # then
    assert 'data-scope="organisation"' in page
    assert 'data-queue="ledger.dead"' not in page
    assert 'data-queue="ledger.p0"' not in page
    assert 'data-field="dead_lettered">0<' in page
    assert 'data-trouble="ledger:dead_lettered"' not in page
    assert broker_reads == []


def test_the_relay_state_shows_a_member_their_own_waiting_events_and_no_leader(
    acme, globex, alice, gina, staff, client_for
):
    # given: a relay leader, two acme events and one globex event waiting
    RelayState.objects.create(leader="relay-host:4242", heartbeat_at=timezone.now())
    outbox_event(organisation=acme, submitted_by=alice)
    outbox_event(organisation=acme, submitted_by=alice)
    outbox_event(organisation=globex, submitted_by=gina)

    # when
    mine = client_for(alice).get("/api/v1/relay").json()
    every = client_for(staff).get("/api/v1/relay").json()

    # then
    assert mine["scope"] == "organisation"
    assert mine["pending"] == 2
    assert mine["running"] is True
    assert "leader" not in mine
    assert "relay-host:4242" not in str(mine)
    assert every["scope"] == "global"
    assert every["pending"] == 3
    assert every["leader"] == "relay-host:4242"


# --- one broker connection per interval -------------------------------------------


def test_two_polls_within_the_interval_open_one_broker_connection(
    rabbitmq, staff, client_for, connections_opened
):
    # given
    client = client_for(staff)

    # when
    first = overview(client)
    second = overview(client)

    # then
    assert connections_opened == [rabbitmq]
    assert first["results"] == second["results"]
    assert first["broker_error"] is None


def test_an_unreachable_broker_is_asked_once_per_interval_not_once_per_poll(
    settings, staff, client_for, connections_opened
):
    # given: nothing listens on port 1
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    # when
    answers = [overview(client_for(staff)) for _ in range(3)]

    # then
    assert len(connections_opened) == 1
    assert all(answer["broker_error"] for answer in answers)


def test_while_one_poll_reads_the_broker_the_others_get_the_last_depths():
    # given: depths read once, then expired; another poll is reading them now
    reads = []

    def read(value):
        reads.append(value)
        return value

    assert monitoring.cached("events:test-depths", lambda: read("first")) == "first"
    cache.delete("events:test-depths")
    cache.add("events:test-depths:computing", True)

    # when
    answer = monitoring.cached("events:test-depths", lambda: read("second"))

    # then: the last depths, without a second read
    assert answer == "first"
    assert reads == ["first"]
