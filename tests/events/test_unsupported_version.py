"""A version of a consumed type the consumer cannot read is never applied.

It is dead-lettered with the reason `unsupported-version`, visible on
/consumers, and redriven once the consumer has learned the version. A type the
consumer does not consume still only advances its position. The version from
the future is a real schema in a private copy of contracts/schemas, so the
event passes its contract and only the consumer's reading of it is at stake.
"""

import json
import shutil

import pytest

import contracts.registry
from events.consumers import consumer_get
from events.inbox import UnsupportedVersion, consume
from events.models import ConsumerPosition, DeliveryStatus, InboxEntry
from events.topology import dead_letter_queue_name
from events.worker_main import worker_app
from ledger.models import JournalEntry
from tests.events.test_worker_failures import run_as_worker
from tests.events_builders import payment_event

pytestmark = pytest.mark.django_db

FUTURE = 9


@pytest.fixture
def future_schema(tmp_path, monkeypatch):
    """contracts/schemas plus a PaymentApproved v9 (v2's shape under a new number)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(contracts.registry.SCHEMA_DIR, schemas)
    shape = json.loads((schemas / "PaymentApproved.v2.json").read_text())
    shape["$id"] = f"/contracts/PaymentApproved/v{FUTURE}"
    (schemas / f"PaymentApproved.v{FUTURE}.json").write_text(json.dumps(shape))
    monkeypatch.setattr(contracts.registry, "SCHEMA_DIR", schemas)
    contracts.registry.validators_forget()
    yield
    contracts.registry.validators_forget()


def approved(acme, alice, bob, version: int) -> dict:
    envelope = payment_event(
        "PaymentApproved",
        organisation=acme,
        submitted_by=alice,
        actor=bob,
        sequence=1,
        version=2,
    ).envelope
    envelope["dataschema"] = f"/contracts/PaymentApproved/v{version}"
    return envelope


def position(consumer: str, subject: str) -> int:
    row = ConsumerPosition.objects.filter(consumer=consumer, subject=subject).first()
    return row.last_sequence if row else 0


def test_a_newer_version_of_a_consumed_type_is_refused_not_marked_applied(
    future_schema, acme, alice, bob
):
    # given: the ledger reads PaymentApproved, but not v9
    ledger = consumer_get("ledger")
    envelope = approved(acme, alice, bob, FUTURE)

    # when / then
    with pytest.raises(UnsupportedVersion, match="unsupported-version"):
        consume(
            consumer="ledger",
            envelope=envelope,
            handlers=ledger.handlers,
            consumes=ledger.consumed_types,
        )
    assert not InboxEntry.objects.filter(event_id=envelope["id"]).exists()
    assert position("ledger", envelope["subject"]) == 0
    assert not JournalEntry.objects.exists()


def test_the_consumed_types_default_to_those_of_the_handlers(
    future_schema, acme, alice, bob
):
    envelope = approved(acme, alice, bob, FUTURE)

    with pytest.raises(UnsupportedVersion):
        consume(
            consumer="ledger",
            envelope=envelope,
            handlers={("PaymentApproved", 1): lambda event: None},
        )

    assert position("ledger", envelope["subject"]) == 0


def test_any_version_of_a_type_not_consumed_advances_the_position(
    future_schema, acme, alice, bob
):
    # given: a consumer of submissions only
    envelope = approved(acme, alice, bob, FUTURE)

    # when
    outcome = consume(
        consumer="audit",
        envelope=envelope,
        handlers={},
        consumes={"PaymentSubmitted"},
    )

    # then: as today, not its business, the position moves on
    assert outcome == DeliveryStatus.APPLIED
    assert position("audit", envelope["subject"]) == 1


def test_the_worker_dead_letters_an_unreadable_version_and_a_redrive_applies_it(
    broker, future_schema, acme, alice, bob
):
    # given: the ledger's worker app, built from its declaration
    app = worker_app(consumer_get("ledger"))
    envelope = approved(acme, alice, bob, FUTURE)

    # when
    outcome = run_as_worker(app, envelope)

    # then: at once in the dead-letter queue with its reason, nothing applied
    assert outcome == DeliveryStatus.DEAD_LETTERED
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope["id"] == envelope["id"]
    assert dead.headers["x-error"].startswith("unsupported-version: ")
    entry = InboxEntry.objects.get(consumer="ledger", event_id=envelope["id"])
    assert entry.status == DeliveryStatus.DEAD_LETTERED
    assert entry.error.startswith("unsupported-version: ")
    assert position("ledger", envelope["subject"]) == 0
    assert not JournalEntry.objects.exists()

    # when: the ledger learns v9 (here: v2's handler) and the event is redriven
    ledger = consumer_get("ledger")
    handler = ledger.handlers[("PaymentApproved", 2)]
    upgraded = {("PaymentApproved", FUTURE): handler}
    assert consume(consumer="ledger", envelope=dead.envelope, handlers=upgraded) == (
        DeliveryStatus.APPLIED
    )

    # then: applied once
    assert JournalEntry.objects.count() == 1
    assert position("ledger", envelope["subject"]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_parked_sweep_dead_letters_an_unreadable_successor_at_once(
    future_schema, broker, acme, alice, bob
):
    # given: a v9 approval parked ahead of its submission, then the submission
    # applied with its release failing and the re-send lost
    from events.worker import release_parked

    ledger = consumer_get("ledger")
    submitted = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    future = approved(acme, alice, bob, FUTURE)
    future["subject"] = submitted.envelope["subject"]
    future["partitionkey"] = submitted.envelope["partitionkey"]
    future["sequence"] = 2
    future["data"]["payment_id"] = submitted.envelope["data"]["payment_id"]
    kwargs = {"handlers": ledger.handlers, "consumes": ledger.consumed_types}
    assert consume(consumer="ledger", envelope=future, **kwargs) == "parked"
    consume(consumer="ledger", envelope=submitted.envelope, **kwargs)
    assert InboxEntry.objects.get(event_id=future["id"]).status == "parked"

    # when: the worker's sweep looks once
    release_parked(worker_app(ledger), "ledger", **kwargs)

    # then: dead-lettered with its reason on the first look, not retried first
    entry = InboxEntry.objects.get(event_id=future["id"])
    assert entry.status == DeliveryStatus.DEAD_LETTERED
    assert "unsupported-version" in entry.error
    [dead] = broker.drain(dead_letter_queue_name("ledger"))
    assert dead.envelope["id"] == future["id"]
    assert position("ledger", future["subject"]) == 1
