"""The contract, checked: what `python manage.py check_contracts` enforces.

For every version of every event type: its schema (numbered 1, 2, ... with no
gap, its `$id` naming it), golden samples the schema accepts and refuses, an
upcaster from the previous version whose output of the previous version's
samples the new schema accepts, and, in every consumer that consumes the type,
a handler or a path of upcasters to one. Each type has a declared producer
(contracts/producers.py) and a stream (contracts/streams.py). Event names are
past tense. And the published schemas are the ones locked (contracts/lock.py).
The consumers are given as plain data, so contracts/ stays below every app.
See docs/lessons/versioned-schemas.md.
"""

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

from contracts.lock import CONTRACTS_DIR, LOCK_FILE, SCHEMA_DIR, lock_problems
from contracts.producers import PRODUCERS, Producer
from contracts.streams import STREAMS
from contracts.upcasters import UPCASTERS, Upcaster, upcast_path

SAMPLE_DIR = CONTRACTS_DIR / "samples"
SCHEMA_NAME = re.compile(r"^(?P<type>[A-Za-z]+)\.v(?P<version>[1-9][0-9]*)\.json$")
# The envelope is the frame every event travels in, not an event type.
NOT_EVENTS = {"envelope"}
# An event is a fact, named in the past tense: most English verbs end in "ed"
# there; the irregular ones a payment's life may need are listed, so a name
# like PaymentSend or PaymentApprove (a command) is refused.
IRREGULAR_PAST = frozenset({"Paid", "Sent", "Held", "Withdrawn", "Undone", "Made"})


@dataclass(frozen=True)
class Contracts:
    """Where the contracts live and who reads them (swappable in tests)."""

    schema_dir: Path = SCHEMA_DIR
    sample_dir: Path = SAMPLE_DIR
    lock_file: Path = LOCK_FILE
    upcasters: Mapping[tuple[str, int], Upcaster] = field(
        default_factory=lambda: UPCASTERS
    )
    # consumer name -> the (type, version) pairs it has handlers for
    consumers: Mapping[str, Collection[tuple[str, int]]] = field(default_factory=dict)
    producers: Mapping[str, Producer] = field(default_factory=lambda: PRODUCERS)
    # event type -> the stream whose subjects its events have
    streams: Mapping[str, str] = field(
        default_factory=lambda: {t: s.name for s in STREAMS for t in s.types}
    )


def published(schema_dir: Path) -> dict[str, list[int]]:
    """{event type: its versions, ascending} as the schema files say."""
    versions: dict[str, list[int]] = {}
    for path in schema_dir.glob("*.json"):
        match = SCHEMA_NAME.match(path.name)
        if match and match["type"] not in NOT_EVENTS:
            versions.setdefault(match["type"], []).append(int(match["version"]))
    return {name: sorted(found) for name, found in sorted(versions.items())}


def past_tense(event_type: str) -> bool:
    last_word = re.findall(r"[A-Z][a-z]*", event_type)[-1:] or [event_type]
    return last_word[0].endswith("ed") or last_word[0] in IRREGULAR_PAST


def _samples(path: Path) -> list[dict] | str:
    if not path.is_file():
        return f"no golden samples {path.name}"
    try:
        samples = json.loads(path.read_text())
    except ValueError as exc:
        return f"{path.name} is not JSON: {exc}"
    if not (
        isinstance(samples, list)
        and samples
        and all(isinstance(s, dict) and "data" in s for s in samples)
    ):
        return f'{path.name} must list at least one {{"why": ..., "data": ...}}'
    return samples


def _version_problems(
    contracts: Contracts, event_type: str, version: int
) -> tuple[list[str], list[dict]]:
    name = f"{event_type}.v{version}"
    path = contracts.schema_dir / f"{name}.json"
    if not path.is_file():
        return [f"{name}: no schema (versions are numbered without a gap)"], []
    try:
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
    except Exception as exc:
        return [f"{name}: not a valid JSON Schema: {exc}"], []
    problems = []
    if schema.get("$id") != f"/contracts/{event_type}/v{version}":
        problems.append(f"{name}: $id must be /contracts/{event_type}/v{version}")
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    valid = _samples(contracts.sample_dir / f"{name}.valid.json")
    invalid = _samples(contracts.sample_dir / f"{name}.invalid.json")
    for samples, accepted in ((valid, True), (invalid, False)):
        if isinstance(samples, str):
            problems.append(f"{name}: {samples}")
            continue
        for sample in samples:
            if validator.is_valid(sample["data"]) != accepted:
                verdict = "refuses the valid" if accepted else "accepts the invalid"
                problems.append(
                    f"{name}: the schema {verdict} sample {sample.get('why', '')!r}"
                )
    return problems, valid if isinstance(valid, list) else []


def _upcaster_problems(
    contracts: Contracts, event_type: str, version: int, previous: list[dict]
) -> list[str]:
    upcaster = contracts.upcasters.get((event_type, version - 1))
    name = f"{event_type}.v{version}"
    if upcaster is None:
        return [f"{name}: no upcaster from v{version - 1}"]
    schema = json.loads((contracts.schema_dir / f"{name}.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    problems = []
    for sample in previous:
        envelope = {"time": "2026-01-01T00:00:00+00:00", "data": sample["data"]}
        try:
            data = upcaster(envelope)
        except Exception as exc:
            problems.append(
                f"{name}: the upcaster fails on {sample.get('why')!r}: {exc}"
            )
            continue
        if not validator.is_valid(data):
            problems.append(
                f"{name}: the upcaster makes an invalid v{version} of the "
                f"v{version - 1} sample {sample.get('why', '')!r}"
            )
    return problems


def contract_problems(contracts: Contracts) -> list[str]:
    """Every way the contracts break the rules above; empty when they hold."""
    problems = lock_problems(contracts.schema_dir, contracts.lock_file)
    types = published(contracts.schema_dir)
    for event_type, versions in types.items():
        if not past_tense(event_type):
            problems.append(
                f"{event_type}: an event is a fact, named in the past tense "
                f"(ends in 'ed', or one of {sorted(IRREGULAR_PAST)})"
            )
        if event_type not in contracts.producers:
            problems.append(
                f"{event_type}: no declared producer (add it to "
                "contracts/producers.py: who publishes it, with which source)"
            )
        if event_type not in contracts.streams:
            problems.append(
                f"{event_type}: no stream (add it to contracts/streams.py: whose "
                "subjects its events have; consumers are bound by stream)"
            )
        previous: list[dict] = []
        for version in range(1, versions[-1] + 1):
            found, valid = _version_problems(contracts, event_type, version)
            problems += found
            if version > 1:
                problems += _upcaster_problems(contracts, event_type, version, previous)
            previous = valid
    problems += [
        f"{event_type}: a producer is declared, but no schema of it"
        for event_type in sorted(set(contracts.producers) - set(types))
    ]
    problems += [
        f"{event_type}: a stream is declared, but no schema of it"
        for event_type in sorted(set(contracts.streams) - set(types))
    ]
    for consumer, reads in sorted(contracts.consumers.items()):
        for event_type in sorted({t for t, _ in reads}):
            readable = {v for t, v in reads if t == event_type}
            if event_type not in types:
                problems.append(f"{consumer} consumes {event_type}: no schema of it")
                continue
            for version in types[event_type]:
                if (
                    upcast_path(event_type, version, readable, contracts.upcasters)
                    is None
                ):
                    problems.append(
                        f"{consumer} cannot read {event_type} v{version}: no handler "
                        "and no upcaster path to a version it handles"
                    )
    return problems
