"""JSON bodies with bounded nesting: the attacker does not choose our stack depth.

Python's JSON decoder recurses once per level, so a body of a few thousand `[`
raises RecursionError (a 500) wherever it is read: DRF's parser and the
Idempotency-Key fingerprint. No command nests more than a few levels.
"""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


class JsonTooDeep(ParseError):
    default_detail = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep."


def _depth_exceeds(value, limit: int) -> bool:
    # Iterative, so measuring the depth cannot recurse either.
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_nesting_check(value):
    """Return the parsed JSON value, or raise JsonTooDeep if it nests too deep."""
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise JsonTooDeep()
    return value


def json_loads(raw: bytes | str):
    """json.loads, refusing nesting deeper than MAX_JSON_DEPTH with JsonTooDeep.

    Other malformed input raises ValueError as json.loads does.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep() from None
    return json_nesting_check(value)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser (strict: no NaN), refusing deep nesting with a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise JsonTooDeep() from None
        return json_nesting_check(value)
