"""A burst's inbox rows, positions and delivery records: one statement on
PostgreSQL, the same rows as the ORM writes (events/inbox_flush.py)."""

import re
import uuid
from contextlib import contextmanager

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.inbox_flush import _positions_update, _rows_write_orm, rows_write
from events.models import ConsumerPosition, Delivery, DeliveryStatus, InboxEntry

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

APPLIED = DeliveryStatus.APPLIED
IGNORED = ("id", "consumer", "received_at", "applied_at", "at")


def burst_rows(consumer: str, events: list[dict]):
    """What a burst of `events` (one already dead-lettered) leaves to write."""
    now = timezone.now()
    redriven = events[0]
    InboxEntry.objects.create(
        consumer=consumer,
        status=DeliveryStatus.DEAD_LETTERED,
        error="KeyError: 'x'",
        **{k: v for k, v in redriven.items() if k != "id"},
        event_id=redriven["id"],
    )
    applied = [
        InboxEntry(
            consumer=consumer,
            status=APPLIED,
            applied_at=now,
            **{k: v for k, v in event.items() if k != "id"},
            event_id=event["id"],
        )
        for event in events
    ]
    positions = [
        ConsumerPosition.objects.create(consumer=consumer, subject=subject)
        for subject in ("payment-a", "payment-b")
    ]
    positions[0].last_sequence, positions[1].last_sequence = 2, 1
    positions[1].parked = True
    deliveries = [
        Delivery(consumer=consumer, event_id=event["id"], status=APPLIED)
        for event in events
    ] + [
        Delivery(
            consumer=consumer,
            event_id=events[0]["id"],
            status=DeliveryStatus.SKIPPED_DUPLICATE,
        )
    ]
    return applied, positions, deliveries


def events() -> list[dict]:
    def event(subject: str, sequence: int, organisation) -> dict:
        return {
            "id": uuid.uuid4(),
            "event_type": "PaymentApproved",
            "subject": subject,
            "sequence": sequence,
            "partition_key": "account-1",
            # Each its own, so a row given another's envelope would show; with
            # the characters JSON and SQL escape.
            "envelope": {
                "data": {
                    "reference": 'Zahlung "für" März ✓ \\ it\'s',
                    "n": [1, None],
                    "of": f"{subject}#{sequence}",
                }
            },
            "organisation_id": organisation,
        }

    return [
        event("payment-a", 1, uuid.uuid4()),
        event("payment-a", 2, uuid.uuid4()),
        event("payment-b", 1, None),  # an event with no organisation
    ]


def written(consumer: str) -> dict:
    def rows(model, *order: str) -> list[dict]:
        return [
            {k: v for k, v in row.items() if k not in IGNORED}
            for row in model.objects.filter(consumer=consumer).order_by(*order).values()
        ]

    return {
        "inbox": rows(InboxEntry, "subject", "sequence"),
        "positions": rows(ConsumerPosition, "subject"),
        "deliveries": rows(Delivery, "id"),
    }


def test_a_burst_writes_its_rows_in_one_statement_as_the_orm_would():
    # given: the same burst for two consumers
    batch = events()
    ours = burst_rows("flushed", batch)
    theirs = burst_rows("orm", [{**event, "id": uuid.uuid4()} for event in batch])

    # when
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        rows_write(applied=ours[0], positions=ours[1], deliveries=ours[2])
    with transaction.atomic():
        _rows_write_orm(*theirs)

    # then: one statement wrote all three kinds, and what it wrote is the
    # ORM's rows (the dead-lettered row now applied, its error cleared)
    assert len(queries.captured_queries) == 1
    flushed, orm = written("flushed"), written("orm")
    for kind in ("inbox", "deliveries"):
        for row in flushed[kind] + orm[kind]:
            row.pop("event_id")
    assert flushed == orm
    assert [row["status"] for row in flushed["inbox"]] == [APPLIED] * 3
    assert {row["error"] for row in flushed["inbox"]} == {""}
    assert [(r["last_sequence"], r["parked"]) for r in flushed["positions"]] == [
        (2, False),
        (1, True),
    ]
    assert len(flushed["deliveries"]) == 4
    timestamps = InboxEntry.objects.filter(consumer="flushed").values_list(
        "received_at", "applied_at"
    )
    assert all(received and applied for received, applied in timestamps)


