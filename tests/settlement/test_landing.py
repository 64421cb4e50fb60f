"""receive_landing: complete files in an organisation's folder are received and moved.

Each organisation has a folder named by its slug under SETTLEMENT_LANDING_DIR.
A complete file is received (source `landing_folder`) and moved to
`received/<sha256>.xml`; an empty or too large one to `refused/` with a reason;
a writer's temporary file (`.part`, `.tmp`, a leading dot) is left alone.
"""

import hashlib
import os
import signal
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError

from events.models import OutboxMessage
from settlement import landing
from settlement.management.commands import receive_landing
from settlement.models import SettlementFile
from tests.settlement.conftest import blobs, statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def landing_dir(settings, tmp_path):
    settings.SETTLEMENT_LANDING_DIR = tmp_path / "landing"
    return tmp_path / "landing"


@pytest.fixture
def acme_folder(landing_dir, acme):
    folder = landing_dir / "acme"
    folder.mkdir(parents=True)
    return folder


def run(*args: str) -> str:
    out = StringIO()
    call_command("receive_landing", *args, stdout=out)
    return out.getvalue()


def tree(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_landed_file_is_received_and_moved_to_received(store_dir, acme, acme_folder):
    # given
    data = statement()
    sha256 = hashlib.sha256(data).hexdigest()
    (acme_folder / "camt053_2026-12-04.xml").write_bytes(data)

    # when
    out = run("--once")

    # then
    assert out.strip() == "received 1, already received 0, refused 0, failed 0"
    file = SettlementFile.objects.get()
    assert (file.organisation_id, file.source, file.sha256) == (
        acme.id,
        "landing_folder",
        sha256,
    )
    assert file.original_name == "camt053_2026-12-04.xml"
    assert file.content_type == "application/xml"
    assert file.received_by is None
    assert OutboxMessage.objects.get().envelope["data"]["source"] == "landing_folder"
    assert tree(acme_folder) == [f"received/{sha256}.xml"]
    assert (acme_folder / "received" / f"{sha256}.xml").read_bytes() == data
    assert blobs(store_dir) == [sha256]


def test_writers_temporary_files_are_left_alone(store_dir, acme_folder):
    # given: files still being written
    for name in ("stmt.xml.part", "stmt.xml.tmp", ".stmt.xml"):
        (acme_folder / name).write_bytes(statement())

    # when
    out = run("--once")

    # then
    assert out.strip() == "received 0, already received 0, refused 0, failed 0"
    assert SettlementFile.objects.count() == 0
    assert tree(acme_folder) == [".stmt.xml", "stmt.xml.part", "stmt.xml.tmp"]


def test_an_empty_file_is_refused_with_its_reason_beside_it(
    store_dir, acme_folder, caplog
):
    # given
    (acme_folder / "empty.xml").write_bytes(b"")

    # when
    out = run("--once")

    # then
    assert out.strip() == "received 0, already received 0, refused 1, failed 0"
    [moved, reason] = tree(acme_folder)
    assert moved.startswith("refused/") and moved.endswith("-empty.xml")
    assert reason == moved + ".reason"
    assert (acme_folder / reason).read_text().startswith("empty-file: ")
    assert SettlementFile.objects.count() == OutboxMessage.objects.count() == 0
    assert blobs(store_dir) == []
    assert "refused" in caplog.text and "empty.xml" in caplog.text


def test_a_file_too_large_is_refused_unread(
    settings, store_dir, acme_folder, monkeypatch
):
    # given
    settings.SETTLEMENT_FILE_MAX_BYTES = 1024
    (acme_folder / "huge.xml").write_bytes(b"x" * 1025)
    opened, real_open = [], landing.Path.open

    def open_recorded(path, mode="r", *args, **kwargs):
        if "r" in mode:
            opened.append(path.name)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(landing.Path, "open", open_recorded)

    # when
    out = run("--once")

    # then
    assert "refused 1" in out
    assert opened == []
    reasons = [p for p in tree(acme_folder) if p.endswith(".reason")]
    assert len(reasons) == 1
    reason = (acme_folder / reasons[0]).read_text()
    assert reason.startswith("settlement-file-too-large: ")
    assert "1024" in reason
    assert SettlementFile.objects.count() == 0
    assert blobs(store_dir) == []


def test_the_same_bytes_again_create_nothing_and_are_moved(store_dir, acme_folder):
    # given: received once; the same bytes land again under another name
    (acme_folder / "first.xml").write_bytes(statement())
    run("--once")
    (acme_folder / "second.xml").write_bytes(statement())

    # when
    out = run("--once")

    # then
    assert out.strip() == "received 0, already received 1, refused 0, failed 0"
    assert SettlementFile.objects.count() == OutboxMessage.objects.count() == 1
    sha256 = SettlementFile.objects.get().sha256
    assert tree(acme_folder) == [f"received/{sha256}.xml"]


def test_a_crash_between_receiving_and_moving_is_harmless(
    store_dir, acme_folder, monkeypatch
):
    # given: the first pass receives the file, then dies before the move
    (acme_folder / "stmt.xml").write_bytes(statement())

    def crash(*args):
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(landing, "_move", crash)
        with pytest.raises(KeyboardInterrupt):
            run("--once")
    assert SettlementFile.objects.count() == 1
    assert tree(acme_folder) == ["stmt.xml"]

    # when: the receiver starts again
    out = run("--once")

    # then: nothing new, and the file moved
    assert "already received 1" in out
    assert SettlementFile.objects.count() == OutboxMessage.objects.count() == 1
    assert tree(acme_folder) == [f"received/{SettlementFile.objects.get().sha256}.xml"]


def test_a_failure_leaves_the_file_for_the_next_pass(
    store_dir, acme_folder, monkeypatch
):
    # given: the database refuses
    (acme_folder / "stmt.xml").write_bytes(statement())

    def unavailable(**_):
        raise RuntimeError("database away")

    with monkeypatch.context() as patch:
        patch.setattr(landing, "settlement_file_receive", unavailable)
        out = run("--once")
    assert "failed 1" in out
    assert tree(acme_folder) == ["stmt.xml"]

    # when: it is back
    out = run("--once")

    # then
    assert "received 1" in out
    assert SettlementFile.objects.count() == 1


def test_each_organisation_receives_from_its_own_folder(
    store_dir, landing_dir, acme, globex
):
    # given
    for slug in ("acme", "globex"):
        (landing_dir / slug).mkdir(parents=True)
        (landing_dir / slug / "stmt.xml").write_bytes(statement())

    # when
    run("--once")

    # then
    owners = set(SettlementFile.objects.values_list("organisation__slug", flat=True))
    assert owners == {"acme", "globex"}


def test_a_folder_named_after_no_organisation_is_left_alone(
    store_dir, landing_dir, acme, caplog
):
    # given
    (landing_dir / "initech").mkdir(parents=True)
    (landing_dir / "initech" / "stmt.xml").write_bytes(statement())

    # when
    run("--once")

    # then
    assert SettlementFile.objects.count() == 0
    assert tree(landing_dir) == ["initech/stmt.xml"]
    assert "initech" in caplog.text


def test_a_symbolic_link_is_not_followed(store_dir, acme_folder, tmp_path):
    # given: a link to a file outside the landing folder
    secret = tmp_path / "secret.xml"
    secret.write_bytes(statement())
    os.symlink(secret, acme_folder / "link.xml")

    # when
    run("--once")

    # then
    assert SettlementFile.objects.count() == 0
    assert secret.exists()


# Committed transactions: between passes the loop closes a connection left
# outside autocommit, as a test's transaction would leave it.
@pytest.mark.django_db(transaction=True)
def test_the_receiver_polls_until_sigterm_then_exits_cleanly(
    store_dir, acme_folder, monkeypatch
):
    # given: SIGTERM sent once the command listens and its first pass has
    # taken the file (sent sooner, on a busy machine, it would stop the
    # command before any pass)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    landed = acme_folder / "stmt.xml"
    landed.write_bytes(statement())

    def terminate_when_listening():
        deadline = time.monotonic() + 10
        while signal.getsignal(signal.SIGTERM) is previous[0] or landed.exists():
            if time.monotonic() > deadline:
                return  # never installed, or never received: the test fails below
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_listening, daemon=True).start()

    # when
    try:
        out = run("--every-seconds", "60")
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])

    # then: one pass, then a wait of a minute cut short by SIGTERM
    lines = out.splitlines()
    assert lines[0].startswith("receiving from ")
    assert lines[1:] == [
        "received 1, already received 0, refused 0, failed 0",
        "landing receiver stopped",
    ]


