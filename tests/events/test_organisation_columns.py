"""The organisation of an event is an indexed column of the outbox and the inbox:
filled by publish() and by the inbox, filled for old rows by the migration, and
what every tenant filter reads (on PostgreSQL through its index, not a scan).
"""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from events.inbox import consume, failure_record
from events.models import DeliveryStatus, InboxEntry, OutboxMessage
from tests.events.conftest import outbox_event
from tests.events_builders import payment_event
from web.selectors import event_log, inbox_trouble

pytestmark = pytest.mark.django_db


def test_publish_and_the_inbox_store_the_events_organisation(acme, globex, alice):
    # given / when: an event published, applied, and a successor parked
    row = outbox_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    consume(consumer="ledger", envelope=row.envelope, handlers={})
    ahead = payment_event(
        "PaymentApproved", organisation=globex, submitted_by=alice, sequence=2
    )
    consume(consumer="ledger", envelope=ahead.envelope, handlers={})
    # then
    assert OutboxMessage.objects.get(id=row.id).organisation_id == acme.id
    assert InboxEntry.objects.get(event_id=row.event_id).organisation_id == acme.id
    parked = InboxEntry.objects.get(event_id=ahead.id)
    assert (parked.status, parked.organisation_id) == (
        DeliveryStatus.PARKED,
        globex.id,
    )


def test_a_broken_envelope_is_still_dead_lettered_without_an_organisation(acme, alice):
    # given: a poison copy whose organisation is not even a UUID
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    broken = {**event.envelope, "data": {**event.data, "organisation_id": "acme"}}
    # when
    failure_record(consumer="ledger", envelope=broken, error="contract", final=True)
    # then
    entry = InboxEntry.objects.get(event_id=event.id)
    assert (entry.status, entry.organisation_id) == (
        DeliveryStatus.DEAD_LETTERED,
        None,
    )


def test_the_tenant_filters_read_the_column_not_the_payload(acme, globex, alice, gina):
    # given: globex's event, and one whose column says acme while its payload
    # says globex: only a filter on the column counts it as acme's
    theirs = outbox_event(organisation=globex, submitted_by=gina)
    filed = outbox_event(organisation=globex, submitted_by=gina)
    for row in (theirs, filed):
        failure_record(consumer="ledger", envelope=row.envelope, error="x", final=True)
    OutboxMessage.objects.filter(id=filed.id).update(organisation_id=acme.id)
    InboxEntry.objects.filter(event_id=filed.event_id).update(organisation_id=acme.id)
    # when
    events, _ = event_log(organisation_id=acme.id)
    trouble = list(inbox_trouble(organisation_id=acme.id))
    # then
    assert [str(e.event_id) for e in events] == [str(filed.event_id)]
    assert [str(t.event_id) for t in trouble] == [str(filed.event_id)]


@pytest.mark.postgres
def test_on_postgresql_the_event_log_uses_the_organisation_index(acme, alice):
    # given
    outbox_event(organisation=acme, submitted_by=alice)
    query = OutboxMessage.objects.filter(organisation_id=acme.id).order_by("-id")[:51]
    # when: the planner may not scan the whole table (it would, for a tiny one)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    # then
    assert "outbox_organisation" in plan, plan


def _organisation_columns_migration():
    """Return the events migration the organisation columns migration follows."""
    graph = MigrationExecutor(connection).loader.graph
    [node] = [
        key
        for key in graph.nodes
        if key[0] == "events" and key[1].endswith("_organisation_columns")
    ]
    [parent] = [p for p in graph.node_map[node].parents if p.key[0] == "events"]
    return parent.key


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_column_of_existing_rows(acme, alice):
    # given: the schema as it was before the column, with rows in it
    before = _organisation_columns_migration()
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps
    envelope = payment_event(
        "PaymentSubmitted", organisation=acme, submitted_by=alice
    ).envelope
    old.get_model("events", "OutboxMessage").objects.create(
        event_id=envelope["id"],
        event_type=envelope["type"],
        schema_version=1,
        source=envelope["source"],
        subject=envelope["subject"],
        partition_key=envelope["partitionkey"],
        sequence=envelope["sequence"],
        envelope=envelope,
    )
    old.get_model("events", "InboxEntry").objects.create(
        consumer="ledger",
        event_id=uuid.UUID(envelope["id"]),
        event_type=envelope["type"],
        subject=envelope["subject"],
        sequence=envelope["sequence"],
        partition_key=envelope["partitionkey"],
        status="parked",
        envelope={**envelope, "data": {"organisation_id": "not-a-uuid"}},
    )
    # when
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    # then
    assert OutboxMessage.objects.get().organisation_id == acme.id
    assert InboxEntry.objects.get().organisation_id is None
