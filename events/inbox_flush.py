"""A burst's bookkeeping rows, written in one statement on PostgreSQL.

A burst's fast pass (events/bursts.py) writes three kinds of rows once at its
end: the applied inbox rows, the positions it advanced and the delivery
records. Through the ORM that was three statements, and building them was
most of a consumer's CPU per event at low load: `bulk_update`'s CASE
expressions alone took about 40 % of the ledger's time in a profile, more than
its handler. On PostgreSQL the three go as one statement of data-modifying
CTEs, each reading its rows from one JSON document (one parameter per kind of
row), so neither Django's expression machinery, nor two more round trips, nor
psycopg's quoting of an array per column are paid per burst (see
docs/adr/0023-burst-rows-in-one-statement.md). Other databases keep the ORM.

The columns come from the models, so a field added to a model is written here
too (tests/events/test_inbox_flush.py proves the rows equal the ORM's).
"""

import json
import uuid
from collections.abc import Mapping
from datetime import date
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
    inserts: Mapping[type[models.Model], list[models.Model]] | None = None,
) -> None:
    """Write a burst's inbox rows (upserted), positions and delivery records,
    and its handlers' new rows (`inserts`, by model, in their order)."""
    inserts = inserts or {}
    if connection.vendor != "postgresql":
        for model, rows in inserts.items():
            model.objects.bulk_create(rows)
        _rows_write_orm(applied, positions, deliveries)
        return
    now = timezone.now()
    # The handlers' rows first, in the order their models came: a foreign key
    # between two of them (a journal entry's lines) is checked at the
    # statement's end, when all are in.
    parts: list[tuple[str, list]] = [
        _insert(model, rows, now) for model, rows in inserts.items()
    ]
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


def _plain(value):
    # What the fields' get_db_prep_save leaves that JSON has no type for; each
    # goes as the text PostgreSQL reads back into the column's type.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):  # a datetime too: every microsecond, unlike
        return value.isoformat()  # DjangoJSONEncoder's
    raise TypeError(f"{type(value).__name__} has no JSON form here")


def _value(field: models.Field, row, now):
    if isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add):
        # As the ORM's pre_save sets it on insert, on the row too.
        value = now if isinstance(field, models.DateTimeField) else now.date()
        setattr(row, field.attname, value)
        return value
    value = getattr(row, field.attname)
    if isinstance(field, models.JSONField):
        if field.encoder is not None:
            value = json.loads(json.dumps(value, cls=field.encoder))
        return value  # nested as it is: the column takes it as jsonb
    return field.get_db_prep_save(value, connection)


def _document(fields, rows: list, now) -> str:
    """The rows as one JSON array of arrays, each in the order of `fields`.

    One string for psycopg to quote, where arrays per column cost it a type
    lookup and a quoting pass per column, and for text columns a regular
    expression per value: at one or two events per burst, that was about a
    third of a consumer's CPU per event (in-process profile, ADR 0023).
    """
    return json.dumps(
        [[_value(field, row, now) for field in fields] for row in rows],
        default=_plain,
        ensure_ascii=False,
    )


def _column_sql(field: models.Field, index: int) -> str:
    """Element `index` of a row `e` of the document, in the column's type."""
    if isinstance(field, models.JSONField):
        if field.null:  # None is SQL NULL in such a column, as the ORM writes it
            return f"NULLIF(e->{index}, 'null'::jsonb)"
        return f"e->{index}"
    # The type without its length, as Django's own unnest insert casts: a value
    # too long for the column fails on assignment instead of being cut short.
    db_type = field.db_type(connection).split("(")[0]
    return f"(e->>{index})::{db_type}"


def _rows_sql(fields) -> str:
    """A SELECT of the document's rows, in the document's order."""
    columns = ", ".join(_column_sql(field, n) for n, field in enumerate(fields))
    return (
        f"SELECT {columns} FROM jsonb_array_elements(%s::jsonb) "  # noqa: S608
        "WITH ORDINALITY AS t(e, n) ORDER BY n"
    )


def _insert(model: type[models.Model], rows: list, now) -> tuple[str, list]:
    return _insert_sql(model), [_document(_inserted_fields(model), rows, now)]


@cache
def _insert_sql(model: type[models.Model]) -> str:
    fields = _inserted_fields(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {_rows_sql(fields)}"


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
    document = json.dumps([[row.pk, row.last_sequence, row.parked] for row in rows])
    return _positions_update_sql(), [document, document]


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
        f"{quote(sequence.column)} = {_column_sql(sequence, 1)}, "
        f"{quote(parked.column)} = {_column_sql(parked, 2)} "
        "FROM jsonb_array_elements(%s::jsonb) AS t(e) "
        # The planner guesses 100 rows for the document, and on a table of a
        # few thousand positions it hashed them all in a sequential scan for
        # the one or two a burst moves. `= ANY(ARRAY(...))` it guesses at
        # ten, whatever the parameter: a lookup by key, in the plan it makes
        # for the document's values and in the one it keeps for every
        # execution of the prepared statement (ADR 0027).
        # (Inside ARRAY(...), `e` is the subquery's own element.)
        f"WHERE p.{quote(key.column)} = ANY(ARRAY("
        f"SELECT {_column_sql(key, 0)} FROM jsonb_array_elements(%s::jsonb) AS k(e)"
        f")) AND p.{quote(key.column)} = {_column_sql(key, 0)}"
    )
