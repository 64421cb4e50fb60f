"""The relay against a real RabbitMQ: confirms, mandatory returns, a broker away.

Queue and exchange names are fixed by events/topology.py, so these tests run in
a private virtual host of the local RabbitMQ, created for the session and
deleted at its end; nothing touches the default vhost others use.
"""

import json
import subprocess
import uuid
from datetime import timedelta

import amqp
import pytest
from django.core.management import call_command
from django.utils import timezone
from kombu import Connection

from events.consumers import default_consumer_names
from events.models import OutboxMessage
from events.publishers import AmqpPublisher, BrokerUnavailable, Outgoing
from events.relay import RelayPipeline, outgoing, relay_once
from events.topology import (
    EXCHANGE,
    consumer_queues,
    partition_of,
    partition_queue_name,
    retry_queue,
    routing_key,
    topology_declare,
)
from launcher.rabbitmqctl import (
    rabbitmqctl,
    rabbitmqctl_available,
    vhost_create,
    vhost_delete,
)
from tests.conftest import service_missing
from tests.events.conftest import drain, outbox_event, queue_of

pytestmark = pytest.mark.django_db

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"
CLOSED_PORT = "amqp://guest:guest@127.0.0.1:1//"
CONSUMERS = ["ledger", "notifications", "reconciliation"]


@pytest.fixture(scope="session")
def rabbitmq_vhost():
    """A private vhost of the local RabbitMQ; skip (or fail in CI) without one."""
    try:
        with Connection(f"{RABBITMQ}//", connect_timeout=3) as probe:
            probe.connect()
    except Exception as exc:
        service_missing(f"needs RabbitMQ at {RABBITMQ}// ({exc})")
    if not rabbitmqctl_available():
        service_missing("needs rabbitmqctl to create a private RabbitMQ vhost")
    vhost = f"test_{uuid.uuid4().hex[:12]}"
    try:
        vhost_create(vhost)
    except subprocess.CalledProcessError as exc:
        service_missing(f"rabbitmqctl cannot create a vhost: {exc.stderr.strip()}")
    yield vhost
    vhost_delete(vhost)


@pytest.fixture
def rabbitmq(rabbitmq_vhost, settings) -> str:
    """The private vhost's URL, with no queues left from an earlier test."""
    url = f"{RABBITMQ}/{rabbitmq_vhost}"
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    with Connection(url) as connection:
        channel = connection.default_channel
        for consumer in {*default_consumer_names(), *CONSUMERS, "audit"}:
            for queue in [*consumer_queues(consumer), retry_queue(consumer)]:
                channel.queue_delete(queue.name)
    return url


@pytest.fixture
def publisher(rabbitmq):
    amqp_publisher = AmqpPublisher(rabbitmq)
    yield amqp_publisher
    amqp_publisher.close()


def test_a_confirmed_batch_is_in_every_consumers_partition_queue_and_marked(
    rabbitmq, publisher, acme, alice
):
    # given: events of one debtor account (one partition) and of another
    account = uuid.uuid4()
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for _ in range(3)
    ]
    rows.append(outbox_event(organisation=acme, submitted_by=alice))

    # when
    published = relay_once(publisher=publisher)

    # then: each consumer's queue holds each event once, in order per partition
    assert published == 4
    for consumer in CONSUMERS:
        received: dict[str, list[str]] = {}
        for row in rows:
            queue = queue_of(consumer, row)
            if queue not in received:
                received[queue] = [
                    m.envelope["id"] for m in drain(Connection(rabbitmq), queue)
                ]
        expected: dict[str, list[str]] = {}
        for row in rows:
            expected.setdefault(queue_of(consumer, row), []).append(str(row.event_id))
        assert received == expected
    for row in OutboxMessage.objects.all():
        assert row.published_at is not None
        assert row.claim_token is None


def test_messages_are_persistent_json_celery_tasks(rabbitmq, publisher, acme, alice):
    # given
    row = outbox_event(organisation=acme, submitted_by=alice)

    # when
    relay_once(publisher=publisher)

    # then
    [message] = drain(Connection(rabbitmq), queue_of("ledger", row))
    assert message.content_type == "application/json"
    assert message.properties["delivery_mode"] == 2
    assert message.properties["message_id"] == str(row.event_id)
    assert message.headers["task"] == "payments.events"
    assert message.envelope == row.envelope


