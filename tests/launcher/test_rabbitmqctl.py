"""One rabbitmqctl wrapper (launcher/rabbitmqctl.py) for tests, e2e stacks and bench."""

import re
import uuid
from pathlib import Path

from kombu import Connection

from launcher.rabbitmqctl import (
    queue_types,
    rabbitmqctl,
    rabbitmqctl_available,
    vhost_create,
    vhost_delete,
)
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]


def test_a_private_vhost_is_created_usable_by_guest_and_deleted():
    # given
    if not rabbitmqctl_available():
        service_missing("needs rabbitmqctl to create a private RabbitMQ vhost")
    name = f"test_{uuid.uuid4().hex[:12]}"
    # when
    vhost_create(name)
    try:
        # then: listed, and the guest user may declare and use queues in it
        assert name in rabbitmqctl("list_vhosts").stdout.split()
        with Connection(f"amqp://guest:guest@127.0.0.1:5672/{name}") as conn:
            queue = conn.SimpleQueue("probe")
            queue.put({"hello": 1})
            assert queue.get(timeout=5).payload == {"hello": 1}
            queue.close()
    finally:
        vhost_delete(name)
    assert name not in rabbitmqctl("list_vhosts").stdout.split()


def test_deleting_a_vhost_that_is_gone_is_harmless():
    if not rabbitmqctl_available():
        service_missing("needs rabbitmqctl")
    vhost_delete(f"test_never_{uuid.uuid4().hex[:8]}")


def test_a_failed_command_says_why_or_hands_back_its_code():
    if not rabbitmqctl_available():
        service_missing("needs rabbitmqctl")
    assert rabbitmqctl("no_such_command", check=False).returncode != 0


def test_nothing_else_runs_rabbitmqctl_itself():
    # A second wrapper would drift (quiet flag, timeout, errors): one module runs it.
    runs = re.compile(r"""\[\s*["']rabbitmqctl["']""")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("bench", "launcher", "tests", "events", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if runs.search(path.read_text())
    ]
    assert found == ["launcher/rabbitmqctl.py"]


def test_queue_types_lists_each_queue_of_the_vhost_by_type():
    # given: a private vhost with one quorum queue
    if not rabbitmqctl_available():
        service_missing("needs rabbitmqctl to create a private RabbitMQ vhost")
    name = f"test_types_{uuid.uuid4().hex[:8]}"
    vhost_create(name)
    try:
        with Connection(f"amqp://guest:guest@127.0.0.1:5672/{name}") as connection:
            connection.default_channel.queue_declare(
                "q.quorum", durable=True, auto_delete=False,
                arguments={"x-queue-type": "quorum"},
            )  # fmt: skip

        # when / then: its type, and no line of column headers
        assert queue_types(name) == {"q.quorum": "quorum"}
    finally:
        vhost_delete(name)
