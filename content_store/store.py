"""content_put, content_open, content_read, content_exists: the store's four calls.

Bytes are stored under the lowercase hex SHA-256 of their content, at
`ab/cd/abcd...` (two levels of folders keep any one folder small). Writing the
same bytes again writes nothing and returns the same hash, so a put is
idempotent and two writers of the same bytes cannot disagree. The backend is
STORAGES["content"] (config/settings.py); see content_store/storage.py for
why a reader never sees half a file. See docs/lessons/transfer-vs-processing.md.
"""

import hashlib
import re
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "content"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class ContentMissing(LookupError):
    """Nothing is stored under this hash."""


class ContentCorrupt(ValueError):
    """The bytes stored under a hash no longer have that hash."""


def _storage() -> Storage:
    return storages[STORAGE_ALIAS]


def content_name(sha256: str) -> str:
    """Return the storage name of a hash, `ab/cd/abcd...`; refuse anything else.

    A malformed hash is refused with ValueError rather than looked up: the name
    becomes a path, and `../` must never reach the storage.
    """
    digest = sha256.lower() if isinstance(sha256, str) else ""
    if not SHA256_HEX.fullmatch(digest):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def content_put(data: bytes) -> str:
    """Store the bytes (once) and return their lowercase hex SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    name = content_name(sha256)
    storage = _storage()
    if storage.exists(name):
        return sha256
    saved = storage.save(name, ContentFile(data))
    if saved != name:
        # A backend that saves a taken name under another one (Django's plain
        # FileSystemStorage, racing a writer of the same bytes): the copy at
        # `name` is already the same content, so the spare one goes.
        storage.delete(saved)
    return sha256


def content_exists(sha256: str) -> bool:
    """Say whether bytes are stored under this hash."""
    return _storage().exists(content_name(sha256))


def content_open(sha256: str) -> IO[bytes]:
    """Open the stored bytes for reading, in binary; the caller closes the file.

    Raises ContentMissing for a hash nothing is stored under. The bytes are not
    checked against the hash here: a reader that streams them can hash as it
    reads (content_read does).
    """
    name = content_name(sha256)
    storage = _storage()
    if not storage.exists(name):
        raise ContentMissing(f"no content stored under {sha256}")
    try:
        return storage.open(name, "rb")
    except FileNotFoundError:
        raise ContentMissing(f"no content stored under {sha256}") from None


def content_read(sha256: str) -> bytes:
    """Return the stored bytes, checked against their hash.

    Raises ContentMissing, or ContentCorrupt when the bytes read back have
    another hash. The check costs one pass of SHA-256 (fast next to parsing
    the file) and is worth it: the store holds the only copy of what a bank
    sent, processing may read it again months later (a replay), and a flipped
    bit or a hand edit on disk would otherwise be parsed as if the bank had
    sent it.
    """
    with content_open(sha256) as stored:
        data = stored.read()
    if hashlib.sha256(data).hexdigest() != sha256.lower():
        raise ContentCorrupt(f"the content stored under {sha256} has another hash")
    return data
