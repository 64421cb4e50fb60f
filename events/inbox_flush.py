"""A burst's bookkeeping rows, written in one statement on PostgreSQL.

A burst's fast pass (events/bursts.py) writes three kinds of rows once at its
end: the applied inbox rows, the positions it advanced and the delivery
records. Through the ORM that was three statements, and building them was
most of a consumer's CPU per event at low load: `bulk_update`'s CASE
expressions alone took about 40 % of the ledger's time in a profile, more than
its handler. On PostgreSQL the three go as one statement of data-modifying
CTEs over `unnest()` arrays, built from plain lists, so neither Django's
expression machinery nor two more round trips are paid per burst (see
docs/adr/0023-burst-rows-in-one-statement.md). Other databases keep the ORM.

The columns come from the models, so a field added to a model is written here
too (tests/events/test_inbox_flush.py proves the rows equal the ORM's).
"""

import json
from functools import cache

from django.db import connection, models
from django.utils import timezone

from events.models import ConsumerPosition, Delivery, InboxEntry

# The inbox row an earlier attempt left (dead-lettered, now redriven) becomes
# the applied one: these are what the upsert overwrites.
INBOX_UPDATED = ("status", "applied_at", "error")
INBOX_UNIQUE = ("consumer", "event_id")


def rows_write(
    *,
    applied: list[InboxEntry],
    positions: list[ConsumerPosition],
    deliveries: list[Delivery],
) -> None:
    """Write a burst's inbox rows (upserted), positions and delivery records."""
    if connection.vendor != "postgresql":
        _rows_write_orm(applied, positions, deliveries)
        return
    now = timezone.now()
    parts: list[tuple[str, list]] = []
    if applied:
        parts.append(_inbox_upsert(applied, now))
    if positions:
        parts.append(_positions_update(positions))
    if deliveries:
        parts.append(_insert(Delivery, deliveries, now))
    if not parts:
        return
    *ctes, (last_sql, last_params) = parts
    sql = ", ".join(f"w{n} AS ({part})" for n, (part, _) in enumerate(ctes))
    params = [value for _, part_params in ctes for value in part_params]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {sql} {last_sql}" if ctes else last_sql, [*params, *last_params]
        )


def inbox_applied_upsert(rows: list[InboxEntry]) -> None:
    """Write applied inbox rows through the ORM, one statement."""
    InboxEntry.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=list(INBOX_UNIQUE),
        update_fields=list(INBOX_UPDATED),
    )


def _rows_write_orm(applied, positions, deliveries) -> None:
    if applied:
        inbox_applied_upsert(applied)
    if positions:
        ConsumerPosition.objects.bulk_update(positions, ["last_sequence", "parked"])
    if deliveries:
        Delivery.objects.bulk_create(deliveries)


@cache
def _inserted_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The fields an INSERT writes: every concrete one but the generated key."""
    return tuple(
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, models.AutoField) and not field.generated
    )


def _values(field: models.Field, rows: list, now) -> list | str:
    if isinstance(field, models.DateTimeField) and field.auto_now_add:
        return [now] * len(rows)  # as the ORM's pre_save sets it on insert
    values = [getattr(row, field.attname) for row in rows]
    if isinstance(field, models.JSONField):
        # The column's values as one JSON document (see _array_sql): the same
        # JSON the ORM writes, one string to quote instead of an array of them.
        return json.dumps(values, cls=field.encoder)
    return [field.get_db_prep_save(value, connection) for value in values]


def _array_sql(field: models.Field) -> str:
    """The placeholder of one column's values, as an array for unnest()."""
    if isinstance(field, models.JSONField):
        # Not a text[] of JSON: psycopg quotes each element of a text array
        # with a regular expression, and in JSON every '"' is a match. For the
        # inbox's envelopes that was about a quarter of a consumer's CPU per
        # event (in-process profile, docs/benchmark.md). One jsonb document,
        # its elements in their order, costs one quoting of one string.
        return (
            "ARRAY(SELECT e FROM jsonb_array_elements(%s::jsonb) "
            "WITH ORDINALITY AS t(e, n) ORDER BY n)"
        )
    return f"%s::{field.cast_db_type(connection)}[]"


def _insert(model: type[models.Model], rows: list, now) -> tuple[str, list]:
    fields = _inserted_fields(model)
    return _insert_sql(model), [_values(field, rows, now) for field in fields]


@cache
def _insert_sql(model: type[models.Model]) -> str:
    fields = _inserted_fields(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    arrays = ", ".join(_array_sql(field) for field in fields)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays})"
    )


def _inbox_upsert(rows: list[InboxEntry], now) -> tuple[str, list]:
    _, params = _insert(InboxEntry, rows, now)
    return _inbox_upsert_sql(), params


@cache
def _inbox_upsert_sql() -> str:
    quote = connection.ops.quote_name
    column = {
        name: quote(InboxEntry._meta.get_field(name).column)
        for name in INBOX_UPDATED + INBOX_UNIQUE
    }
    updates = ", ".join(
        f"{column[name]} = EXCLUDED.{column[name]}" for name in INBOX_UPDATED
    )
    unique = ", ".join(column[name] for name in INBOX_UNIQUE)
    return f"{_insert_sql(InboxEntry)} ON CONFLICT ({unique}) DO UPDATE SET {updates}"


def _positions_update(rows: list[ConsumerPosition]) -> tuple[str, list]:
    return _positions_update_sql(), [
        [row.pk for row in rows],
        [row.last_sequence for row in rows],
        [row.parked for row in rows],
    ]


@cache
def _positions_update_sql() -> str:
    quote = connection.ops.quote_name
    meta = ConsumerPosition._meta
    key, sequence, parked = (
        meta.pk,
        meta.get_field("last_sequence"),
        meta.get_field("parked"),
    )
    return (
        f"UPDATE {quote(meta.db_table)} AS p SET "  # noqa: S608
        f"{quote(sequence.column)} = r.last_sequence, "
        f"{quote(parked.column)} = r.parked "
        f"FROM unnest(%s::{key.cast_db_type(connection)}[], "
        f"%s::{sequence.cast_db_type(connection)}[], "
        f"%s::{parked.cast_db_type(connection)}[]) AS r(id, last_sequence, parked) "
        f"WHERE p.{quote(key.column)} = r.id"
    )
