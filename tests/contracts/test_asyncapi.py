"""The event catalogue served at /api/v1/asyncapi.json is a valid AsyncAPI 3.0.0
document, checked against the official JSON Schema (vendored in asyncapi/), and
says what the contracts and the consumers' declarations say.
"""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from contracts.catalogue import event_versions, valid_samples
from contracts.lock import SCHEMA_DIR
from contracts.producers import PRODUCERS
from events import topology
from events.catalogue import broker_servers, catalogue_document
from events.consumers import registry
from events.envelope import envelope_build
from events.messages import task_message

SPEC = Path(__file__).parent / "asyncapi" / "3.0.0.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    spec = json.loads(SPEC.read_text())
    Draft7Validator.check_schema(spec)
    # Every $ref of the bundle is #/definitions/...: resolved inside the file.
    return Draft7Validator(spec, format_checker=FormatChecker())


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def errors(validator: Draft7Validator, document: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def resolve(document: dict, ref: str):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_served_document_is_valid_asyncapi_3(validator, document):
    # then
    assert document["asyncapi"] == "3.0.0"
    assert errors(validator, document) == []
    # it links the lesson and the browsable catalogue, absolute as AsyncAPI wants
    lesson = "http://testserver/docs/lessons/versioned-schemas.md"
    assert document["info"]["externalDocs"]["url"] == lesson
    assert "(http://testserver/catalogue/)" in document["info"]["description"]


@pytest.mark.parametrize(
    ("why", "break_it"),
    [
        ("an AsyncAPI 2 version", lambda d: d.update(asyncapi="2.6.0")),
        ("no info", lambda d: d.pop("info")),
        (
            "a field a channel does not have",
            lambda d: d["channels"]["PaymentApproved"].update(routingKey="x"),
        ),
        (
            "AsyncAPI 2's verb for an operation",
            lambda d: d["operations"]["PaymentApproved.send"].update(action="publish"),
        ),
        (
            "a server without its protocol",
            lambda d: d["servers"].update(x={"host": "h"}),
        ),
        (
            "an AMQP channel binding that is both a queue and an exchange",
            lambda d: d["channels"]["ledger.dead"]["bindings"]["amqp"].update(
                exchange={"name": "payments.events"}
            ),
        ),
    ],
)
def test_the_same_validator_refuses_a_broken_document(
    validator, document, why, break_it
):
    # given
    broken = copy.deepcopy(document)
    break_it(broken)

    # then
    assert errors(validator, broken) != [], why


def test_every_type_and_version_is_a_message_with_its_exact_schema(document):
    messages = document["components"]["messages"]

    # then
    expected = {f"{t}.v{v}" for t, vs in event_versions().items() for v in vs}
    assert set(messages) == expected
    assert {"PaymentApproved.v1", "PaymentApproved.v2"} <= expected
    for key, message in messages.items():
        event_type, version = key.split(".v")
        on_disk = json.loads((SCHEMA_DIR / f"{key}.json").read_text())
        assert message["payload"] == {
            "schemaFormat": "application/schema+json;version=draft-2020-12",
            "schema": on_disk,
        }, key
        Draft202012Validator.check_schema(message["payload"]["schema"])
        assert message["name"] == event_type
        assert message["contentType"] == "application/json"
        assert message["x-dataschema"] == f"/contracts/{event_type}/v{version}"
        samples = valid_samples(event_type, int(version))
        assert [e["payload"] for e in message["examples"]] == [
            s["data"] for s in samples
        ]


def test_each_type_is_sent_by_its_declared_producer_on_its_own_channel(document):
    # then
    for event_type, versions in event_versions().items():
        send = document["operations"][f"{event_type}.send"]
        assert send["action"] == "send"
        assert send["x-producer"]["name"] == PRODUCERS[event_type].name
        assert send["x-producer"]["source"] == PRODUCERS[event_type].source
        assert [resolve(document, m["$ref"])["$ref"] for m in send["messages"]] == [
            f"#/components/messages/{event_type}.v{v}" for v in versions
        ]


def test_every_consumer_receives_what_it_consumes(document):
    # then
    for consumer in registry():
        receive = document["operations"][f"{consumer.name}.receive"]
        assert receive["action"] == "receive"
        listed = {m["$ref"].rsplit("/", 1)[1] for m in receive["messages"]}
        assert {f"{t}.v{v}" for t, v in consumer.consumes} <= listed, consumer.name
        described = {c["type"]: c for c in receive["x-consumes"]}
        for event_type in consumer.consumed_types:
            assert described[event_type]["effect"] == consumer.effects[event_type]


def test_the_ledger_reads_v2_and_v1_upcast(document):
    receive = document["operations"]["ledger.receive"]

    # then
    assert [m["$ref"] for m in receive["messages"]] == [
        "#/channels/ledger.partitions/messages/PaymentApproved.v1",
        "#/channels/ledger.partitions/messages/PaymentApproved.v2",
        "#/channels/ledger.partitions/messages/PaymentSettled.v1",
    ]
    assert receive["x-consumes"] == [
        {
            "type": "PaymentApproved",
            "handles": [2],
            "reads": {"1": [1, 2], "2": [2]},
            "effect": "books a pending journal entry",
        },
        {
            "type": "PaymentSettled",
            "handles": [1],
            "reads": {"1": [1]},
            "effect": "posts the entry: paid",
        },
    ]
    assert (
        "PaymentApproved v1, upcast v1 → v2: books a pending journal entry"
        in (receive["description"])
    )


def test_every_reference_resolves_and_operations_pick_from_their_channel(document):
    # then
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        resolve(document, channel)
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(channel + "/messages/"), name
            target = resolve(document, ref["$ref"])
            resolve(document, target["$ref"])
    for channel in document["channels"].values():
        for ref in [
            *channel["messages"].values(),
            *channel.get("parameters", {}).values(),
        ]:
            resolve(document, ref["$ref"])


def test_the_addresses_are_the_topologys_names(document, settings):
    channels = document["channels"]

    # then: each address, its partition filled in, is what the broker uses
    for n in range(settings.EVENT_PARTITIONS):
        assert channels["PaymentApproved"]["address"].format(partition=n) == (
            topology.routing_key("PaymentApproved", n)
        )
        assert channels["ledger.partitions"]["address"].format(partition=n) == (
            topology.partition_queue_name("ledger", n)
        )
    assert channels["ledger.dead"]["address"] == topology.dead_letter_queue_name(
        "ledger"
    )
    exchange = channels["PaymentApproved"]["bindings"]["amqp"]["exchange"]
    assert (exchange["name"], exchange["type"]) == ("payments.events", "topic")
    arguments = channels["ledger.partitions"]["bindings"]["amqp"]["x-arguments"]
    assert arguments["x-dead-letter-routing-key"] == "ledger"
    # and: the ledger's queues are bound to the streams it reads, and only those
    keys = channels["ledger.partitions"]["bindings"]["amqp"]["x-binding-keys"]
    assert [key.format(partition=0) for key in keys] == (
        topology.partition_routing_keys("ledger", 0)
    )
    assert "PaymentReleased.v1" not in channels["ledger.partitions"]["messages"]
    assert "PaymentSubmitted.v1" in channels["ledger.partitions"]["messages"]
    partition = document["components"]["parameters"]["partition"]
    assert partition["enum"] == [str(n) for n in range(settings.EVENT_PARTITIONS)]


def test_the_relays_real_message_matches_the_document(document):
    # given: the message the relay would publish for a v2 approval
    [sample, *_] = valid_samples("PaymentApproved", 2)
    envelope = envelope_build(
        event_type="PaymentApproved",
        version=2,
        source="/payments",
        subject=sample["data"]["payment_id"],
        partition_key=sample["data"]["debtor_account_id"],
        sequence=2,
        data=sample["data"],
    )
    headers, properties, body = task_message(envelope)
    components = document["components"]
    message = components["messages"]["PaymentApproved.v2"]

    # then: its headers, its envelope and the payload inside it are as documented
    headers_schema = Draft7Validator(message["headers"])
    assert headers_schema.is_valid(headers)
    assert not headers_schema.is_valid({**headers, "event_type": "PaymentRejected"})
    assert properties["correlation_id"] == headers["event_id"] == envelope["id"]
    [[sent], _kwargs, _embed] = json.loads(body)
    envelope_schema = components["schemas"]["envelope.v2"]["schema"]
    assert Draft202012Validator(envelope_schema).is_valid(sent)
    assert Draft202012Validator(message["payload"]["schema"]).is_valid(sent["data"])
    assert sent["dataschema"] == message["x-dataschema"]


def test_the_broker_is_named_without_its_credentials(settings, validator):
    # given
    settings.CELERY_BROKER_URL = "amqp://payments:s3cret@rabbit.internal:5672/prod"

    # when
    document = catalogue_document()

    # then
    assert document["servers"] == {
        "rabbitmq": {
            "host": "rabbit.internal:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "title": "RabbitMQ",
            "description": "The broker (virtual host `prod`).",
        }
    }
    assert "s3cret" not in json.dumps(document)
    exchange = document["channels"]["PaymentSubmitted"]["bindings"]["amqp"]["exchange"]
    assert exchange["vhost"] == "prod"
    assert errors(validator, document) == []


@pytest.mark.parametrize(
    ("url", "servers"),
    [
        ("amqp://guest:guest@127.0.0.1:5672//", {"rabbitmq": "127.0.0.1:5672"}),
        ("pyamqp://u:p@[::1]:5672/", {"rabbitmq": "[::1]:5672"}),
        (
            "amqp://u:p@a:5672//;amqp://u:p@b:5672//",
            {"rabbitmq-1": "a:5672", "rabbitmq-2": "b:5672"},
        ),
        ("filesystem://", {"embedded": "localhost"}),
    ],
)
def test_broker_servers(url, servers):
    found, _ = broker_servers(url)

    assert {name: server["host"] for name, server in found.items()} == servers
    assert all(":p@" not in json.dumps(server) for server in found.values())


def test_the_embedded_broker_is_a_placeholder_that_says_so(settings):
    settings.CELERY_BROKER_URL = "filesystem://"

    [(name, server)] = catalogue_document()["servers"].items()

    assert name == "embedded"
    assert server["protocol"] == "kombu-filesystem"
    assert "placeholder" in server["title"]


def test_the_document_is_public_like_the_openapi_one(client):
    # when: nobody signed in
    asyncapi = client.get("/api/v1/asyncapi.json")
    openapi = client.get("/api/v1/schema")

    # then
    assert asyncapi.status_code == openapi.status_code == 200


def test_a_consumer_the_deployment_does_not_run_is_left_out(settings):
    settings.EVENT_CONSUMERS = ["ledger"]

    document = catalogue_document()

    assert [k for k in document["operations"] if k.endswith(".receive")] == [
        "ledger.receive"
    ]
    assert "notifications.partitions" not in document["channels"]
