"""`python manage.py check_contracts` fails on each way a contract can break.

Each test breaks one thing in a private copy of contracts/ (schemas, samples,
lock) and asserts the problem the check reports.
"""

import json
import shutil
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command

from contracts.checks import Contracts, contract_problems, past_tense
from contracts.lock import LOCK_FILE, SCHEMA_DIR, lock_render
from contracts.producers import PAYMENTS, PRODUCERS
from contracts.upcasters import UPCASTERS
from events.management.commands import check_contracts
from payments.events import SOURCE, STATUS_EVENTS

READERS = {"ledger": {("PaymentApproved", 2)}, "audit": {("PaymentSubmitted", 1)}}


@pytest.fixture
def contracts(tmp_path) -> Contracts:
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    shutil.copytree(SCHEMA_DIR.parent / "samples", tmp_path / "samples")
    shutil.copy(LOCK_FILE, tmp_path / "schemas.lock")
    return Contracts(
        schema_dir=tmp_path / "schemas",
        sample_dir=tmp_path / "samples",
        lock_file=tmp_path / "schemas.lock",
        upcasters=dict(UPCASTERS),
        consumers=READERS,
    )


def publish(contracts: Contracts, name: str, schema: dict) -> None:
    """Add a schema file and lock it, as a new version is published."""
    (contracts.schema_dir / name).write_text(json.dumps(schema))
    contracts.lock_file.write_text(lock_render(contracts.schema_dir))


def samples(contracts: Contracts, name: str, kind: str, data: list | None = None):
    path = contracts.sample_dir / f"{name}.{kind}.json"
    if data is not None:
        path.write_text(json.dumps(data))
    return json.loads(path.read_text())


def test_the_contracts_as_published_hold(capsys):
    call_command("check_contracts")

    assert "contracts hold: PaymentApproved v1/v2" in capsys.readouterr().out


def test_the_command_fails_and_lists_each_problem(contracts, monkeypatch, capsys):
    broken = replace(contracts, upcasters={})
    monkeypatch.setattr(check_contracts, "contracts_declared", lambda: broken)

    with pytest.raises(CommandError, match="2 contract problem"):
        call_command("check_contracts")

    err = capsys.readouterr().err
    assert "- PaymentApproved.v2: no upcaster from v1" in err
    assert "- ledger cannot read PaymentApproved v1" in err


def test_a_missing_upcaster_fails(contracts):
    problems = contract_problems(replace(contracts, upcasters={}))

    assert "PaymentApproved.v2: no upcaster from v1" in problems


def test_an_upcaster_making_an_invalid_next_version_fails(contracts):
    def forgets_the_time(envelope):
        data = UPCASTERS[("PaymentApproved", 1)](envelope)
        del data["approved_at"]
        return data

    upcasters = {("PaymentApproved", 1): forgets_the_time}
    problems = contract_problems(replace(contracts, upcasters=upcasters))

    assert problems == [
        "PaymentApproved.v2: the upcaster makes an invalid v2 of the v1 sample "
        "'an approval by another user'"
    ]


def test_a_consumer_without_a_handler_or_upcaster_path_fails(contracts):
    readers = {**READERS, "audit": {("PaymentSubmitted", 2)}}

    problems = contract_problems(replace(contracts, consumers=readers))

    assert problems == [
        "audit cannot read PaymentSubmitted v1: no handler and no upcaster path "
        "to a version it handles"
    ]


def test_a_consumer_of_a_type_without_a_schema_fails(contracts):
    readers = {"audit": {("PaymentTeleported", 1)}}

    problems = contract_problems(replace(contracts, consumers=readers))

    assert problems == ["audit consumes PaymentTeleported: no schema of it"]


@pytest.mark.parametrize("kind", ["valid", "invalid"])
def test_missing_golden_samples_fail(contracts, kind):
    (contracts.sample_dir / f"PaymentRejected.v1.{kind}.json").unlink()

    assert contract_problems(contracts) == [
        f"PaymentRejected.v1: no golden samples PaymentRejected.v1.{kind}.json"
    ]


def test_a_valid_sample_the_schema_refuses_fails(contracts):
    [sample] = samples(contracts, "PaymentRejected.v1", "valid")
    sample["data"]["reason"] = ""
    samples(contracts, "PaymentRejected.v1", "valid", [sample])

    assert contract_problems(contracts) == [
        "PaymentRejected.v1: the schema refuses the valid sample "
        "'a rejection with its reason'"
    ]


