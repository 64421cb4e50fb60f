"""The content-addressed store: a round trip, idempotent puts, whole files only."""

import hashlib
import os
import stat

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from content_store import (
    ContentCorrupt,
    ContentMissing,
    content_exists,
    content_open,
    content_put,
    content_read,
)
from tests.conftest import content_store_at
from tests.content_store.conftest import stored_files

STATEMENT = b'<?xml version="1.0"?><Document><BkToCstmrStmt/></Document>'
SHA = hashlib.sha256(STATEMENT).hexdigest()


def test_put_stores_the_bytes_under_their_hash_and_reads_them_back(store_dir):
    # when
    sha256 = content_put(STATEMENT)

    # then
    assert sha256 == SHA
    assert stored_files(store_dir) == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}"]
    assert (store_dir / SHA[:2] / SHA[2:4] / SHA).read_bytes() == STATEMENT
    assert content_exists(sha256)
    assert content_read(sha256) == STATEMENT
    with content_open(sha256) as stored:
        assert stored.read() == STATEMENT


def test_the_same_bytes_again_write_nothing(store_dir):
    # given
    content_put(STATEMENT)
    path = store_dir / SHA[:2] / SHA[2:4] / SHA
    first = path.stat()

    # when
    again = content_put(STATEMENT)

    # then: the same hash, the same file, untouched
    assert again == SHA
    assert path.stat().st_ino == first.st_ino
    assert path.stat().st_mtime_ns == first.st_mtime_ns
    assert stored_files(store_dir) == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}"]


def test_other_bytes_get_another_name(store_dir):
    # when
    names = {content_put(STATEMENT), content_put(STATEMENT + b"\n")}

    # then
    assert len(names) == 2
    assert len(stored_files(store_dir)) == 2


def test_a_hash_in_capitals_names_the_same_content(store_dir):
    # given
    content_put(STATEMENT)

    # then
    assert content_read(SHA.upper()) == STATEMENT


def test_an_unknown_hash_is_content_missing(store_dir):
    # given
    unknown = hashlib.sha256(b"never stored").hexdigest()

    # then
    assert not content_exists(unknown)
    with pytest.raises(ContentMissing):
        content_open(unknown)
    with pytest.raises(ContentMissing):
        content_read(unknown)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "", "abc", SHA + "0", SHA[:-1] + "g", None]
)
def test_a_name_that_is_no_hash_is_refused_before_the_storage_sees_it(store_dir, name):
    # then
    for call in (content_exists, content_open, content_read):
        with pytest.raises(ValueError, match="not a SHA-256"):
            call(name)


def test_bytes_changed_on_disk_are_refused_when_read(store_dir):
    # given: a flipped byte in the stored file
    content_put(STATEMENT)
    path = store_dir / SHA[:2] / SHA[2:4] / SHA
    path.write_bytes(STATEMENT.replace(b"Document", b"Documant"))

    # then: read() checks; open() leaves the check to its reader
    with pytest.raises(ContentCorrupt):
        content_read(SHA)
    with content_open(SHA) as stored:
        assert b"Documant" in stored.read()


def test_a_write_that_fails_half_way_leaves_no_file_and_no_temporary(store_dir):
    # given: content whose second chunk cannot be read
    class Failing(ContentFile):
        def chunks(self, chunk_size=None):
            yield b"<Document>"
            raise OSError("disk gone")

    # when
    with pytest.raises(OSError, match="disk gone"):
        storages["content"].save(f"{SHA[:2]}/{SHA[2:4]}/{SHA}", Failing(b""))

    # then: nobody can see half a file, and no debris is left
    assert not content_exists(SHA)
    assert stored_files(store_dir) == []


def test_a_stored_file_is_readable_by_other_users(store_dir):
    # given: a processing worker may run as another user than the receiver
    content_put(STATEMENT)

    # when
    mode = (store_dir / SHA[:2] / SHA[2:4] / SHA).stat().st_mode

    # then
    assert stat.S_IMODE(mode) & 0o044 == 0o044


def test_on_a_backend_that_renames_a_taken_name_no_second_copy_stays(
    tmp_path, monkeypatch
):
    # given: Django's plain FileSystemStorage, and a writer of the same bytes
    # that got there between our exists() and our save()
    root = tmp_path / "plain"
    with content_store_at(root):
        plain = {
            **settings.STORAGES,
            "content": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(root)},
            },
        }
        with override_settings(STORAGES=plain):
            storage = storages["content"]
            storage.save(f"{SHA[:2]}/{SHA[2:4]}/{SHA}", ContentFile(STATEMENT))
            real_exists, asked = type(storage).exists, []

            def exists_before_the_other_writer(self, name):
                asked.append(name)  # our first look comes before their write
                return len(asked) > 1 and real_exists(self, name)

            monkeypatch.setattr(type(storage), "exists", exists_before_the_other_writer)

            # when
            sha256 = content_put(STATEMENT)

    # then: the one copy, under its own name
    assert sha256 == SHA
    assert stored_files(root) == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}"]
    assert os.listdir(root / SHA[:2] / SHA[2:4]) == [SHA]
