"""A queryset built and compiled once per process, then run with other values.

Building a queryset (`filter`, joins) and compiling it to SQL costs more Python
than running it, for a one-row read: 0.5 ms against 0.08 for the cursor call
(docs/adr/0026-hot-reads-by-hand.md). `CompiledGet` keeps the queryset as the
one definition of the read, compiles it for probe values, finds where each
probe value went among the SQL's parameters, and from then on runs that SQL
with the caller's values, loading the row as the queryset would: the same
converters, the same instances, `select_related` objects included.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connection, models
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: list[tuple[str | None, Any]]  # the value's name, or None and a constant
    compiler: Any
    init_list: list[str]
    start: int
    end: int
    model: type[models.Model]
    populators: list
    locks: bool  # SELECT ... FOR UPDATE: only inside a transaction


class CompiledGet:
    """`build(**values)` is a queryset whose first row is wanted (a lookup by
    unique values, or one sliced to a row); `fields` names the model field
    each value is prepared by, as the lookup prepares it. `get(**values)`
    returns that row's instance, or None.

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
    def _compiled(self) -> _Compiled:
        fields = self._fields()
        queryset = self._build(**self._probe)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()  # also fills select and klass_info
        by_value = {
            repr(fields[name].get_db_prep_value(value, connection)): name
            for name, value in self._probe.items()
        }
        slots = [(by_value.get(repr(param)), param) for param in params]
        if {name for name, _ in slots} - {None} != set(self._probe):
            raise RuntimeError(f"{self._build} compiled unexpectedly: {sql}")
        klass_info = compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            sql=sql,
            slots=slots,
            compiler=compiler,
            init_list=[f[0].target.attname for f in compiler.select[start:end]],
            start=start,
            end=end,
            model=klass_info["model"],
            populators=get_related_populators(klass_info, compiler.select, queryset.db),
            locks=bool(queryset.query.select_for_update),
        )

    def get(self, **values) -> models.Model | None:
        """The row for `values`, loaded as the queryset loads it; None if none.

        A value its field cannot prepare raises as the queryset's filter
        would (a ValidationError for an id that is no UUID).
        """
        compiled, fields = self._compiled, self._fields()
        if compiled.locks and connection.get_autocommit():
            # As the queryset refuses: a lock released at once locks nothing.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = [
            constant
            if name is None
            else fields[name].get_db_prep_value(values[name], connection)
            for name, constant in compiled.slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(1)
        for row in compiled.compiler.results_iter([rows]):
            instance = compiled.model.from_db(
                connection.alias, compiled.init_list, row[compiled.start : compiled.end]
            )
            for populator in compiled.populators:
                populator.populate(row, instance)
            return instance
        return None
