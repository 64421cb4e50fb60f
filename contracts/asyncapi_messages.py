"""The AsyncAPI 3.0 Message Objects: one per event type and version, its payload
the published JSON Schema exactly, its examples the golden samples.

Built by contracts/asyncapi.py; see docs/lessons/versioned-schemas.md#the-catalogue.
"""

from contracts.catalogue import producer_of, schema_of, valid_samples
from contracts.registry import dataschema_uri

# The schemas are draft 2020-12; AsyncAPI's own Schema Object is a draft-07
# superset, so each payload is a Multi Format Schema Object saying its dialect.
# Each schema keeps its `$id`, which makes it its own resource: its
# `#/$defs/...` references resolve inside it, not against this document.
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
BINDING_VERSION = "0.3.0"


def message_key(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"


def multi_format(schema: dict) -> dict:
    return {"schemaFormat": SCHEMA_FORMAT, "schema": schema}


def _headers(event_type: str, task: str) -> dict:
    """The AMQP application headers the relay sets (events/messages.py)."""
    uuid = {"type": "string", "format": "uuid"}
    return {
        "type": "object",
        "required": ["task", "id", "event_type", "event_id"],
        "properties": {
            "task": {
                "const": task,
                "description": "Celery's task name: the stream, never a function "
                "(docs/adr/0006-events-as-celery-messages.md).",
            },
            "id": {**uuid, "description": "Celery's task id: the event's id."},
            "event_type": {"const": event_type},
            "event_id": {**uuid, "description": "The envelope's `id`."},
            "traceparent": {
                "type": "string",
                "description": "W3C trace context of the relay's publish span, "
                "when tracing is on (docs/adr/0018-trace-context-travels.md).",
            },
            "retries": {
                "type": "integer",
                "minimum": 0,
                "description": "Times a consumer sent it again to its own queue.",
            },
        },
    }


def _description(event_type: str, version: int, schema: dict, task: str) -> str:
    producer = producer_of(event_type)
    by = (
        f"`{producer.name}` (envelope `source` `{producer.source}`)" if producer else ""
    )
    return (
        f"{schema.get('description', '')}\n\n"
        f"On the wire: a Celery protocol-2 task message named `{task}` whose "
        "JSON body is `[[envelope], {}, embed]`. The envelope "
        "(`#/components/schemas/envelope.v2`, CloudEvents attribute names) "
        f"carries this payload in `data`, `type` = `{event_type}` and "
        f"`dataschema` = `{dataschema_uri(event_type, version)}`."
        + (f" Published by {by}." if by else "")
    )


def message(event_type: str, version: int, *, task: str) -> dict:
    """The Message Object of one version; `task` is the stream's task name."""
    schema = schema_of(event_type, version)
    producer = producer_of(event_type)
    return {
        "name": event_type,
        "title": schema.get("title", message_key(event_type, version)),
        "summary": f"{event_type}, version {version}",
        "description": _description(event_type, version, schema, task),
        "contentType": "application/json",
        "headers": _headers(event_type, task),
        "payload": multi_format(schema),
        "correlationId": {
            "location": "$message.header#/event_id",
            "description": "The event's id, also the AMQP `message_id` and "
            "`correlation_id`; every inbox row and delivery is keyed by it. The "
            "request that caused the event is the envelope's `correlationid`.",
        },
        "bindings": {
            "amqp": {
                "contentEncoding": "utf-8",
                "messageType": task,
                "bindingVersion": BINDING_VERSION,
            }
        },
        "examples": [
            {
                "name": f"{message_key(event_type, version)}.sample{n}",
                "summary": sample.get("why", ""),
                "payload": sample["data"],
            }
            for n, sample in enumerate(valid_samples(event_type, version), 1)
        ],
        "x-dataschema": dataschema_uri(event_type, version),
        "x-version": version,
        **({"x-producer": producer.name} if producer else {}),
    }
