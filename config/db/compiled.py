"""A queryset built and compiled once per process, then run with other values.

Building a queryset (`filter`, joins) and compiling it to SQL costs more Python
than running it, for a one-row read: 0.5 ms against 0.08 for the cursor call
(docs/adr/0026-hot-reads-by-hand.md). `CompiledQuery` keeps the queryset as
the one definition of the read, compiles it for probe values, finds where each
probe value went among the SQL's parameters, and from then on runs that SQL
with the caller's values. `CompiledGet` also loads the first row as the
queryset would: the same converters, the same instances, `select_related`
objects included. `CompiledUpdate` does the same for a queryset's `update()`.
"""

from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.db import connection, models, transaction
from django.db.models.query import get_related_populators
from django.db.models.sql import Query, UpdateQuery
from django.db.transaction import TransactionManagementError


class CompiledQuery:
    """`build(**values)` is the queryset; `fields` names the model field each
    value is prepared by, as the lookup prepares it. `rows(**values)` runs its
    SQL with those values and returns the rows as the cursor gives them.

    `probe` holds values that occur nowhere else in the compiled SQL's
    parameters: the compilation fails at once if one cannot be found, so a
    Django upgrade that stops sending a value as a parameter is loud.
    """

    def __init__(
        self,
        build: Callable[..., models.QuerySet],
        fields: Callable[[], dict[str, models.Field]],
        probe: dict[str, Any],
    ):
        self._build = build
        self._fields = fields
        self._probe = probe

    @cached_property
    def _queryset(self) -> models.QuerySet:
        return self._build(**self._probe)

    @cached_property
    def _compiled(self) -> tuple[Any, str, list[tuple[str | None, Any]]]:
        """The compiler (its select and klass_info filled), the SQL, and for
        each parameter the value's name that fills it (None and the
        parameter: a constant of the query, kept)."""
        fields = self._fields()
        compiler = self._query().get_compiler(using=self._queryset.db)
        sql, params = compiler.as_sql()
        by_value = {
            repr(fields[name].get_db_prep_value(value, connection)): name
            for name, value in self._probe.items()
        }
        slots = [(by_value.get(repr(param)), param) for param in params]
        if {name for name, _ in slots} - {None} != set(self._probe):
            raise RuntimeError(f"{self._build} compiled unexpectedly: {sql}")
        return compiler, sql, slots

    def _query(self) -> Query:
        """The query compiled: the queryset's."""
        return self._queryset.query

    def _params(self, values: dict) -> list:
        _, _, slots = self._compiled
        fields = self._fields()
        return [
            constant
            if name is None
            else fields[name].get_db_prep_value(values[name], connection)
            for name, constant in slots
        ]

    def _fetch(self, values: dict, rows: int | None = None) -> list:
        params = self._params(values)
        with connection.cursor() as cursor:
            cursor.execute(self._compiled[1], params)
            return cursor.fetchall() if rows is None else cursor.fetchmany(rows)

    def rows(self, **values) -> list:
        """Every row for `values`, as the cursor gives them.

        A value its field cannot prepare raises as the queryset's filter
        would (a ValidationError for an id that is no UUID).
        """
        return self._fetch(values)


class CompiledGet(CompiledQuery):
    """A `CompiledQuery` whose first row is wanted (a lookup by unique values,
    or one sliced to a row), loaded as an instance."""

    @cached_property
    def _loader(self) -> tuple[list[str], int, int, type[models.Model], list]:
        """What ModelIterable derives from the compiler: the model's columns
        (names, first and last), the model, the populators of its relations."""
        compiler = self._compiled[0]
        klass_info = compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return (
            [f[0].target.attname for f in compiler.select[start:end]],
            start,
            end,
            klass_info["model"],
            get_related_populators(klass_info, compiler.select, self._queryset.db),
        )

    def get(self, **values) -> models.Model | None:
        """The first row for `values`, loaded as the queryset loads it; None if
        none. A lock outside a transaction is refused, as the queryset refuses it.
        """
        if self._queryset.query.select_for_update and connection.get_autocommit():
            # A lock released at once locks nothing.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        init_list, start, end, model, populators = self._loader
        compiler = self._compiled[0]
        for row in compiler.results_iter([self._fetch(values, rows=1)]):
            instance = model.from_db(connection.alias, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            return instance
        return None


class CompiledUpdate(CompiledQuery):
    """`build(**values)` is the queryset and `changes(**values)` what its
    `update()` sets; `run(**values)` runs that UPDATE's SQL with the caller's
    values and returns the rows matched, as `update()` does. For a statement a
    consumer runs for every event (docs/adr/0026-hot-reads-by-hand.md): the
    ORM built and compiled it in 0.3 ms of Python, the cursor call takes 0.1.

    Only an update of the queryset's own table: one that needs a join or
    another table's update (a parent model's fields) is refused.
    """

    def __init__(
        self,
        build: Callable[..., models.QuerySet],
        changes: Callable[..., dict[str, Any]],
        fields: Callable[[], dict[str, models.Field]],
        probe: dict[str, Any],
    ):
        super().__init__(build, fields, probe)
        self._changes = changes

    def _query(self) -> Query:
        # What QuerySet.update() compiles.
        query = self._queryset.query.chain(UpdateQuery)
        query.add_update_values(self._changes(**self._probe))
        query.annotations = {}
        query.get_initial_alias()  # as the compiler's pre_sql_setup does
        if query.related_updates or query.count_active_tables() != 1:
            raise RuntimeError(f"{self._build} updates more than its own table")
        return query

    def run(self, **values) -> int:
        params = self._params(values)
        # As update() does: a failed statement spoils the transaction it is in.
        with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
            cursor.execute(self._compiled[1], params)
            return cursor.rowcount
