"""`milepost.prepared.PreparedRows`: a query compiled once gives, for every value, the rows
the ORM gives (converted the same way), and a build it cannot prepare is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from milepost.prepared import PreparedQueryError, PreparedRows
from milepost.work.models import Task
from tests.factories import make_initiative, make_org, make_task


def _tasks(status: str, initiative: int) -> QuerySet[Any]:
    return (
        Task.objects.filter(status=status, initiative_id=initiative)
        .order_by("pk")
        .values_list("pk", "title", "estimate_hours", "due_date", "created_at", "status")
    )


PREPARED = PreparedRows(_tasks, status="placeholder-status", initiative=-987_654_321)


@pytest.mark.django_db
def test_each_call_gives_the_rows_the_orm_gives_for_its_values() -> None:
    org = make_org()
    first, second = make_initiative(org), make_initiative(org)
    make_task(first, status="todo", estimate_hours=Decimal("2.50"), due_date=dt.date(2026, 3, 1))
    make_task(first, status="done")
    make_task(second, status="todo")
    for status in ("todo", "done", "doing"):
        for initiative in (first.pk, second.pk):
            got = PREPARED.rows(status=status, initiative=initiative)
            assert got == list(_tasks(status, initiative))
    rows = PREPARED.rows(status="todo", initiative=first.pk)
    assert len(rows) == 1
    assert isinstance(rows[0][2], Decimal)  # converted as the ORM converts
    assert isinstance(rows[0][4], dt.datetime)
    assert rows[0][4].tzinfo is not None


@pytest.mark.django_db
def test_a_call_is_one_query() -> None:
    org = make_org()
    initiative = make_initiative(org)
    PREPARED.rows(status="todo", initiative=initiative.pk)
    with CaptureQueriesContext(connection) as ctx:
        PREPARED.rows(status="todo", initiative=initiative.pk)
    assert len(ctx.captured_queries) == 1
    assert str(initiative.pk) in ctx.captured_queries[0]["sql"]


def test_the_values_must_be_the_placeholders_names() -> None:
    with pytest.raises(TypeError):
        PREPARED.rows(status="todo")


@pytest.mark.django_db
def test_a_lookup_that_transforms_its_value_is_refused() -> None:
    contains = PreparedRows(
        lambda text: Task.objects.filter(title__contains=text).values_list("pk"),
        text="placeholder",
    )
    with pytest.raises(PreparedQueryError, match="transforms"):
        contains.rows(text="a")


@pytest.mark.django_db
def test_only_values_list_queries_are_prepared() -> None:
    instances = PreparedRows(lambda pk: Task.objects.filter(pk=pk), pk=-1)
    with pytest.raises(PreparedQueryError, match="values_list"):
        instances.rows(pk=1)


def _prepared_statements_like(text: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{text}%"]
        )
        (count,) = cursor.fetchone()
    return int(count)


TITLES = PreparedRows(
    lambda initiative: Task.objects.filter(initiative_id=initiative).values_list("title"),
    initiative=-987_654_321,
)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares statements")
def test_on_postgresql_a_statement_is_prepared_once_per_connection() -> None:
    """PostgreSQL plans the statement once in a connection; later calls, with other values,
    run it without planning again. Set off (MILEPOST_DB_PREPARED_STATEMENTS=0), nothing is
    kept prepared and the rows are the same."""
    titles = 'SELECT "work_task"."title" AS "title" FROM'  # TITLES' statement alone
    first, second = make_initiative(make_org()), make_initiative(make_org())
    make_task(first, title="Ship it")
    raw = connection.connection
    threshold = raw.prepare_threshold
    assert threshold == 0  # the settings' default: prepared on first use
    try:
        raw.prepare_threshold = None
        assert TITLES.rows(initiative=first.pk) == [("Ship it",)]
        assert _prepared_statements_like(titles) == 0
    finally:
        raw.prepare_threshold = threshold
    assert TITLES.rows(initiative=first.pk) == [("Ship it",)]
    assert TITLES.rows(initiative=second.pk) == []
    assert TITLES.rows(initiative=first.pk) == [("Ship it",)]
    assert _prepared_statements_like(titles) == 1