def test_a_burst_with_only_delivery_records_writes_them_alone():
    # given: a burst of duplicates only (no inbox row, no position moved)
    deliveries = [
        Delivery(
            consumer="flushed",
            event_id=uuid.uuid4(),
            status=DeliveryStatus.SKIPPED_DUPLICATE,
        )
    ]

    # when
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        rows_write(applied=[], positions=[], deliveries=deliveries)

    # then
    assert len(queries.captured_queries) == 1
    assert not queries.captured_queries[0]["sql"].startswith("WITH")
    assert Delivery.objects.filter(consumer="flushed").count() == 1


def test_a_value_too_long_for_its_column_fails_as_the_orms_insert_would():
    # A cast to the column's own type, varchar(100), would cut it short
    # silently; the flush casts to varchar and leaves the length to the
    # column, so the burst fails and is retried event by event instead.
    too_long = Delivery(
        consumer="c" * 101, event_id=uuid.uuid4(), status=DeliveryStatus.APPLIED
    )

    with pytest.raises(DataError, match="too long"), transaction.atomic():
        rows_write(applied=[], positions=[], deliveries=[too_long])

    assert not Delivery.objects.filter(consumer__startswith="ccc").exists()


def test_timestamps_keep_their_microseconds():
    delivery = Delivery(
        consumer="flushed", event_id=uuid.uuid4(), status=DeliveryStatus.APPLIED
    )
    entry = InboxEntry(
        consumer="flushed",
        status=APPLIED,
        applied_at=timezone.now().replace(microsecond=123456),
        **{k: v for k, v in events()[0].items() if k != "id"},
        event_id=uuid.uuid4(),
    )

    with transaction.atomic():
        rows_write(applied=[entry], positions=[], deliveries=[delivery])

    assert InboxEntry.objects.get(consumer="flushed").applied_at == entry.applied_at


def test_a_bursts_positions_are_found_by_their_key_in_a_table_of_thousands():
    # given: a few thousand positions, as after a day's payments, analysed
    ConsumerPosition.objects.bulk_create(
        ConsumerPosition(consumer="flushed", subject=f"payment-{n}")
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ConsumerPosition._meta.db_table}")
    moved = ConsumerPosition.objects.get(subject="payment-7")
    moved.last_sequence = 1
    sql, params = _positions_update([moved])

    # when: a burst moves one of them
    with transaction.atomic():
        rows_write(applied=[], positions=[moved], deliveries=[])
    # the plan for these values, and the one a prepared statement keeps for
    # every execution (ADR 0027)
    plans = [
        _plan(sql, params, mode) for mode in ("force_custom_plan", "force_generic_plan")
    ]

    # then: each looks the position up by its key; told only the document,
    # the planner guessed 100 rows and scanned every position
    for plan in plans:
        assert "Index Scan" in plan, plan
        assert "Seq Scan" not in plan, plan
    assert ConsumerPosition.objects.get(subject="payment-7").last_sequence == 1


def test_a_bursts_position_update_is_planned_once_per_connection():
    # given: the statement prepared, as psycopg prepares it (ADR 0027)
    moved = ConsumerPosition.objects.create(consumer="flushed", subject="payment-a")
    moved.last_sequence = 1
    sql, params = _positions_update([moved])

    # when: it runs as often as a worker runs it in a minute or so
    with _prepared(sql, "auto") as execute:
        for _ in range(10):
            execute(params)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE name = 'flush_plan'"
            )
            generic, custom = cursor.fetchone()

    # then: after PostgreSQL's five trial plans it keeps one for every later
    # execution; a LIMIT of the document's length made it plan every time
    assert (generic, custom) == (5, 5)


def _plan(sql: str, params: list, mode: str) -> str:
    with _prepared(sql, mode) as execute:
        return "\n".join(line for (line,) in execute(params, explain=True))


@contextmanager
def _prepared(sql: str, mode: str):
    """The statement prepared on the server, planned in `mode`; yields a
    function that executes it (or explains its execution) with parameters."""
    placeholders = iter(range(1, sql.count("%s") + 1))
    prepared = re.sub("%s", lambda _: f"${next(placeholders)}", sql)

    def execute(params: list, explain: bool = False) -> list:
        arguments = ", ".join(["%s"] * len(params))
        statement = f"EXECUTE flush_plan({arguments})"
        cursor.execute(
            connection.ops.compose_sql(
                f"EXPLAIN {statement}" if explain else statement, params
            )
        )
        return cursor.fetchall() if explain else []

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
        cursor.execute(f"PREPARE flush_plan AS {prepared}")
        try:
            yield execute
        finally:
            cursor.execute("DEALLOCATE flush_plan")
