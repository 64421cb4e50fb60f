"""Load the JSON Schemas in contracts/schemas and validate envelopes against them."""

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).parent / "schemas"


class UnknownContract(LookupError):
    """No schema exists for this event type and version."""


class ContractViolation(ValueError):
    """An envelope or its payload does not match its schema."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    path = SCHEMA_DIR / f"{name}.v{version}.json"
    if not path.is_file():
        raise UnknownContract(f"no contract {name} v{version}")
    schema = json.loads(path.read_text())
    return Draft202012Validator(schema, format_checker=FormatChecker())


def dataschema_uri(event_type: str, version: int) -> str:
    return f"/contracts/{event_type}/v{version}"


def parse_dataschema(uri: str) -> tuple[str, int]:
    """Split `/contracts/PaymentApproved/v1` into ("PaymentApproved", 1)."""
    try:
        _, _, name, version = uri.split("/")
        return name, int(version.removeprefix("v"))
    except ValueError as exc:
        raise UnknownContract(f"unparseable dataschema {uri!r}") from exc


def _errors(validator: Draft202012Validator, instance, prefix: str) -> list[str]:
    return [
        f"{prefix}{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: "
        f"{error.message}"
        for error in sorted(validator.iter_errors(instance), key=str)
    ]


def validate(envelope: dict) -> tuple[str, int]:
    """Validate the envelope and its payload; return the (type, version) it declares.

    Raises ContractViolation or UnknownContract; consumers call this too, so a
    message that breaks the contract is refused on both sides of the broker.
    """
    errors = _errors(_validator("envelope", 1), envelope, "envelope:")
    if errors:
        raise ContractViolation(errors)
    name, version = parse_dataschema(envelope["dataschema"])
    if name != envelope["type"]:
        raise ContractViolation([f"dataschema {name} does not match type"])
    errors = _errors(_validator(name, version), envelope["data"], "data:")
    if errors:
        raise ContractViolation(errors)
    return name, version
