"""Each consumer is declared once (its app's consumer.py, events/consumers.py);
the consumer list, the worker entry, the topology, the flow view, the compose
file and the app-boundary contracts follow from the declarations."""

import tomllib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import checks

from contracts.registry import SCHEMA_DIR
from events import worker_main
from events.consumers import Consumer, consumer_get, registry
from events.models import DeliveryStatus, InboxEntry, OutboxMessage
from events.publishers import KombuPublisher
from events.relay import relay_once
from events.topology import STREAM, partition_queue_name
from launcher.compose import compose_services
from payments.services import payment_approve
from tests.events.audit_consumer.consumer import AUDITED
from tests.events.conftest import queue_of
from tests.factories import payment_submitted
from web.flow import payment_flow

ROOT = Path(__file__).resolve().parents[2]
DECLARED = [
    "payments",
    "ledger",
    "notifications",
    "reconciliation",
    "settlement",
    "bank_gateway",
]


def test_the_registry_holds_what_the_apps_declare_and_is_the_default_list():
    # when
    consumers = registry()
    # then
    assert [c.name for c in consumers] == DECLARED
    assert [c.app for c in consumers] == DECLARED
    assert consumer_get("ledger").consumes == {
        ("PaymentApproved", 2),
        ("PaymentSettled", 1),
    }
    assert consumer_get("notifications").consumed_types == {
        "PaymentSubmitted",
        "PaymentApproved",
        "PaymentRejected",
        "PaymentCancelled",
        "PaymentSettled",
        "SettlementMismatchDetected",
    }
    # the test run sets no EVENT_CONSUMERS, so the setting is the declared list
    assert django_settings.EVENT_CONSUMERS == DECLARED


def test_every_consumed_type_and_version_has_a_published_contract():
    for consumer in registry():
        for event_type, version in consumer.consumes:
            assert (SCHEMA_DIR / f"{event_type}.v{version}.json").is_file(), (
                consumer.name,
                event_type,
                version,
            )


def _handler(event) -> None:
    pass


@pytest.mark.parametrize(
    ("handlers", "effects", "complaint"),
    [
        ({}, {"PaymentApproved": "x"}, "a handler for each consumed type"),
        (
            {("PaymentApproved", 1): _handler, ("PaymentRejected", 1): _handler},
            {"PaymentApproved": "x"},
            "a handler for each consumed type",
        ),
        ({("PaymentApproved", 1): _handler}, {}, "say the effect"),
    ],
)
def test_a_declaration_that_does_not_add_up_is_refused(handlers, effects, complaint):
    with pytest.raises(ValueError, match=complaint):
        Consumer(
            name="audit",
            consumes={("PaymentApproved", 1)},
            handlers=handlers,
            effects=effects,
        )


def test_the_import_linter_contracts_name_exactly_the_declared_consumer_apps():
    # given: the contracts cannot be generated at lint time, so they are checked
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    contracts = {c["name"]: c for c in config["importlinter"]["contracts"]}
    apps = {consumer.app for consumer in registry()}
    # the apps that produce events of their own (settlement's processing will
    # be a declared consumer too: then it is in both)
    producers = {"payments", "settlement"}
    # then: the producers and the consumer apps are independent of each other
    independence = [c for c in contracts.values() if c["type"] == "independence"]
    assert [set(c["modules"]) for c in independence] == [producers | apps]
    # the kit knows none of them; none of them knows the browser demo
    kit = contracts["The messaging kit and the contracts know no app"]
    assert producers | apps <= set(kit["forbidden_modules"])
    web = contracts[
        "The browser demo and its fault lab compose the apps; no app depends on them"
    ]
    assert set(web["source_modules"]) == producers | apps
    assert producers | apps <= set(config["importlinter"]["root_packages"])


def test_the_compose_file_runs_one_worker_per_declared_consumer():
    # when
    services = {s.name: s for s in compose_services({})}
    workers = {name: s for name, s in services.items() if name.endswith("-worker")}
    # then: each through the one worker entry, named after its consumer
    assert sorted(workers) == sorted(f"{name}-worker" for name in DECLARED)
    for name in DECLARED:
        command = workers[f"{name}-worker"].command
        assert command[:4] == ["celery", "-A", f"events.worker_main:{name}", "worker"]


def test_the_worker_entry_refuses_a_consumer_nobody_declared():
    with pytest.raises(
        AttributeError,
        match="declared: payments, ledger, notifications, reconciliation, settlement",
    ):
        worker_main.__getattr__("nobody")


def test_a_name_in_event_consumers_that_no_app_declares_is_a_warning(settings):
    # given
    settings.EVENT_CONSUMERS = ["ledger", "legder"]
    # when
    warnings = checks.run_checks(tags=None)
    # then
    assert [w.id for w in warnings if "legder" in w.msg] == ["events.W001"]


@pytest.fixture
def audit_installed(settings):
    """Install the toy audit app, with EVENT_CONSUMERS left to the declarations."""
    settings.EVENT_CONSUMERS = None  # as in a deployment that does not set it
    settings.INSTALLED_APPS = [
        *django_settings.INSTALLED_APPS,
        "tests.events.audit_consumer",
    ]
    AUDITED.clear()
    yield
    AUDITED.clear()
    vars(worker_main).pop("audit", None)  # the app the entry built and kept


def test_a_fourth_consumer_is_one_declaration_plus_its_handlers(
    audit_installed, broker, alice, bob, acme_eur
):
    # given: the toy app declares `audit`; nothing else in the project names it
    assert [c.name for c in registry()] == [*DECLARED, "audit"]
    assert [*DECLARED, "audit"] == django_settings.EVENT_CONSUMERS
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    rows = list(OutboxMessage.objects.order_by("id"))

    # when: the relay publishes as always
    assert relay_once(publisher=KombuPublisher("filesystem://")) == 2

    # then: the topology declared audit's queues, which hold the stream in order
    audit_queue = queue_of("audit", rows[0])
    delivered = broker.drain(audit_queue)
    assert [m.envelope["id"] for m in delivered] == [str(r.event_id) for r in rows]
    assert len(broker.drain(queue_of("ledger", rows[0]))) == 2

    # and the worker entry builds its app, which applies what it consumes
    app = worker_main.audit
    partitions = range(django_settings.EVENT_PARTITIONS)
    assert [q.name for q in app.conf.task_queues] == [
        partition_queue_name("audit", n) for n in partitions
    ]
    outcomes = [app.tasks[STREAM].apply(args=[m.envelope]).get() for m in delivered]
    assert outcomes == [DeliveryStatus.APPLIED, DeliveryStatus.APPLIED]
    assert [str(rows[1].event_id)] == AUDITED
    assert InboxEntry.objects.filter(consumer="audit").count() == 2

    # and the flow view shows it, in the words it declared
    flow = payment_flow(organisation_id=payment.organisation_id, payment=payment)
    submitted, approved = flow["events"]
    assert approved["effects"]["audit"] == "files an audit record"
    assert submitted["effects"]["audit"].startswith("nothing to do")
    assert approved["queues"]["audit"] == audit_queue
    assert "audit" in [c["name"] for c in flow["consumers"]]
