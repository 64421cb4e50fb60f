"""The embedded broker writes a message whole, then renames it into place.

kombu's own filesystem transport writes in place, so a reader in another
process could take a half-written file and stop the worker.
"""

import json
import os

from kombu import Connection

from events.filesystem_transport import Channel


def test_filesystem_urls_use_the_atomic_transport(tmp_path):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection("filesystem://", transport_options=options) as connection:
        assert isinstance(connection.default_channel, Channel)


def test_a_message_appears_only_whole_and_is_read_back(tmp_path, monkeypatch):
    # given: a snapshot of the folder taken while the message is being written
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    seen_while_writing = []
    real_replace = os.replace

    def replace(source, target):
        seen_while_writing.extend(os.listdir(tmp_path))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue("q")
        # when
        queue.put({"n": 1})
        # then: no reader's name existed before the rename; the message is whole
        assert [name for name in seen_while_writing if name.startswith(".partial-")]
        assert not [name for name in seen_while_writing if name.endswith(".q.msg")]
        assert queue.get(timeout=1).payload == {"n": 1}
        queue.close()


def _options(tmp_path) -> dict:
    return {
        "data_folder_in": str(tmp_path / "q"),
        "data_folder_out": str(tmp_path / "q"),
        "control_folder": str(tmp_path / "control"),
    }


def test_an_exchange_table_is_created_whole(tmp_path, monkeypatch):
    # given: what a process starting at the same moment would read meanwhile
    (tmp_path / "q").mkdir()
    seen = []
    real_link = os.link

    def link(source, target):
        seen.append(os.path.exists(target))
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    with Connection("filesystem://", transport_options=_options(tmp_path)) as conn:
        # when
        conn.default_channel.exchange_declare("ex", type="topic")
        conn.default_channel.queue_declare("q1")
        conn.default_channel.queue_bind("q1", "ex", "a.*")
    # then: the table appeared by one link of a whole file, never empty
    assert seen == [False]
    assert json.loads((tmp_path / "control" / "ex.exchange").read_text())[0][2] == "q1"


def test_an_unbound_key_leaves_the_exchange_table(tmp_path):
    # given: a queue bound to two keys
    (tmp_path / "q").mkdir()
    with Connection("filesystem://", transport_options=_options(tmp_path)) as conn:
        channel = conn.default_channel
        channel.exchange_declare("ex", type="topic")
        channel.queue_declare("q1")
        channel.queue_bind("q1", "ex", "a.*")
        channel.queue_bind("q1", "ex", "b.*")
        # when
        channel.queue_unbind("q1", "ex", "a.*")
    # then: the file, which every process routes by, keeps only the other key
    table = json.loads((tmp_path / "control" / "ex.exchange").read_text())
    assert [(row[0], row[2]) for row in table] == [("b.*", "q1")]
