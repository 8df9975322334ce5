"""Cursor pagination: stable under inserts, constant cost per page.

A list is ordered by one field plus the id (the tie-breaker), and a page is "the next
`limit` rows after the last one you saw" (keyset pagination), never "rows 51 to 100". So a
row inserted while a client walks the list never makes it see a row twice or skip one, and
page 1000 costs what page 1 costs.

The cursor is opaque to clients: base64url of ``[ordering, last value, last id]``. A page
answers ``{"items": [...], "next": <cursor or null>}`` and, when there is a next page, a
``Link: <url>; rel="next"`` header. ``limit`` defaults to 50, at most 200.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode

import orjson
import pydantic
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema

from milepost.api.renderers import dumps
from milepost.errors import InvalidInput
from milepost.prepared import PreparedRows

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(Schema):
    """Query parameters every list takes."""

    cursor: str | None = Field(
        None, max_length=500, description="The `next` cursor of the previous page (opaque)."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size (1 to 200).")


@cache
def page_of(item: type[Schema]) -> type[Schema]:
    """The page schema for a list of `item`: ``{items: [...], next: str | null}``."""
    model = pydantic.create_model(
        f"{item.__name__.removesuffix('Out')}Page",
        __base__=Schema,
        items=(list[item], ...),  # type: ignore[valid-type]
        next=(str | None, Field(None, description="Cursor of the next page; null on the last.")),
    )
    return model


def _encode(ordering: str, value: Any, pk: int) -> str:
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = orjson.dumps([ordering, value, pk])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> InvalidInput:
    return InvalidInput.field("cursor", "is not a cursor from this list; start again without it")


def _decode(cursor: str, ordering: str, field: models.Field[Any, Any] | None) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise _bad_cursor() from exc
    if not (isinstance(decoded, list) and len(decoded) == 3 and decoded[0] == ordering):
        raise _bad_cursor()
    _, value, pk = decoded
    if not isinstance(pk, int) or isinstance(pk, bool) or not (0 < pk < 2**63):
        raise _bad_cursor()
    if field is not None:
        try:
            value = field.to_python(value)
        except (ValidationError, TypeError, ValueError) as exc:
            raise _bad_cursor() from exc
        if value is None:
            raise _bad_cursor()
    return value, pk


def _ordered_page[M: models.Model](
    queryset: models.QuerySet[M], *, page: PageQuery, ordering: str
) -> tuple[models.QuerySet[M], str, models.Field[Any, Any] | None]:
    """The queryset in list order, after the cursor; the ordering field's name and field."""
    descending = ordering.startswith("-")
    name = ordering.lstrip("-")
    field: models.Field[Any, Any] | None = None
    if name != "id":
        try:
            field = queryset.model._meta.get_field(name)  # type: ignore[assignment]
        except FieldDoesNotExist as exc:  # pragma: no cover - orderings are declared by us
            raise InvalidInput.field("ordering", f"unknown field {name}") from exc
    order_by: Sequence[str] = (
        ([f"-{name}", "-id"] if descending else [name, "id"])
        if field is not None
        else (["-id"] if descending else ["id"])
    )
    qs = queryset.order_by(*order_by)
    if page.cursor:
        value, pk = _decode(page.cursor, ordering, field)
        qs = _after(qs, ordering, value, pk)
    return qs, name, field


def _after[M: models.Model](
    queryset: models.QuerySet[M], ordering: str, value: Any, pk: int
) -> models.QuerySet[M]:
    """The rows after (value, pk) in `ordering`."""
    name = ordering.lstrip("-")
    after = "lt" if ordering.startswith("-") else "gt"
    if name == "id":
        return queryset.filter(**{f"id__{after}": pk})
    return queryset.filter(
        Q(**{f"{name}__{after}": value}) | Q(**{name: value, f"id__{after}": pk})
    )


def _next_link(request: HttpRequest, next_cursor: str) -> str:
    params = request.GET.copy()
    params["cursor"] = next_cursor
    url = request.build_absolute_uri(f"{request.path}?{urlencode(sorted(params.items()))}")
    return f'<{url}>; rel="next"'


def paginate[M: models.Model](
    request: HttpRequest,
    response: HttpResponse,
    queryset: models.QuerySet[M],
    *,
    page: PageQuery,
    ordering: str,
) -> dict[str, Any]:
    """One page of `queryset` ordered by `ordering` ("field" or "-field", non-null field)
    then id; sets the Link header. Returns ``{"items": [...], "next": ...}``."""
    qs, name, field = _ordered_page(queryset, page=page, ordering=ordering)
    rows = list(qs[: page.limit + 1])
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = _encode(
            ordering, getattr(last, name) if field is not None else last.pk, last.pk
        )
        response["Link"] = _next_link(request, next_cursor)
    return {"items": rows, "next": next_cursor}


