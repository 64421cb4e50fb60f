"""Write some fields of many saved rows, each row its own values, in one UPDATE.

Django's `bulk_update` writes one `CASE WHEN pk = ... THEN ...` per field with
a branch per row: building those expressions took more than half of a long
statement's processing CPU (bench.settlement's profile: 4.3 of 7.8 s for
5,000 lines), and the database then walks the CASE for every row. Here the
rows' values are one VALUES list, joined to the table by primary key:

    WITH v(pk, a, b) AS (VALUES (%s, %s, %s), ...)
    UPDATE t SET a = v.a, b = v.b FROM v WHERE t.pk = v.pk

The same SQL runs on PostgreSQL and on SQLite (3.33 or later).
"""

from django.db import connection, models


def rows_update(objs: list[models.Model], fields: list[str]) -> None:
    """Write `fields` of every instance in `objs` (all of one model).

    Values are prepared by each field as `save()` prepares them. The first
    row's values are cast to their columns' types, so a column that is NULL in
    every row still has a type (PostgreSQL would guess text).
    """
    if not objs:
        return
    meta = objs[0]._meta
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.column) for column in columns)
    first = ", ".join(
        f"CAST(%s AS {column.cast_db_type(connection)})" for column in columns
    )
    other = ", ".join(["%s"] * len(columns))
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    assign = ", ".join(f"{quote(c.column)} = v.{quote(c.column)}" for c in columns[1:])
    size = connection.ops.bulk_batch_size(columns, objs) or len(objs)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            batch = objs[start : start + size]
            rows = ", ".join([f"({first})"] + [f"({other})"] * (len(batch) - 1))
            params = [
                column.get_db_prep_save(getattr(obj, column.attname), connection)
                for obj in batch
                for column in columns
            ]
            # Only quoted names and placeholders are formatted in.
            cursor.execute(
                f"WITH v({names}) AS (VALUES {rows}) "  # noqa: S608
                f"UPDATE {table} SET {assign} FROM v WHERE {table}.{pk} = v.{pk}",
                params,
            )