def test_the_queues_are_durable_single_active_consumer_partitions(
    rabbitmq, rabbitmq_vhost, publisher, settings
):
    # when: the relay connects, it declares the whole topology
    publisher.connect()

    # then
    listed = rabbitmqctl(
        "list_queues", "-p", rabbitmq_vhost, "name", "durable", "arguments"
    ).stdout
    queues = {line.split("\t")[0]: line for line in listed.splitlines() if line}
    for consumer in CONSUMERS:
        for n in range(settings.EVENT_PARTITIONS):
            line = queues[f"{consumer}.p{n}"]
            assert "\ttrue\t" in line
            assert "x-single-active-consumer" in line
        assert f"{consumer}.dead" in queues


def test_an_unroutable_message_is_an_error_not_a_success(publisher, acme, alice):
    # given: one message for a bound partition, one for a partition nobody binds
    row = outbox_event(organisation=acme, submitted_by=alice)
    routable = outgoing(row)
    unroutable = Outgoing(
        row_id=row.id + 1,
        exchange=EXCHANGE.name,
        routing_key=routing_key("PaymentApproved", 99),
        headers=routable.headers,
        properties={**routable.properties, "message_id": str(uuid.uuid4())},
        body=routable.body,
    )

    # when
    results = publisher.publish_batch([routable, unroutable])

    # then
    assert results[0] is None
    assert results[1] is not None
    assert "unroutable" in results[1]


def test_with_no_consumer_bound_the_relay_keeps_the_row(
    rabbitmq, settings, acme, alice
):
    # given: a broker where no queue is bound to the stream yet
    settings.EVENT_CONSUMERS = []
    row = outbox_event(organisation=acme, submitted_by=alice)
    publisher = AmqpPublisher(rabbitmq)

    # when
    try:
        published = relay_once(publisher=publisher)
    finally:
        publisher.close()

    # then: confirmed by the broker, yet not marked, because it was returned
    assert published == 0
    row.refresh_from_db()
    assert row.published_at is None
    assert row.claim_token is None
    assert "unroutable" in row.last_error


def test_broker_unreachable_raises_and_leaves_the_rows_pending(acme, alice):
    # given
    rows = [outbox_event(organisation=acme, submitted_by=alice) for _ in range(2)]
    publisher = AmqpPublisher(CLOSED_PORT)

    # when
    with pytest.raises(BrokerUnavailable):
        relay_once(publisher=publisher)

    # then
    for row in OutboxMessage.objects.filter(id__in=[r.id for r in rows]):
        assert row.published_at is None
        assert row.claim_token is None
        assert row.last_error != ""


def test_a_connection_the_broker_closed_costs_a_retry_not_an_event(
    rabbitmq, rabbitmq_vhost, publisher, acme, alice
):
    # given: a relay that has published once, whose connection the broker closes
    account = uuid.uuid4()
    first = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=account
    )
    assert relay_once(publisher=publisher) == 1
    rabbitmqctl("close_all_connections", "-p", rabbitmq_vhost, "test: broker restart")
    second = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=account
    )

    # when: the next cycle finds the connection gone, the one after reconnects
    with pytest.raises(BrokerUnavailable):
        relay_once(publisher=publisher)
    second.refresh_from_db()
    assert second.published_at is None
    published = relay_once(publisher=publisher)

    # then
    assert published == 1
    second.refresh_from_db()
    assert second.published_at is not None
    ids = [
        m.envelope["id"] for m in drain(Connection(rabbitmq), queue_of("ledger", first))
    ]
    assert ids[0] == str(first.event_id)
    assert ids[-1] == str(second.event_id)


