"""The AsyncAPI document of this deployment: the kit's builder (contracts/asyncapi.py)
given the declared consumers, the broker topology and the broker's address.

Served at GET /api/v1/asyncapi.json (events/api/views.py); see
docs/lessons/versioned-schemas.md#the-catalogue.
"""

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from django.conf import settings

from contracts.asyncapi import Broker, asyncapi_document
from events import topology
from events.consumers import registry

AMQP_SCHEMES = {"amqp": "amqp", "pyamqp": "amqp", "amqps": "amqps"}
EMBEDDED = {
    "host": "localhost",
    "protocol": "kombu-filesystem",
    "title": "The embedded broker (a placeholder)",
    "description": "CELERY_BROKER_URL is `filesystem://`: kombu's filesystem "
    "transport, message files in a folder the processes of one machine share. "
    "It keeps the exchanges, routing keys and queues of the channels below, but "
    "has no network address. Set CELERY_BROKER_URL to an `amqp://` URL to run "
    "on RabbitMQ.",
}


def broker_servers(broker_url: str) -> tuple[dict[str, dict], str]:
    """Return ({name: AsyncAPI Server Object}, vhost) for CELERY_BROKER_URL.

    Only the host, port and virtual host are shown: credentials never leave
    the settings. A URL list (`amqp://a;amqp://b`, kombu's failover) is one
    server each.
    """
    servers: dict[str, dict] = {}
    vhost = "/"
    urls = [url.strip() for url in broker_url.split(";") if url.strip()]
    for n, url in enumerate(urls, 1):
        parts = urlsplit(url)
        protocol = AMQP_SCHEMES.get(parts.scheme)
        if protocol is None:
            servers["embedded"] = EMBEDDED
            continue
        host = parts.hostname or "localhost"
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address
        if parts.port:
            host = f"{host}:{parts.port}"
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        servers["rabbitmq" if len(urls) == 1 else f"rabbitmq-{n}"] = {
            "host": host,
            "protocol": protocol,
            "protocolVersion": "0.9.1",
            "title": "RabbitMQ",
            "description": f"The broker (virtual host `{vhost}`).",
        }
    return servers, vhost


def broker_facts(vhost: str = "/") -> Broker:
    """The topology as events/topology.py declares it, names as templates."""
    first = topology.partition_queues("{consumer}")[0]
    return Broker(
        exchange=topology.EXCHANGE.name,
        exchange_type=topology.EXCHANGE.type,
        dead_letter_exchange=topology.DEAD_LETTER_EXCHANGE.name,
        routing_key=topology.ROUTING_KEY,
        partition_queue=topology.PARTITION_QUEUE,
        dead_letter_queue=topology.DEAD_LETTER_QUEUE,
        partitions=settings.EVENT_PARTITIONS,
        task=topology.STREAM,
        vhost=vhost,
        queue_arguments=dict(first.queue_arguments or {}),
    )


def catalogue_document(*, links: Mapping[str, str] | None = None) -> dict:
    """The AsyncAPI 3.0.0 document of the consumers this deployment runs."""
    servers, vhost = broker_servers(settings.CELERY_BROKER_URL)
    running = set(settings.EVENT_CONSUMERS)
    readers = [consumer for consumer in registry() if consumer.name in running]
    return asyncapi_document(
        readers=readers, broker=broker_facts(vhost), servers=servers, links=links
    )
