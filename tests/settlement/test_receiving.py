"""settlement_file_receive: the bytes stored once, one row and one event per content."""

import hashlib

import pytest

from events.models import OutboxMessage
from organisations.errors import NoOrganisation, RoleRequired
from settlement import receiving
from settlement.errors import (
    EmptySettlementFile,
    SettlementFileTooLarge,
    UnsupportedFileType,
)
from settlement.models import SettlementFile, SettlementFileStatus
from settlement.receiving import original_name_clean, settlement_file_receive
from tests.settlement.conftest import blobs, received_state, statement

pytestmark = pytest.mark.django_db


def receive(organisation, data=None, **overrides):
    fields = {
        "organisation_id": organisation.id,
        "data": statement() if data is None else data,
        "content_type": "application/xml",
        "source": "upload",
    }
    fields.update(overrides)
    return settlement_file_receive(**fields)


def test_a_file_is_stored_recorded_and_announced_in_one_go(store_dir, acme, bob):
    # given
    data = statement()
    sha256 = hashlib.sha256(data).hexdigest()

    # when
    file, created = receive(acme, data, original_name="camt053.xml", received_by=bob)

    # then: the row
    assert created
    row = SettlementFile.objects.get()
    assert row == file
    assert (row.organisation_id, row.sha256, row.size) == (acme.id, sha256, len(data))
    assert (row.content_type, row.source, row.original_name) == (
        "application/xml",
        "upload",
        "camt053.xml",
    )
    assert row.received_by == bob
    assert row.status == SettlementFileStatus.RECEIVED
    assert row.rejection_reason == ""
    assert row.outcome_counts == {}
    assert row.processed_at is None
    # the bytes, unparsed
    assert blobs(store_dir) == [sha256]
    assert (store_dir / sha256[:2] / sha256[2:4] / sha256).read_bytes() == data
    # the event
    event = OutboxMessage.objects.get()
    assert (event.event_type, event.schema_version) == ("SettlementFileReceived", 1)
    assert (event.source, event.subject, event.sequence) == (
        "/settlement",
        f"settlement-file/{file.id}",
        1,
    )
    assert event.partition_key == str(acme.id)
    assert event.organisation_id == acme.id
    assert event.published_at is None
    envelope = event.envelope
    assert envelope["type"] == "SettlementFileReceived"
    assert envelope["dataschema"] == "/contracts/SettlementFileReceived/v1"
    assert envelope["subject"] == f"settlement-file/{file.id}"
    assert envelope["partitionkey"] == str(acme.id)
    assert envelope["sequence"] == 1
    assert envelope["data"] == {
        "file_id": str(file.id),
        "organisation_id": str(acme.id),
        "sha256": sha256,
        "size": len(data),
        "content_type": "application/xml",
        "source": "upload",
        "received_at": file.received_at.isoformat(),
        "original_name": "camt053.xml",
    }


def test_the_same_bytes_again_are_the_same_file_and_no_second_event(store_dir, acme):
    # given
    first, _ = receive(acme, source="landing_folder", original_name="a.xml")

    # when: the same bytes, another way in, under another name
    again, created = receive(acme, original_name="b.xml")

    # then
    assert not created
    assert again == first
    assert again.original_name == "a.xml"
    assert SettlementFile.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert len(blobs(store_dir)) == 1


def test_another_organisation_with_the_same_bytes_gets_its_own_file(
    store_dir, acme, globex
):
    # given
    ours, _ = receive(acme)

    # when
    theirs, created = receive(globex)

    # then: two files, two events, one copy of the bytes
    assert created
    assert theirs.id != ours.id
    assert theirs.sha256 == ours.sha256
    assert theirs.organisation_id == globex.id
    assert sorted(OutboxMessage.objects.values_list("partition_key", flat=True)) == (
        sorted([str(acme.id), str(globex.id)])
    )
    assert len(blobs(store_dir)) == 1


