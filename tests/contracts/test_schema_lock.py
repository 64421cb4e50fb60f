"""Published schemas are immutable: contracts/schemas.lock catches an edit in place."""

import shutil

import pytest

from contracts.lock import LOCK_FILE, SCHEMA_DIR, lock_problems, lock_render


def test_every_published_schema_is_locked_and_unchanged():
    assert lock_problems() == []


@pytest.fixture
def published(tmp_path):
    """A copy of contracts/ (schemas and lock) to tamper with."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    lock = tmp_path / "schemas.lock"
    shutil.copy(LOCK_FILE, lock)
    return schemas, lock


def test_a_schema_edited_in_place_fails(published):
    schemas, lock = published
    path = schemas / "PaymentApproved.v1.json"
    path.write_text(path.read_text().replace('"minimum": 1', '"minimum": 0'))

    assert lock_problems(schemas, lock) == [
        "PaymentApproved.v1.json changed after it was published: restore it and "
        "put the change in a new version"
    ]


def test_a_new_version_must_be_added_to_the_lock(published):
    schemas, lock = published
    shutil.copy(
        schemas / "PaymentApproved.v2.json", schemas / "PaymentApproved.v3.json"
    )

    [problem] = lock_problems(schemas, lock)
    assert problem.startswith("PaymentApproved.v3.json is not in schemas.lock")

    lock.write_text(lock_render(schemas))
    assert lock_problems(schemas, lock) == []


def test_a_published_schema_is_never_removed(published):
    schemas, lock = published
    (schemas / "PaymentCancelled.v1.json").unlink()

    assert lock_problems(schemas, lock) == [
        "PaymentCancelled.v1.json is in schemas.lock but gone: a published schema "
        "is never removed"
    ]
