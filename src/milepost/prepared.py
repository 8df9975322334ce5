"""Queries compiled once per process: `PreparedRows`.

Turning a queryset into SQL costs Django more CPU than PostgreSQL spends running a small
query (issue 9, W4: the API token lookup took ~3.5 ms of CPU to compile and ~0.2 ms to run).
A query that runs on every request with the same shape and only new values is therefore
compiled once: the queryset is built with distinctive placeholder values, compiled, and each
placeholder's positions among the statement's parameters are noted; a call then runs the
same statement with the caller's values in those positions and converts the rows with the
same converters Django would apply (`from_db_value`, backend converters).

The SQL is Django's own (`compiler.as_sql()`); values always travel as bound parameters,
never as text pasted into the statement. A build whose placeholders cannot all be found
among the parameters exactly as given (a lookup that transforms its value, such as
``__contains``) is refused when first used, so a query is never run with a stale value.

Use it for hot, fixed-shape ``values_list`` queries only; everything else stays plain ORM.

On PostgreSQL these statements are also *prepared*: they run on a server-binding cursor, so
each connection parses and plans a statement once and later runs only execute it. Planning
cost PostgreSQL more than running for these queries (a check-in's key-result lock: 0.67 ms
to plan, 0.17 ms to run). Django's own cursors bind on the client and never prepare, so no
other statement is kept. ``MILEPOST_DB_PREPARED_STATEMENTS=0`` turns preparing off for a
connection pooler that cannot keep a session's prepared statements (PgBouncer in
transaction mode before 1.21): the statements then run unprepared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable


def _statement_cursor(db: BaseDatabaseWrapper) -> Any:
    """A cursor of ``db`` for a `PreparedRows` statement: on PostgreSQL one that binds on the
    server, so that psycopg prepares the statement (``prepare_threshold`` in the database
    settings); elsewhere an ordinary cursor. Either way it is Django's cursor wrapper: the
    statement is logged, counted by ``assertNumQueries`` and its errors are Django's."""
    if db.vendor != "postgresql":
        return db.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        # `_prepare_cursor` is what `db.cursor()` wraps its own cursor with; Django offers no
        # public way to open a server-binding cursor on a client-binding connection.
        cursor = ServerBindingCursor(db.connection)  # type: ignore[call-arg]  # stubs lag
        return db._prepare_cursor(cursor)  # type: ignore[attr-defined]


class PreparedQueryError(Exception):
    """The build of a `PreparedRows` cannot be prepared (a programming error)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[str, tuple[int, ...]], ...]  # placeholder name -> parameter positions
    compiler: Any  # the SQLCompiler after as_sql()
    converters: dict[int, Any]  # its select list's converters by column (`get_converters`)


class PreparedRows:
    """A ``values_list`` queryset compiled once per database alias.

    ``build`` takes keyword arguments and returns the queryset (ending in ``values_list``);
    ``placeholders`` gives, for each keyword, a value of the right type that appears nowhere
    else in the query (e.g. a string no real row holds, an integer beyond any id). Calling
    `rows` with real values returns the converted rows as tuples.
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], **placeholders: Any) -> None:
        self._build = build
        self._placeholders = placeholders
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        if values.keys() != self._placeholders.keys():
            raise TypeError(f"expected the values {sorted(self._placeholders)}")
        compiled = self._compiled.get(using) or self._compile(using)
        params = list(compiled.params)
        for name, positions in compiled.slots:
            for position in positions:
                params[position] = values[name]
        with _statement_cursor(connections[using]) as cursor:
            cursor.execute(compiled.sql, params)
            fetched: list[tuple[Any, ...]] = cursor.fetchall()
        if not compiled.converters:
            return fetched
        return list(map(tuple, compiled.compiler.apply_converters(fetched, compiled.converters)))

    def _compile(self, using: str) -> _Compiled:
        with self._lock:
            if (done := self._compiled.get(using)) is not None:
                return done
            queryset = self._build(**self._placeholders)
            if not issubclass(queryset._iterable_class, ValuesListIterable):
                raise PreparedQueryError("a prepared query must end in values_list(...)")
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            slots = []
            for name, placeholder in self._placeholders.items():
                positions = tuple(
                    i
                    for i, param in enumerate(params)
                    if type(param) is type(placeholder) and param == placeholder
                )
                if not positions:
                    raise PreparedQueryError(
                        f"placeholder {name!r} is not among the query's parameters as given "
                        "(a lookup that transforms its value cannot be prepared)"
                    )
                slots.append((name, positions))
            columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
            if compiler.has_composite_fields(columns):
                raise PreparedQueryError("a prepared query cannot select a composite primary key")
            # What `results_iter` would work out on every call, once.
            converters = compiler.get_converters(columns)
            done = _Compiled(sql, tuple(params), tuple(slots), compiler, converters)
            self._compiled[using] = done
            return done