def test_a_row_the_broker_keeps_nacking_backs_off_fails_and_holds_its_partition(
    rabbitmq, rabbitmq_vhost, publisher, settings, acme, alice
):
    # given: the ledger queue of one partition rejects every publish (full, with
    # overflow reject-publish), so the broker nacks its events
    settings.RELAY_MAX_ATTEMPTS = 2
    publisher.connect()
    stuck = uuid.uuid4()
    flowing = next(
        account
        for account in iter(uuid.uuid4, None)
        if partition_of(str(account)) != partition_of(str(stuck))
    )
    full = partition_queue_name("ledger", partition_of(str(stuck)))
    rabbitmqctl(
        "set_policy", "-p", rabbitmq_vhost, "--apply-to", "queues", "full",
        f"^{full}$", json.dumps({"max-length": 0, "overflow": "reject-publish"}),
    )  # fmt: skip
    first, second = (
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=stuck)
        for _ in range(2)
    )
    other = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=flowing
    )

    def wait_over():
        OutboxMessage.objects.filter(next_attempt_at__isnull=False).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )

    # when: nacked, then nacked again after its wait
    assert relay_once(publisher=publisher) == 1  # the other partition's event
    first.refresh_from_db()
    assert (first.refusals, first.failed_at) == (1, None)
    assert first.last_error == "nacked by the broker"
    assert first.next_attempt_at > timezone.now()
    wait_over()
    assert relay_once(publisher=publisher) == 0

    # then: its attempts are used up; it failed, and the next event of its
    # partition waits behind it instead of overtaking it
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.refusals == 2 and first.failed_at is not None
    assert second.held_behind == first.id and second.published_at is None
    other.refresh_from_db()
    assert other.published_at is not None

    # when: the queue accepts messages again and an operator retries the row
    rabbitmqctl("clear_policy", "-p", rabbitmq_vhost, "full")
    call_command("outbox_failed", "retry", str(first.id))
    published = relay_once(publisher=publisher)

    # then: both go out, in order
    assert published == 2
    ids = [m.envelope["id"] for m in drain(Connection(rabbitmq), full)]
    assert ids == [str(first.event_id), str(second.event_id)]


def test_declaring_the_topology_drops_the_old_catch_all_binding(rabbitmq):
    # given: a ledger queue as declared before bindings per stream: bound to
    # every type of its partition
    with Connection(rabbitmq) as connection:
        channel = connection.default_channel
        queue = partition_queue_name("ledger", 0)
        [declared] = [q for q in consumer_queues("ledger") if q.name == queue]
        declared(channel).declare()
        channel.queue_bind(
            queue=queue, exchange=EXCHANGE.name, routing_key=routing_key("*", 0)
        )

        # when: the relay (or the worker) declares the topology of today
        topology_declare(channel, ["ledger"])
        for event_type in ("PaymentReleased", "PaymentApproved"):
            channel.basic_publish(
                amqp.Message(
                    json.dumps({"type": event_type}), content_type="application/json"
                ),
                exchange=EXCHANGE.name,
                routing_key=routing_key(event_type, 0),
            )

        # then: the release, of a stream the ledger does not read, is not routed
        # to it; the approval is
        delivered = [json.loads(m.body)["type"] for m in drain(connection, queue)]
    assert delivered == ["PaymentApproved"]


def test_the_pipeline_drains_a_backlog_once_and_in_order_through_rabbitmq(
    rabbitmq, publisher, acme, alice
):
    # given: a backlog of 23 events of three accounts, relayed in batches of 5,
    # so each batch is sent while the next is claimed
    accounts = [uuid.uuid4() for _ in range(3)]
    rows = [
        outbox_event(
            organisation=acme, submitted_by=alice, debtor_account_id=accounts[n % 3]
        )
        for n in range(23)
    ]
    pipeline = RelayPipeline(publisher=publisher, batch_size=5)

    # when
    cycles = []
    while not cycles or cycles[-1].claimed:
        cycles.append(pipeline.step())

    # then: every event is marked, each claimed once, each batch confirmed
    assert sum(c.published for c in cycles) == 23
    assert [c.claimed for c in cycles] == [5, 5, 5, 5, 3, 0]
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    # and: each consumer's queues hold each event once, in outbox order
    for consumer in CONSUMERS:
        expected: dict[str, list[str]] = {}
        for row in rows:
            expected.setdefault(queue_of(consumer, row), []).append(str(row.event_id))
        received = {
            queue: [m.envelope["id"] for m in drain(Connection(rabbitmq), queue)]
            for queue in expected
        }
        assert received == expected