def test_an_invalid_sample_the_schema_accepts_fails(contracts):
    [valid] = samples(contracts, "PaymentCancelled.v1", "valid")
    samples(
        contracts,
        "PaymentCancelled.v1",
        "invalid",
        [{"why": "nothing wrong with it", "data": valid["data"]}],
    )

    assert contract_problems(contracts) == [
        "PaymentCancelled.v1: the schema accepts the invalid sample "
        "'nothing wrong with it'"
    ]


def test_a_gap_in_the_versions_fails(contracts):
    schema = json.loads((contracts.schema_dir / "PaymentApproved.v2.json").read_text())
    schema["$id"] = "/contracts/PaymentApproved/v4"
    publish(contracts, "PaymentApproved.v4.json", schema)

    problems = contract_problems(contracts)

    assert "PaymentApproved.v3: no schema (versions are numbered without a gap)" in (
        problems
    )
    assert "PaymentApproved.v4: no upcaster from v3" in problems
    assert "PaymentApproved.v4: no golden samples PaymentApproved.v4.valid.json" in (
        problems
    )


def test_an_event_named_as_a_command_fails(contracts):
    schema = json.loads((contracts.schema_dir / "PaymentCancelled.v1.json").read_text())
    schema["$id"] = "/contracts/PaymentApprove/v1"
    publish(contracts, "PaymentApprove.v1.json", schema)
    for kind in ("valid", "invalid"):
        shutil.copy(
            contracts.sample_dir / f"PaymentCancelled.v1.{kind}.json",
            contracts.sample_dir / f"PaymentApprove.v1.{kind}.json",
        )
    producers = {**PRODUCERS, "PaymentApprove": PAYMENTS}
    streams = {**contracts.streams, "PaymentApprove": "payment"}

    [problem] = contract_problems(
        replace(contracts, producers=producers, streams=streams)
    )

    assert problem.startswith("PaymentApprove: an event is a fact, named in the past")


@pytest.mark.parametrize(
    ("name", "past"),
    [
        ("PaymentApproved", True),
        ("PaymentSent", True),
        ("FundsWithdrawn", True),
        ("PaymentApprove", False),
        ("SendPayment", False),
    ],
)
def test_past_tense(name, past):
    assert past_tense(name) is past


def test_a_published_schema_edited_in_place_fails(contracts):
    path = contracts.schema_dir / "PaymentSubmitted.v1.json"
    path.write_text(path.read_text().replace("140", "141"))

    assert contract_problems(contracts) == [
        "PaymentSubmitted.v1.json changed after it was published: restore it and "
        "put the change in a new version"
    ]


def test_a_type_without_a_declared_producer_fails(contracts):
    # given: a refund's schema arrives before its producer is declared
    schema = json.loads((contracts.schema_dir / "PaymentCancelled.v1.json").read_text())
    schema["$id"] = "/contracts/PaymentRefunded/v1"
    publish(contracts, "PaymentRefunded.v1.json", schema)
    for kind in ("valid", "invalid"):
        shutil.copy(
            contracts.sample_dir / f"PaymentCancelled.v1.{kind}.json",
            contracts.sample_dir / f"PaymentRefunded.v1.{kind}.json",
        )

    # when
    problems = contract_problems(contracts)

    # then
    assert problems == [
        "PaymentRefunded: no declared producer (add it to contracts/producers.py: "
        "who publishes it, with which source)",
        "PaymentRefunded: no stream (add it to contracts/streams.py: whose "
        "subjects its events have; consumers are bound by stream)",
    ]


def test_a_declared_producer_of_a_type_without_a_schema_fails(contracts):
    producers = {**PRODUCERS, "PaymentReversed": PAYMENTS}

    problems = contract_problems(replace(contracts, producers=producers))

    assert problems == ["PaymentReversed: a producer is declared, but no schema of it"]


def test_a_type_without_a_stream_fails(contracts):
    # given: the settlement's fact is declared in no stream, so no consumer's
    # queues would be bound to it
    streams = {t: s for t, s in contracts.streams.items() if t != "PaymentSettled"}

    problems = contract_problems(replace(contracts, streams=streams))

    assert problems == [
        "PaymentSettled: no stream (add it to contracts/streams.py: whose "
        "subjects its events have; consumers are bound by stream)"
    ]


def test_a_declared_stream_of_a_type_without_a_schema_fails(contracts):
    streams = {**contracts.streams, "PaymentReversed": "payment"}

    problems = contract_problems(replace(contracts, streams=streams))

    assert problems == ["PaymentReversed: a stream is declared, but no schema of it"]


def test_payments_publishes_what_the_producers_declare():
    # then: each status event payments announces is declared as its, with its source
    declared = {PRODUCERS[event_type] for event_type in STATUS_EVENTS.values()}
    assert declared == {PAYMENTS}
    assert PAYMENTS.source == SOURCE
