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
from collections.abc import Sequence
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
        after = "lt" if descending else "gt"
        if field is None:
            qs = qs.filter(**{f"id__{after}": pk})
        else:
            qs = qs.filter(
                Q(**{f"{name}__{after}": value}) | Q(**{name: value, f"id__{after}": pk})
            )
    return qs, name, field


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
    qs, name, field = _ordered_page(queryset, page=page, ordering=ordering)
    columns = _columns(item)
    sources = [source for _, source in columns]
    extra = [c for c in dict.fromkeys(("id", name)) if c not in sources]
    names = [n for n, _ in columns]
    width = len(names)
    rows = list(qs.values_list(*sources, *extra)[: page.limit + 1])
    next_cursor = None
    link = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = dict(zip([*sources, *extra], rows[-1], strict=True))
        next_cursor = _encode(ordering, last[name] if field is not None else last["id"], last["id"])
        link = _next_link(request, next_cursor)
    body = dumps(
        {"items": [dict(zip(names, row[:width], strict=True)) for row in rows], "next": next_cursor}
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    if link is not None:
        response["Link"] = link
    return response
