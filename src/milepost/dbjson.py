"""Many rows in one column: a JSON array aggregate, so that a page can read several small
tables (or a key result's whole history) in one query instead of one query each.

`json_rows(queryset, *columns)` is a scalar subquery whose value is the JSON text
``[[c1, c2, ...], ...]``: one inner array per row of ``queryset``. Annotate a parent query with
it (correlated through ``OuterRef``) or select several of them from one row (the
organization's) to fetch side tables together. `decode_rows` reads the text back.

The SQL is a fixed template per backend (SQLite ``json_group_array``/``json_array``,
PostgreSQL ``json_agg``/``json_build_array``); every value still travels as a bound
parameter or a column reference, never as text pasted into the statement.

What comes back is JSON, so the caller converts: numbers with a fractional part arrive as
`Decimal` (``parse_float``), whole numbers as `int`, dates and times as ISO text (SQLite
keeps datetimes as naive UTC text, PostgreSQL sends an offset), booleans as ``0``/``1`` on
SQLite. `decimal_of`, `date_of` and `datetime_of` do those conversions.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import NotSupportedError
from django.db.models import Aggregate, Expression, F, QuerySet, Subquery, TextField, Value


class JSONRows(Aggregate):
    """``[[col, ...], ...]`` over the rows of a group, as JSON text (``[]`` for none)."""

    function = "JSON_ROWS"  # never emitted: each backend has its own template
    output_field = TextField()

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError("JSONRows supports SQLite and PostgreSQL only.")

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return Aggregate.as_sql(
            self,
            compiler,
            connection,
            template="json_group_array(json_array(%(expressions)s))",
            **extra_context,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return Aggregate.as_sql(
            self,
            compiler,
            connection,
            template="COALESCE(json_agg(json_build_array(%(expressions)s)), '[]'::json)::text",
            **extra_context,
        )


def json_rows(queryset: QuerySet[Any], *columns: str | Expression) -> Subquery:
    """A subquery whose value is every row of ``queryset`` as a JSON array of ``columns``
    (field names, lookups across relations such as ``"team__key"``, or expressions).
    Rows come in no particular order: sort after decoding."""
    expressions = [F(c) if isinstance(c, str) else c for c in columns]
    # Grouping by a constant groups nothing: one aggregate row over the whole queryset.
    grouped = (
        queryset.order_by()
        .annotate(json_rows_group=Value(1))
        .values("json_rows_group")
        .annotate(json_rows=JSONRows(*expressions))
        .values("json_rows")
    )
    return Subquery(grouped, output_field=TextField())


def decode_rows(text: str | None) -> list[list[Any]]:
    """The rows of a `json_rows` value (an empty list for NULL)."""
    if not text:
        return []
    rows: list[list[Any]] = json.loads(text, parse_float=Decimal)
    return rows


def decimal_of(value: Any, places: int) -> Decimal:
    """A JSON number as the `Decimal` Django would read from a column with ``places``
    decimal places."""
    number = value if isinstance(value, Decimal) else Decimal(value)
    return number.quantize(Decimal(1).scaleb(-places))


def date_of(value: str) -> dt.date:
    """A JSON date (ISO text)."""
    return dt.date.fromisoformat(value)


def datetime_of(value: str) -> dt.datetime:
    """A JSON datetime (ISO text) as an aware datetime (SQLite's naive text is UTC)."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
