"""What the event catalogue pages show, read from the contracts and the consumers'
declarations: nothing here is written by hand, so the page cannot drift.

See docs/lessons/versioned-schemas.md#the-catalogue.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from contracts.catalogue import (
    event_versions,
    producer_of,
    reads,
    schema_of,
    upcaster_name,
    valid_samples,
)
from contracts.schema_fields import fields_diff, schema_fields
from events.consumers import Consumer, registry
from web.source_files import source_file, symbol_lines

UPCASTERS_FILE = "contracts/upcasters.py"


def _readers() -> list[Consumer]:
    """The consumers this deployment runs, as the AsyncAPI document lists them."""
    running = set(settings.EVENT_CONSUMERS)
    return [consumer for consumer in registry() if consumer.name in running]


def source_link(path: str, symbol: str | None = None) -> str | None:
    """The source view's URL of a file, at a symbol's lines; None if not shown."""
    if source_file(path) is None:
        return None
    url = reverse("web:source", args=[path])
    lines = symbol_lines(path, symbol) if symbol else None
    if lines:
        first, last = lines
        url += f"?{urlencode({'lines': f'{first}-{last}'})}#L{first}"
    return url


def catalogue_index() -> list[dict]:
    """Each event type: its versions, producer and the consumers reading it."""
    readers = _readers()
    return [
        {
            "type": event_type,
            "versions": versions,
            "producer": producer_of(event_type),
            "readers": [r.name for r in readers if event_type in r.consumed_types],
            "title": schema_of(event_type, versions[-1]).get("description", ""),
        }
        for event_type, versions in event_versions().items()
    ]


def _cell(field, previous, first: bool) -> dict:
    if field is None:
        if previous is not None and not first:
            return {"state": "removed", "type": previous.type}
        return {"state": "absent"}
    if first or previous is None:
        state = "" if first else "added"
    elif (previous.type, previous.required) != (field.type, field.required):
        state = "changed"
    else:
        state = ""
    return {
        "state": state,
        "type": field.type,
        "required": field.required,
        "before": previous.type if state == "changed" else "",
    }


def _side_by_side(fields: list[list]) -> list[dict]:
    """One row per field path of any version; a cell per version, marked against
    the version before it (added, removed, changed)."""
    by_version = [{f.path: f for f in version} for version in fields]
    paths: list[str] = []
    for version in fields:
        # A field new in this version goes after the one before it here, so
        # `amount.value` (v2) sits under `amount` (v1 and v2).
        at = 0
        for field in version:
            if field.path in paths:
                at = paths.index(field.path) + 1
            else:
                paths.insert(at, field.path)
                at += 1
    rows = []
    for path in paths:
        cells = [
            _cell(
                found.get(path),
                by_version[n - 1].get(path) if n else None,
                first=n == 0,
            )
            for n, found in enumerate(by_version)
        ]
        rows.append({"path": path, "depth": path.count("."), "cells": cells})
    return rows


def _reader_rows(event_type: str, versions: list[int]) -> list[dict]:
    rows = []
    for reader in _readers():
        if event_type not in reader.consumed_types:
            continue
        paths = reads(reader, event_type, versions)
        rows.append(
            {
                "name": reader.name,
                "effect": reader.effects[event_type],
                "reads": [
                    {"version": v, "upcast": path[1:]} for v, path in paths.items()
                ],
                "unreadable": [v for v in versions if v not in paths],
            }
        )
    return rows


def catalogue_entry(event_type: str) -> dict | None:
    """Everything the page of one type shows, or None for a type with no schema."""
    versions = event_versions().get(event_type)
    if versions is None:
        return None
    schemas = {v: schema_of(event_type, v) for v in versions}
    fields = [schema_fields(schemas[v]) for v in versions]
    steps = []
    for n, version in enumerate(versions[1:], 1):
        name = upcaster_name(event_type, versions[n - 1])
        steps.append(
            {
                "before": versions[n - 1],
                "after": version,
                "changes": fields_diff(fields[n - 1], fields[n]),
                "upcaster": name,
                "upcaster_url": source_link(UPCASTERS_FILE, name) if name else None,
            }
        )
    return {
        "type": event_type,
        "versions": [
            {
                "version": v,
                "title": schemas[v].get("title", ""),
                "description": schemas[v].get("description", ""),
                "schema_url": source_link(f"contracts/schemas/{event_type}.v{v}.json"),
                "samples": valid_samples(event_type, v),
            }
            for v in versions
        ],
        "rows": _side_by_side(fields),
        "steps": steps,
        "producer": producer_of(event_type),
        "readers": _reader_rows(event_type, versions),
    }
