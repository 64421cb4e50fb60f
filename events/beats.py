"""Signs of life that read their switches back, in one statement a beat.

Every consumer worker beats once a second (events/worker.py `PauseSwitch`):
it writes its heartbeat and reads back whether it is paused and which event
versions it may read. The relay beats once a second too and reads its pause
switch (events/relay_switch.py). A read and a write were two statements and
two commits a second per worker (the relay's beat four round trips), a dozen
commits a second with nothing to do: most of what an idle stack asked of
PostgreSQL. `UPDATE ... RETURNING` writes and reads at once.
"""

from functools import cache

from django.db import connection, models
from django.utils import timezone

from events.models import ConsumerState, RelayState


def consumer_beat(name: str) -> ConsumerState:
    """Write the consumer's heartbeat; return its row as it now stands.

    The first beat of a consumer never seen makes its row.
    """
    now = timezone.now()
    row = _beat(
        ConsumerState,
        ("consumer", name),
        {"heartbeat_at": now},
        ("id", "paused", "reads_up_to"),
    )
    if row is None:
        state, _ = ConsumerState.objects.get_or_create(
            consumer=name, defaults={"heartbeat_at": now}
        )
        return state
    pk, paused, reads_up_to = row
    reads = ConsumerState._meta.get_field("reads_up_to")
    return ConsumerState(
        id=pk,
        consumer=name,
        paused=bool(paused),  # SQLite gives 0 or 1
        reads_up_to=reads.from_db_value(reads_up_to, None, connection),
        heartbeat_at=now,
    )


def relay_beat(leader: str) -> bool:
    """Write the relay's heartbeat and leader; return whether it is paused.

    The first beat ever makes the relay's one row.
    """
    now = timezone.now()
    row = _beat(
        RelayState, ("id", 1), {"leader": leader, "heartbeat_at": now}, ("paused",)
    )
    if row is None:
        state, _ = RelayState.objects.update_or_create(
            pk=1, defaults={"leader": leader, "heartbeat_at": now}
        )
        return state.paused
    return bool(row[0])


def _beat(model, key: tuple[str, object], writes: dict, read: tuple) -> tuple | None:
    """UPDATE the row `key` names with `writes`; its `read` columns, or None."""
    meta = model._meta
    params = [
        meta.get_field(name).get_db_prep_save(value, connection)
        for name, value in writes.items()
    ]
    params.append(meta.get_field(key[0]).get_db_prep_value(key[1], connection))
    with connection.cursor() as cursor:
        cursor.execute(_beat_sql(model, key[0], tuple(writes), read), params)
        return cursor.fetchone()


@cache
def _beat_sql(model: type[models.Model], key: str, writes: tuple, read: tuple) -> str:
    meta = model._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    return (
        f"UPDATE {quote(meta.db_table)} "  # noqa: S608
        f"SET {', '.join(f'{column(name)} = %s' for name in writes)} "
        f"WHERE {column(key)} = %s "
        f"RETURNING {', '.join(column(name) for name in read)}"
    )
