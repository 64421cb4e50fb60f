"""Load the JSON Schemas in contracts/schemas and validate envelopes against them."""

import json
from functools import cache
from pathlib import Path

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).parent / "schemas"
# The envelope every event is checked against. v2 is v1 plus the optional
# trace context (traceparent, tracestate): every v1 envelope is a valid v2 one,
# so events stored before it still validate. See
# docs/adr/0018-trace-context-travels.md.
ENVELOPE_VERSION = 2


class UnknownContract(LookupError):
    """No schema exists for this event type and version."""


class ContractViolation(ValueError):
    """An envelope or its payload does not match its schema."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _schema(name: str, version: int) -> dict:
    path = SCHEMA_DIR / f"{name}.v{version}.json"
    if not path.is_file():
        raise UnknownContract(f"no contract {name} v{version}")
    return json.loads(path.read_text())


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    """The reference validator: its messages are the ones a refusal gives."""
    return Draft202012Validator(_schema(name, version), format_checker=FormatChecker())


@cache
def _fast(name: str, version: int) -> jsonschema_rs.Draft202012Validator:
    """The same schema, compiled (Rust): every event is validated where it is
    written and again by each consumer, and the pure-Python validator was
    about a sixth of a consumer's time per event. It also checks `date-time`,
    which jsonschema's FormatChecker skips without an extra package."""
    return jsonschema_rs.Draft202012Validator(
        _schema(name, version), validate_formats=True
    )


def validators_forget() -> None:
    """Drop the loaded validators, so schemas are read again from SCHEMA_DIR."""
    _validator.cache_clear()
    _fast.cache_clear()


def dataschema_uri(event_type: str, version: int) -> str:
    return f"/contracts/{event_type}/v{version}"


def parse_dataschema(uri: str) -> tuple[str, int]:
    """Split `/contracts/PaymentApproved/v1` into ("PaymentApproved", 1)."""
    try:
        _, _, name, version = uri.split("/")
        return name, int(version.removeprefix("v"))
    except ValueError as exc:
        raise UnknownContract(f"unparseable dataschema {uri!r}") from exc


def _errors(name: str, version: int, instance, prefix: str) -> list[str]:
    """Why `instance` breaks the schema, sorted; empty when it does not."""
    if _fast(name, version).is_valid(instance):
        return []
    errors = [
        f"{prefix}{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: "
        f"{error.message}"
        for error in sorted(_validator(name, version).iter_errors(instance), key=str)
    ]
    # A format only the compiled validator checks (date-time) has no message
    # from the reference one: take the compiled validator's own.
    return errors or sorted(
        f"{prefix}{'/'.join(str(p) for p in error.instance_path) or '(root)'}: "
        f"{error.message}"
        for error in _fast(name, version).iter_errors(instance)
    )


def validate(envelope: dict) -> tuple[str, int]:
    """Validate the envelope and its payload; return the (type, version) it declares.

    Raises ContractViolation or UnknownContract; consumers call this too, so a
    message that breaks the contract is refused on both sides of the broker.
    """
    errors = _errors("envelope", ENVELOPE_VERSION, envelope, "envelope:")
    if errors:
        raise ContractViolation(errors)
    name, version = parse_dataschema(envelope["dataschema"])
    if name != envelope["type"]:
        raise ContractViolation([f"dataschema {name} does not match type"])
    errors = _errors(name, version, envelope["data"], "data:")
    if errors:
        raise ContractViolation(errors)
    return name, version
