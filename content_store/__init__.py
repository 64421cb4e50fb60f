"""The content-addressed store: bytes kept immutably under their SHA-256.

A kit package like events/ and contracts/: it knows no app. Callers store with
`content_put` and read back with `content_open` or `content_read`; see
content_store/store.py and docs/lessons/transfer-vs-processing.md.
"""

from content_store.store import (
    ContentCorrupt,
    ContentMissing,
    content_exists,
    content_open,
    content_put,
    content_read,
)

__all__ = [
    "ContentCorrupt",
    "ContentMissing",
    "content_exists",
    "content_open",
    "content_put",
    "content_read",
]
