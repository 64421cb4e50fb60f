"""The event catalogue as an AsyncAPI 3.0.0 document: the stream, its messages,
who sends them and who receives which versions.

The document is built from the contracts (schemas, samples, producers,
upcasters) and from facts the caller passes in: the readers (the consumers'
declarations), the broker's topology and its servers. contracts/ imports no
app; events/catalogue.py gathers those facts and serves the result.

The channels follow the broker. The relay publishes to one topic exchange with
the routing key `payments.<EventType>.<partition>`. An AsyncAPI 3 channel lists
the messages that travel on it, and an operation picks its messages from its
channel's, so there is **one channel per event type**, its address that
routing key with `{partition}` as a parameter: a type's send operation then
names exactly that type's versions. A single `payments.{eventType}.{partition}`
channel would hold every message and lose which key carries which type. Each
consumer receives from its own partition queues (`<consumer>.p{partition}`,
bound to every type of the streams it reads, contracts/streams.py), a channel
with the AMQP queue bindings,
and its receive operation lists the versions it reads; its dead-letter queue is
one more channel. See docs/lessons/versioned-schemas.md#the-catalogue.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from contracts.asyncapi_messages import (
    BINDING_VERSION,
    message,
    message_key,
    multi_format,
)
from contracts.catalogue import (
    Reader,
    envelope_schema,
    event_versions,
    producer_of,
    reads,
)
from contracts.registry import ENVELOPE_VERSION
from contracts.streams import types_received

ASYNCAPI_VERSION = "3.0.0"
# The version of this document's shape; each event's own version is its message's.
DOCUMENT_VERSION = "1.0.0"


@dataclass(frozen=True)
class Broker:
    """The topology, with names as templates: `{event_type}`, `{partition}`,
    `{consumer}` (events/topology.py)."""

    exchange: str
    exchange_type: str
    dead_letter_exchange: str
    routing_key: str
    partition_queue: str
    dead_letter_queue: str
    partitions: int
    task: str
    vhost: str = "/"
    queue_arguments: Mapping[str, object] = field(default_factory=dict)


def _ref(*path: str) -> dict:
    return {"$ref": "#/" + "/".join(path)}


def _queue_binding(name: str, broker: Broker, **extensions) -> dict:
    queue = {
        "name": name,
        "durable": True,
        "exclusive": False,
        "autoDelete": False,
        "vhost": broker.vhost,
    }
    return {
        "amqp": {
            "is": "queue",
            "queue": queue,
            "bindingVersion": BINDING_VERSION,
            **extensions,
        }
    }


def _type_channel(event_type: str, versions: list[int], broker: Broker) -> dict:
    address = broker.routing_key.format(event_type=event_type, partition="{partition}")
    return {
        "address": address,
        "title": event_type,
        "summary": f"Every version of {event_type}, on the stream's exchange.",
        "messages": {
            message_key(event_type, v): _ref(
                "components", "messages", message_key(event_type, v)
            )
            for v in versions
        },
        "parameters": {"partition": _ref("components", "parameters", "partition")},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": broker.exchange,
                    "type": broker.exchange_type,
                    "durable": True,
                    "autoDelete": False,
                    "vhost": broker.vhost,
                },
                "bindingVersion": BINDING_VERSION,
            }
        },
    }


def _consumer_channels(
    reader: Reader, types: Mapping[str, list[int]], broker: Broker
) -> dict:
    received = sorted(types_received({t for t, _ in reader.consumes}) & set(types))
    every = {
        message_key(t, v): _ref("components", "messages", message_key(t, v))
        for t in received
        for v in types[t]
    }
    name = reader.name
    queue = broker.partition_queue.format(consumer=name, partition="{partition}")
    dead = broker.dead_letter_queue.format(consumer=name)
    arguments = {
        key: value.format(consumer=name) if isinstance(value, str) else value
        for key, value in broker.queue_arguments.items()
    }
    bound = [
        broker.routing_key.format(event_type=t, partition="{partition}")
        for t in received
    ]
    return {
        f"{name}.partitions": {
            "address": queue,
            "title": f"Partition queues of {name}",
            "description": (
                f"One durable queue per partition, bound to `{broker.exchange}` "
                "with one key per type of the streams it reads: every event of "
                "those streams in the partition arrives, in order, and nothing "
                "else. An event of a type it does not consume only advances its "
                f"position. A message rejected goes to `{dead}`."
            ),
            "messages": every,
            "parameters": {"partition": _ref("components", "parameters", "partition")},
            "bindings": _queue_binding(
                queue,
                broker,
                **{"x-binding-keys": bound, "x-arguments": arguments},
            ),
        },
        f"{name}.dead": {
            "address": dead,
            "title": f"Dead letters of {name}",
            "description": (
                f"Events {name} could not apply (the reason is on its inbox row), "
                f"and messages its partition queues rejected, via "
                f"`{broker.dead_letter_exchange}`. An operator redrives them."
            ),
            "messages": every,
            "bindings": _queue_binding(dead, broker),
        },
    }


def _send(event_type: str, versions: list[int]) -> dict | None:
    producer = producer_of(event_type)
    if producer is None:
        return None
    return {
        "action": "send",
        "channel": _ref("channels", event_type),
        "title": f"{producer.name} publishes {event_type}",
        "description": (
            f"`{producer.name}` writes the event to its outbox in the transaction "
            "of the change it announces; the relay publishes it (persistent, "
            "mandatory, with publisher confirms). Every version listed may be on "
            "the wire: a replay sends old events as they were published."
        ),
        "messages": [
            _ref("channels", event_type, "messages", message_key(event_type, v))
            for v in versions
        ],
        "bindings": {
            "amqp": {
                "deliveryMode": 2,
                "mandatory": True,
                "bindingVersion": BINDING_VERSION,
            }
        },
        "x-producer": {"name": producer.name, "source": producer.source},
    }


def _receive(reader: Reader, types: Mapping[str, list[int]]) -> dict:
    channel = f"{reader.name}.partitions"
    consumed, lines, refs = [], [], []
    for event_type in sorted({t for t, _ in reader.consumes}):
        paths = reads(reader, event_type, types.get(event_type, []))
        effect = reader.effects.get(event_type, "")
        for version, path in sorted(paths.items()):
            refs.append(
                _ref("channels", channel, "messages", message_key(event_type, version))
            )
            how = (
                "as it is"
                if len(path) == 1
                else "upcast " + " → ".join(f"v{v}" for v in path)
            )
            lines.append(f"- {event_type} v{version}, {how}: {effect}")
        consumed.append(
            {
                "type": event_type,
                "handles": sorted(v for t, v in reader.consumes if t == event_type),
                "reads": {str(v): path for v, path in sorted(paths.items())},
                "effect": effect,
            }
        )
    return {
        "action": "receive",
        "channel": _ref("channels", channel),
        "title": f"{reader.name} receives",
        "description": "\n".join(lines),
        "messages": refs,
        "bindings": {"amqp": {"ack": True, "bindingVersion": BINDING_VERSION}},
        "x-consumes": consumed,
    }


def asyncapi_document(
    *,
    readers: Sequence[Reader],
    broker: Broker,
    servers: Mapping[str, dict],
    links: Mapping[str, str] | None = None,
) -> dict:
    """Return the AsyncAPI 3.0.0 document of the stream, as a JSON-ready dict.

    `servers` are AsyncAPI Server Objects by name; `links` (label -> absolute
    URL) go into the description, the first also as `externalDocs`.
    """
    links = links or {}
    types = event_versions()
    channels = {t: _type_channel(t, versions, broker) for t, versions in types.items()}
    operations = {}
    for event_type, versions in types.items():
        send = _send(event_type, versions)
        if send is not None:
            operations[f"{event_type}.send"] = send
    for reader in readers:
        channels |= _consumer_channels(reader, types, broker)
        operations[f"{reader.name}.receive"] = _receive(reader, types)
    partitions = [str(n) for n in range(broker.partitions)]
    info = {
        "title": "Payment events",
        "version": DOCUMENT_VERSION,
        "description": (
            "The events of the payment workflow: each type and version with its "
            "JSON Schema, who publishes it and which consumer reads which versions. "
            "A published version never changes; a change is a new version, and "
            "older ones are upcast on read.\n\n"
            + "".join(f"- [{label}]({url})\n" for label, url in links.items())
        ),
    }
    if links:
        label, url = next(iter(links.items()))
        info["externalDocs"] = {"description": label, "url": url}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
        "servers": dict(servers),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {
                message_key(t, v): message(t, v, task=broker.task)
                for t, versions in types.items()
                for v in versions
            },
            "schemas": {
                f"envelope.v{ENVELOPE_VERSION}": multi_format(envelope_schema())
            },
            "parameters": {
                "partition": {
                    "description": "crc32 of the envelope's `partitionkey` (the "
                    f"debtor account) modulo {broker.partitions}: one account's "
                    "events share a partition and keep their order.",
                    "enum": partitions,
                    "examples": partitions[:1],
                }
            },
        },
    }