def test_a_file_that_cannot_be_moved_is_counted_failed_and_the_pass_goes_on(
    store_dir, acme_folder, monkeypatch
):
    # given: the first file cannot be moved aside (a permission, a full disk)
    (acme_folder / "a.xml").write_bytes(statement(1))
    (acme_folder / "b.xml").write_bytes(statement(2))
    real_move = landing._move

    def move(path, target):
        if path.name == "a.xml":
            raise PermissionError("read-only")
        real_move(path, target)

    monkeypatch.setattr(landing, "_move", move)

    # when
    out = run("--once")

    # then: both received; the one not moved is tried again next pass
    assert out.strip() == "received 1, already received 0, refused 0, failed 1"
    assert SettlementFile.objects.count() == 2
    assert "a.xml" in tree(acme_folder)


# Committed transactions, as the SIGTERM test below.
@pytest.mark.django_db(transaction=True)
def test_a_pass_the_database_refuses_does_not_stop_the_loop(
    store_dir, acme_folder, monkeypatch, caplog
):
    # given: the first pass fails on the database; the second stops the loop
    passes = []

    def landing_pass(**kwargs):
        passes.append(1)
        if len(passes) == 1:
            raise OperationalError("server closed the connection")
        kwargs["stop"].set()
        return landing.LandingTally()

    monkeypatch.setattr(receive_landing, "landing_pass", landing_pass)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    # when
    try:
        out = run("--every-seconds", "0.01")
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])

    # then
    assert passes == [1, 1]
    assert "landing pass failed: server closed the connection" in caplog.text
    assert out.splitlines()[-1] == "landing receiver stopped"


def test_a_pass_over_empty_folders_asks_the_database_nothing(
    landing_dir, acme_folder, django_assert_num_queries
):
    # A pass runs every second: an idle landing folder must cost PostgreSQL
    # no statement (and, in autocommit, no commit).
    (landing_dir / "initech").mkdir()
    (acme_folder / ".stmt.xml.part").write_bytes(statement())  # still being written

    with django_assert_num_queries(0):
        tally = landing.landing_pass()

    assert not tally
    assert SettlementFile.objects.count() == 0
