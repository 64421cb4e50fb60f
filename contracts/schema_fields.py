"""The fields of a payload schema, flattened, and what changed between two versions:
what the catalogue page shows side by side.

A nested object's fields are named by their path (`creditor.iban`); a `$ref` to
the schema's own `$defs` is followed.
See docs/lessons/versioned-schemas.md#the-catalogue.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    path: str
    type: str  # "integer", "string (uuid)", "string | null", "object"
    required: bool
    description: str = ""


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "added", "removed" or "changed"
    before: str = ""
    after: str = ""


def _resolve(node: dict, root: dict) -> dict:
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return {
            **root["$defs"][ref.removeprefix("#/$defs/")],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    return node


def _type(node: dict) -> str:
    if "const" in node:
        return f"const {node['const']!r}"
    kinds = node.get("type", "any")
    label = " | ".join(kinds) if isinstance(kinds, list) else kinds
    return f"{label} ({node['format']})" if "format" in node else label


def _fields(node: dict, root: dict, prefix: str) -> list[Field]:
    found = []
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        child = _resolve(child, root)
        path = f"{prefix}{name}"
        found.append(
            Field(path, _type(child), name in required, child.get("description", ""))
        )
        if "properties" in child:
            found += _fields(child, root, f"{path}.")
    return found


def schema_fields(schema: dict) -> list[Field]:
    """Every field of the schema, parents before their children, in schema order."""
    return _fields(schema, schema, "")


def _shown(field: Field, required_changed: bool) -> str:
    if not required_changed:
        return field.type
    return f"{field.type}, {'required' if field.required else 'optional'}"


def fields_diff(before: list[Field], after: list[Field]) -> list[Change]:
    """What a reader of `before` finds different in `after`, in `after`'s order."""
    old = {field.path: field for field in before}
    new = {field.path: field for field in after}
    changes = []
    for path, field in new.items():
        was = old.get(path)
        if was is None:
            changes.append(Change(path, "added", after=field.type))
        elif (was.type, was.required) != (field.type, field.required):
            required_changed = was.required != field.required
            changes.append(
                Change(
                    path,
                    "changed",
                    before=_shown(was, required_changed),
                    after=_shown(field, required_changed),
                )
            )
    changes += [
        Change(path, "removed", before=field.type)
        for path, field in old.items()
        if path not in new
    ]
    return changes
