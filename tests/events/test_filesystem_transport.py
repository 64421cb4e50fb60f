"""The embedded broker writes a message whole, then renames it into place.

kombu's own filesystem transport writes in place, so a reader in another
process could take a half-written file and stop the worker.
"""

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
