"""Classic or quorum queues (EVENT_QUEUE_TYPE), and retries that wait in the broker.

On RabbitMQ a consumer's retry waits in its retry queue (a quorum queue, message
TTL) and the broker dead-letters it home to its partition queue: nothing is
held in the worker, and it works on quorum queues, where a Celery countdown
would not (docs/adr/0020-retries-wait-in-the-broker.md). Each test runs in a
private vhost of the local RabbitMQ, on both queue types.
"""

import time

import pytest
from kombu import Connection

from events.models import DeliveryStatus, InboxEntry
from events.queues import taken
from events.topology import (
    dead_letter_queue_name,
    partition_of,
    partition_queue_name,
    retry_queue_name,
    topology_declare,
)
from events.worker import EventConsumer, consumer_app
from launcher.rabbitmqctl import queue_types
from ledger.handlers import HANDLERS as LEDGER_HANDLERS
from tests.events.test_relay_rabbitmq import (  # noqa: F401 - fixtures shared
    rabbitmq,
    rabbitmq_vhost,
)
from tests.events.test_worker_failures import failing_app, run_as_worker

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["classic", "quorum"])
def rabbit(request, rabbitmq, settings) -> str:  # noqa: F811 - the fixture above
    """The private vhost, ledger's queues declared afresh as `param` queues."""
    settings.EVENT_QUEUE_TYPE = request.param
    settings.CONSUMER_RETRY_BACKOFF_SECONDS = 0.2
    settings.CONSUMER_RETRY_BACKOFF_MAX_SECONDS = 0.2
    with Connection(rabbitmq) as connection:
        topology_declare(connection.default_channel, ["ledger"])
    return rabbitmq


def test_the_queue_type_is_what_the_setting_says_and_retries_wait_in_quorum(
    rabbit,
    rabbitmq_vhost,  # noqa: F811 - the fixture imported above
    settings,
):
    types = queue_types(rabbitmq_vhost)
    wanted = settings.EVENT_QUEUE_TYPE
    assert types[partition_queue_name("ledger", 0)] == wanted
    assert types[dead_letter_queue_name("ledger")] == wanted
    # Only quorum queues dead-letter at least once: the retry queue always is one.
    assert types[retry_queue_name("ledger")] == "quorum"


def own_queue(envelope: dict) -> str:
    return partition_queue_name("ledger", partition_of(envelope["partitionkey"]))


def wait_for_messages(queue: str, seconds: float = 10.0) -> list:
    """Take (and ack) what arrives in `queue` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with taken(queue) as messages:
            for message in messages:
                message.message.ack()
        if messages:
            return messages
        time.sleep(0.1)
    return []


def test_a_failed_event_waits_in_the_retry_queue_then_returns_to_its_partition(
    rabbit, submitted
):
    # given: a ledger whose handler fails once
    app = failing_app()

    # when: the worker's first attempt fails
    outcome = run_as_worker(app, submitted)

    # then: the retry is in the retry queue at once, not yet in the partition
    assert outcome == DeliveryStatus.FAILED
    with Connection(rabbit) as connection:
        channel = connection.default_channel
        _, waiting, _ = channel.queue_declare(retry_queue_name("ledger"), passive=True)
    assert waiting == 1
    # and after its wait the broker has moved it home, counted as retry 1
    [back] = wait_for_messages(own_queue(submitted))
    assert back.envelope == submitted
    assert back.message.headers["retries"] == 1
    assert back.message.headers["x-death"][0]["reason"] == "expired"

    # when: the handler works now and the retry is applied
    fixed = consumer_app("ledger", LEDGER_HANDLERS)
    assert run_as_worker(fixed, back.envelope, retries=1) == DeliveryStatus.APPLIED
    assert InboxEntry.objects.get(
        consumer="ledger", event_id=submitted["id"]
    ).status == (DeliveryStatus.APPLIED)


def test_the_last_failed_attempt_is_dead_lettered_not_retried(
    rabbit, submitted, settings
):
    # given: an event on its last allowed attempt
    settings.CONSUMER_MAX_RETRIES = 1

    # when
    outcome = run_as_worker(failing_app(), submitted, retries=1)

    # then: a copy in the dead-letter queue, none in the retry queue
    assert outcome == DeliveryStatus.DEAD_LETTERED
    [dead] = wait_for_messages(dead_letter_queue_name("ledger"))
    assert dead.envelope["id"] == submitted["id"]
    with Connection(rabbit) as connection:
        channel = connection.default_channel
        _, waiting, _ = channel.queue_declare(retry_queue_name("ledger"), passive=True)
    assert waiting == 0


def test_an_operator_can_take_messages_out_of_a_partition_queue(rabbit, submitted):
    # given: two messages waiting in a partition queue with no worker on it
    # (quorum queues with single active consumer refuse basic.get)
    queue = own_queue(submitted)
    with Connection(rabbit) as connection:
        producer = connection.Producer()
        for body in (b'["one"]', b'["two"]'):
            producer.publish(body, exchange="", routing_key=queue)

    # when: the lab's fault controls take them
    with taken(queue) as messages:
        bodies = [m.message.body for m in messages]
        messages[0].message.ack()

    # then: both were taken in order; the one not acked is back in the queue
    assert bodies == [b'["one"]', b'["two"]']
    with taken(queue) as left:
        assert [m.message.body for m in left] == [b'["two"]']


def test_celery_native_delayed_delivery_is_left_out_of_the_worker():
    steps = EventConsumer.Blueprint.default_steps
    assert not [step for step in steps if "delayed_delivery" in step]
    assert "celery.worker.consumer.tasks:Tasks" in steps
