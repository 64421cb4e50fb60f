"""What the contracts hold, read for the catalogue: each type's versions, schemas,
samples, producer and upcasters, and which versions a reader can take.

The AsyncAPI document (contracts/asyncapi.py) and the catalogue page both read
these; a reader is anything with a `name`, `consumes` and `effects`, as an app's
consumer declaration has, so contracts/ stays below every app.
See docs/lessons/versioned-schemas.md#the-catalogue.
"""

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Protocol

from contracts.checks import SAMPLE_DIR, published
from contracts.lock import SCHEMA_DIR
from contracts.producers import PRODUCERS, Producer
from contracts.registry import ENVELOPE_VERSION
from contracts.upcasters import UPCASTERS, upcast_path


class Reader(Protocol):
    """A consumer as the catalogue sees it (events.consumers.Consumer is one)."""

    name: str
    consumes: Collection[tuple[str, int]]
    effects: Mapping[str, str]


def event_versions(schema_dir: Path = SCHEMA_DIR) -> dict[str, list[int]]:
    """{event type: its published versions, ascending}, types in name order."""
    return published(schema_dir)


def _read(path: Path):
    # Read afresh each time (a few small files): a caller may change its copy.
    return json.loads(path.read_text())


def schema_of(event_type: str, version: int, schema_dir: Path = SCHEMA_DIR) -> dict:
    """The payload schema of that version, exactly as published."""
    return _read(schema_dir / f"{event_type}.v{version}.json")


def envelope_schema(schema_dir: Path = SCHEMA_DIR) -> dict:
    """The envelope events travel in now (contracts.registry.ENVELOPE_VERSION)."""
    return _read(schema_dir / f"envelope.v{ENVELOPE_VERSION}.json")


def valid_samples(
    event_type: str, version: int, sample_dir: Path = SAMPLE_DIR
) -> list[dict]:
    """The golden samples the schema accepts: [{"why": ..., "data": ...}]."""
    path = sample_dir / f"{event_type}.v{version}.valid.json"
    return _read(path) if path.is_file() else []


def producer_of(event_type: str) -> Producer | None:
    return PRODUCERS.get(event_type)


def upcaster_name(event_type: str, from_version: int) -> str | None:
    """The function that turns `from_version` into the next, or None."""
    upcaster = UPCASTERS.get((event_type, from_version))
    return upcaster.__name__ if upcaster is not None else None


def reads(reader: Reader, event_type: str, versions: list[int]) -> dict[int, list[int]]:
    """{version: the path of versions it is upcast through} for each it can read.

    [2] for a version its handler takes as it is, [1, 2] for a v1 upcast to v2;
    a version it cannot read is left out (check_contracts refuses that).
    """
    handled = {v for t, v in reader.consumes if t == event_type}
    if not handled:
        return {}
    paths = {version: upcast_path(event_type, version, handled) for version in versions}
    return {version: path for version, path in paths.items() if path is not None}