@cache
def _columns(item: type[Schema]) -> tuple[tuple[str, str], ...]:
    """(JSON name, model attribute) of each field of a plain-column schema."""
    return tuple((name, info.alias or name) for name, info in item.model_fields.items())


def paginate_rows[M: models.Model](
    request: HttpRequest,
    queryset: models.QuerySet[M],
    *,
    page: PageQuery,
    ordering: str,
    item: type[Schema],
) -> HttpResponse:
    """`paginate` for lists whose item schema is made of plain columns only (no resolver,
    each field a model attribute, by its alias if it has one): the page is read as tuples
    of those columns and written straight to JSON, the same JSON the schema would give,
    without building a model instance and validating it per row (issue 9, W4: that was most
    of a task list's time). Returns the whole response, Link header included."""
    qs, name, _ = _ordered_page(queryset, page=page, ordering=ordering)
    sources, extra = _row_columns(item, name)
    rows = list(qs.values_list(*sources, *extra)[: page.limit + 1])
    return _rows_page(request, rows, item=item, page=page, ordering=ordering)


def _row_columns(item: type[Schema], name: str) -> tuple[list[str], list[str]]:
    """The item's columns, and the id and ordering column when the item lacks them."""
    sources = [source for _, source in _columns(item)]
    return sources, [c for c in dict.fromkeys(("id", name)) if c not in sources]


def _rows_page(
    request: HttpRequest,
    rows: list[tuple[Any, ...]],
    *,
    item: type[Schema],
    page: PageQuery,
    ordering: str,
) -> HttpResponse:
    """The JSON response of a page read as `_row_columns` tuples (``limit + 1`` at most)."""
    name = ordering.lstrip("-")
    columns = _columns(item)
    sources, extra = _row_columns(item, name)
    names = [n for n, _ in columns]
    width = len(names)
    next_cursor = None
    link = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = dict(zip([*sources, *extra], rows[-1], strict=True))
        next_cursor = _encode(ordering, last[name], last["id"])
        link = _next_link(request, next_cursor)
    body = dumps(
        {"items": [dict(zip(names, row[:width], strict=True)) for row in rows], "next": next_cursor}
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    if link is not None:
        response["Link"] = link
    return response


class PreparedList:
    """A list whose page query is compiled once per shape (`milepost.prepared`): which
    filters are given, the ordering, whether a cursor is, and the page size. It answers
    what `paginate_rows` answers for the same filters.

    ``build(**filters)`` returns the list's rows before ordering (the organization and each
    filter given); ``placeholders`` has a distinctive value of the right type for every
    filter it may take. Orderings whose cursor value is not an integer or text (dates,
    times) are paged through `paginate_rows`: their values are bound differently per
    backend, so they are not prepared.
    """

    def __init__(
        self,
        build: Callable[..., models.QuerySet[Any]],
        *,
        model: type[models.Model],
        item: type[Schema],
        placeholders: dict[str, Any],
    ) -> None:
        self._build = build
        self._model = model
        self._item = item
        self._placeholders = placeholders
        self._prepared: dict[tuple[Any, ...], PreparedRows] = {}

    def page(
        self, request: HttpRequest, *, filters: dict[str, Any], page: PageQuery, ordering: str
    ) -> HttpResponse:
        name = ordering.lstrip("-")
        field = None if name == "id" else self._model._meta.get_field(name)
        if field is not None and not isinstance(field, models.CharField):
            queryset = self._build(**filters)
            return paginate_rows(request, queryset, page=page, ordering=ordering, item=self._item)
        values = dict(filters)
        if page.cursor:
            value, pk = _decode(page.cursor, ordering, field)
            values |= {"after_id": pk} | ({"after_value": value} if field is not None else {})
        shape = (tuple(sorted(filters)), ordering, bool(page.cursor), page.limit)
        prepared = self._prepared.get(shape) or self._prepare(shape)
        return _rows_page(
            request, prepared.rows(**values), item=self._item, page=page, ordering=ordering
        )

    def _prepare(self, shape: tuple[Any, ...]) -> PreparedRows:
        names, ordering, after, limit = shape
        sources, extra = _row_columns(self._item, ordering.lstrip("-"))
        text = ordering.lstrip("-") != "id"

        def build(**values: Any) -> models.QuerySet[Any]:
            qs = self._build(**{k: values[k] for k in names})
            qs, _, _ = _ordered_page(
                qs, page=PageQuery(cursor=None, limit=limit), ordering=ordering
            )
            if after:
                qs = _after(qs, ordering, values.get("after_value"), values["after_id"])
            return qs.values_list(*sources, *extra)[: limit + 1]

        placeholders = {k: self._placeholders[k] for k in names}
        if after:
            placeholders["after_id"] = -(2**62)
            if text:
                placeholders["after_value"] = "placeholder: no row has this"
        prepared = self._prepared[shape] = PreparedRows(build, **placeholders)
        return prepared
