"""Fixtures for the messaging kit: a private filesystem broker and outbox rows.

Each test gets its own broker folders under tmp_path, so the bindings the relay
declares and the messages it writes never meet another test's (or a running
demo's) broker.
"""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction
from kombu import Connection
from kombu.transport import filesystem, virtual

from events.models import OutboxMessage
from events.outbox import publish
from events.topology import partition_of, partition_queue_name
from tests.events_builders import payment_event


@dataclass
class Delivered:
    """One message read back from a queue, as a worker would receive it."""

    headers: dict
    properties: dict
    content_type: str
    body: bytes

    @property
    def task_message(self) -> list:
        return json.loads(self.body)

    @property
    def envelope(self) -> dict:
        args, _kwargs, _embed = self.task_message
        return args[0]


class FilesystemBroker:
    """kombu's filesystem transport rooted in one folder of this test."""

    url = "filesystem://"

    def __init__(self, root: Path):
        self.root = root
        for folder in ("queue", "control", "processed"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self.transport_options = {
            "data_folder_in": str(root / "queue"),
            "data_folder_out": str(root / "queue"),
            "control_folder": str(root / "control"),
            "processed_folder": str(root / "processed"),
            "store_processed": False,
        }

    def connection(self) -> Connection:
        return Connection(self.url, transport_options=self.transport_options)

    def drain(self, queue: str) -> list[Delivered]:
        """Take every message waiting in `queue`, oldest first."""
        return drain(self.connection(), queue)

    def waiting(self) -> dict[str, int]:
        """Count the messages waiting per queue (read from the file names)."""
        counts: dict[str, int] = {}
        for path in (self.root / "queue").iterdir():
            queue = path.name.partition(".")[2].removesuffix(".msg")
            counts[queue] = counts.get(queue, 0) + 1
        return counts


def drain(connection: Connection, queue: str) -> list[Delivered]:
    """Take every message waiting in `queue` with basic.get, oldest first."""
    delivered = []
    with connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            body = message.body
            delivered.append(
                Delivered(
                    headers=dict(message.headers or {}),
                    properties=dict(message.properties or {}),
                    content_type=message.content_type,
                    body=body if isinstance(body, bytes) else body.encode(),
                )
            )
    return delivered


@pytest.fixture
def broker(tmp_path, settings, monkeypatch) -> FilesystemBroker:
    """A private filesystem broker; the relay and consumer apps use it via settings."""
    # The transport remembers declared bindings process-wide and skips writing
    # them again, so a fresh folder would get none: give each test a fresh memory.
    monkeypatch.setattr(filesystem.Transport, "global_state", virtual.BrokerState())
    fs_broker = FilesystemBroker(tmp_path / "broker")
    settings.CELERY_BROKER_URL = fs_broker.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = fs_broker.transport_options
    settings.VAR_DIR = tmp_path  # the relay's file lock lives here
    return fs_broker


@pytest.fixture
def submitted(acme, alice) -> dict:
    """The first event of a payment: nothing parks it, so its handler runs."""
    return payment_event(
        "PaymentSubmitted", organisation=acme, submitted_by=alice
    ).envelope


def outbox_event(event_type: str = "PaymentApproved", **overrides) -> OutboxMessage:
    """Publish one valid payment event to the outbox, committing it with its caller.

    Runs its own atomic block (publish refuses to run outside one); inside a test
    with a transactional db fixture that block is a savepoint.
    """
    return event_to_outbox(payment_event(event_type, **overrides))


def event_to_outbox(event) -> OutboxMessage:
    """Write a built event (tests/events_builders.py) to the outbox, as its
    producer would, with the correlation id its envelope carries."""
    with transaction.atomic():
        return publish(
            event_type=event.type,
            version=event.version,
            source=event.source,
            subject=event.subject,
            partition_key=event.partition_key,
            sequence=event.sequence,
            data=event.data,
            correlation_id=event.envelope.get("correlationid") or event.subject,
        )


def queue_of(consumer: str, row: OutboxMessage) -> str:
    """The partition queue of `consumer` that must receive this outbox row."""
    return partition_queue_name(consumer, partition_of(row.partition_key))


@pytest.fixture
def stream(acme, alice, bob):
    """Build envelopes of one payment's events: 1 is the submission, later ones
    approvals (only the sequence matters to the inbox), each with a new id; a
    `reference` may mark one for a handler to refuse."""
    payment_id = uuid.uuid4()

    def make(sequence: int, reference: str = "INV-1") -> dict:
        return payment_event(
            "PaymentSubmitted" if sequence == 1 else "PaymentApproved",
            organisation=acme,
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
            sequence=sequence,
            reference=reference,
        ).envelope

    make.subject = str(payment_id)
    return make
