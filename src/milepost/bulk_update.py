"""Write a few columns of many rows: `update_columns`.

Django's ``QuerySet.bulk_update`` sets each column with a ``CASE WHEN id = … THEN … END``
expression per batch. Building and resolving those expressions is Python work per row and
column: recomputing the stored progress of 12,000 key results and 3,000 objectives spent 30 s
of CPU in it (issue 9: an import, the bench generator, `milepost recompute`), and one
check-in's roll-up paid a millisecond for a single objective row.

`update_columns` sends ``WITH v(pk, …) AS (VALUES (…), (…)) UPDATE t SET col = v.col, … FROM v
WHERE t.pk = v.pk`` instead: one statement per batch, values as bound parameters prepared by each
field (``get_db_prep_save``), so a row is written exactly as ``save()`` would write it. On
PostgreSQL the first row's placeholders carry the column types (``CAST(%s AS numeric(10, 4))``)
so that every row's values take them; SQLite (3.33 or later) needs no types.

Only the named columns change: no ``save()`` signals, no ``auto_now`` (the same contract as
``bulk_update``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model

#: Rows per statement: 1,000, or fewer so that a statement binds at most 30,000 values
#: (SQLite's limit is 32,766).
MAX_ROWS_PER_STATEMENT = 1_000
_MAX_PARAMETERS = 30_000


def update_columns(
    model: type[Model], rows: Sequence[Model], fields: Sequence[str], *, using: str | None = None
) -> int:
    """Write the columns ``fields`` (field names) of ``rows`` (instances of ``model`` with
    primary keys) as they are on the instances. Returns the number of rows given."""
    if not rows:
        return 0
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    pk = meta.pk
    if pk is None:  # pragma: no cover - abstract models have no rows
        raise TypeError(f"{model.__name__} has no primary key")
    columns: list[Field[Any, Any]] = [meta.get_field(name) for name in fields]  # type: ignore[misc]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ["pk"] + [f"c{i}" for i in range(len(columns))]
    typed = connection.vendor == "postgresql"
    first_row = (
        "("
        + ", ".join(
            f"CAST(%s AS {field.cast_db_type(connection)})" if typed else "%s"
            for field in [pk, *columns]
        )
        + ")"
    )
    other_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    assignments = ", ".join(
        f"{quote(_column(field))} = v.{name}"
        for field, name in zip(columns, names[1:], strict=True)
    )
    match = f"{table}.{quote(_column(pk))} = v.pk"
    per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, _MAX_PARAMETERS // len(names)))
    attnames = [field.attname for field in columns]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params: list[Any] = []
            for row in batch:
                params.append(pk.get_db_prep_save(row.pk, connection))
                params.extend(
                    field.get_db_prep_save(getattr(row, attname), connection)
                    for field, attname in zip(columns, attnames, strict=True)
                )
            values = ", ".join([first_row] + [other_row] * (len(batch) - 1))
            cursor.execute(
                f"WITH v({', '.join(names)}) AS (VALUES {values}) "  # noqa: S608 - names and types come from the model  # nosec B608
                f"UPDATE {table} SET {assignments} FROM v WHERE {match}",
                params,
            )
    return len(rows)


def _column(field: Field[Any, Any]) -> str:
    if not field.column:  # pragma: no cover - a field without a column (not a concrete one)
        raise TypeError(f"{field.name} is not a column")
    return field.column