def test_each_file_has_its_own_event(store_dir, acme):
    # when: two different statements
    receive(acme)
    receive(acme, statement(2))

    # then: one event per file, each naming its own
    files = {str(f.id) for f in SettlementFile.objects.all()}
    named = {e.envelope["data"]["file_id"] for e in OutboxMessage.objects.all()}
    assert named == files
    assert len(files) == 2


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        pytest.param({"data": b""}, EmptySettlementFile, id="empty"),
        pytest.param({"data": b"x" * 1025}, SettlementFileTooLarge, id="too-large"),
        pytest.param(
            {"content_type": "application/json"}, UnsupportedFileType, id="json"
        ),
        pytest.param({"content_type": ""}, UnsupportedFileType, id="no-type"),
        pytest.param(
            {"content_type": "application/xml-dtd"}, UnsupportedFileType, id="xml-dtd"
        ),
    ],
)
def test_a_refused_file_leaves_no_row_no_event_and_no_bytes(
    settings, store_dir, acme, overrides, refusal
):
    # given
    settings.SETTLEMENT_FILE_MAX_BYTES = 1024
    before = received_state(store_dir)

    # when
    with pytest.raises(refusal):
        receive(acme, **overrides)

    # then
    assert (
        received_state(store_dir)
        == before
        == {
            "files": [],
            "outbox": [],
            "blobs": [],
        }
    )


def test_a_file_of_exactly_the_largest_size_is_received(settings, store_dir, acme):
    # given
    settings.SETTLEMENT_FILE_MAX_BYTES = 1024

    # when
    file, created = receive(acme, b"x" * 1024)

    # then
    assert created and file.size == 1024


def test_the_media_type_is_read_without_its_parameters(store_dir, acme):
    # when
    file, _ = receive(acme, content_type="Text/XML; charset=utf-8")

    # then
    assert file.content_type == "text/xml"
    assert OutboxMessage.objects.get().envelope["data"]["content_type"] == "text/xml"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("camt053_2026-12-04.xml", "camt053_2026-12-04.xml"),
        ("../../etc/passwd", "passwd"),
        ("C:\\exports\\stmt.xml", "stmt.xml"),
        ("evil\u202elmx.xml\n", "evillmx.xml"),
        ("  spaced.xml  ", "spaced.xml"),
        ("..", ""),
        ("", ""),
        ("a" * 300 + ".xml", "a" * 255),
    ],
)
def test_the_original_name_is_cleaned(sent, kept):
    assert original_name_clean(sent) == kept


def test_a_file_without_a_name_announces_none(store_dir, acme):
    # when
    receive(acme, original_name="\n")

    # then
    assert OutboxMessage.objects.get().envelope["data"]["original_name"] is None


@pytest.mark.parametrize(
    ("sender", "refusal"),
    [
        ("alice", RoleRequired),  # a maker only
        ("gina", RoleRequired),  # an approver, of globex
        ("outsider", NoOrganisation),
    ],
)
def test_only_an_approver_of_the_organisation_receives_for_it(
    request, store_dir, acme, alice, gina, outsider, sender, refusal
):
    # when
    with pytest.raises(refusal):
        receive(acme, received_by=request.getfixturevalue(sender))

    # then
    assert received_state(store_dir) == {"files": [], "outbox": [], "blobs": []}


def test_a_failure_after_the_insert_keeps_neither_row_nor_event(
    monkeypatch, store_dir, acme
):
    # given: the event cannot be written
    def broken(**_):
        raise RuntimeError("outbox broken")

    monkeypatch.setattr(receiving, "settlement_file_received_publish", broken)

    # when
    with pytest.raises(RuntimeError):
        receive(acme)

    # then: the bytes stay (nobody points at them: harmless), nothing else
    assert SettlementFile.objects.count() == OutboxMessage.objects.count() == 0
    assert len(blobs(store_dir)) == 1

    # when: the retry, once the outbox works again
    monkeypatch.undo()
    file, created = receive(acme)

    # then: the file, its event, and still one copy of the bytes
    assert created
    assert OutboxMessage.objects.get().envelope["data"]["file_id"] == str(file.id)
    assert len(blobs(store_dir)) == 1


def test_an_unknown_source_is_a_programming_error(store_dir, acme):
    with pytest.raises(ValueError, match="source"):
        receive(acme, source="email")
    assert SettlementFile.objects.count() == 0
