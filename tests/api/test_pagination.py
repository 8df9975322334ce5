"""Cursor pagination: pages are stable while rows are inserted, the Link header leads on."""

from __future__ import annotations

import pytest
from django.utils import timezone

from milepost.organizations.models import Team
from milepost.work.models import Task
from tests import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def _walk(api: Api, path: str, params: dict[str, object]) -> list[list[int]]:
    pages: list[list[int]] = []
    query: dict[str, object] = dict(params)
    while True:
        response = api.get(path, query)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        if body["next"] is None:
            assert not response.has_header("Link")
            return pages
        assert response["Link"].endswith('rel="next"')
        assert f"cursor={body['next']}" in response["Link"]
        query = {**params, "cursor": body["next"]}


def test_pages_cover_every_row_once(api_viewer: Api) -> None:
    for i in range(7):
        factories.make_team(api_viewer.org, f"t{i:02d}")
    pages = _walk(api_viewer, "/teams", {"limit": 3})
    assert [len(p) for p in pages] == [3, 3, 1]
    ids = [i for p in pages for i in p]
    assert len(ids) == len(set(ids)) == 7


def test_default_and_maximum_page_size(api_viewer: Api) -> None:
    Team.objects.bulk_create(
        Team(organization=api_viewer.org, key=f"t{i:03d}", name=f"T{i}") for i in range(205)
    )
    assert len(api_viewer.get("/teams").json()["items"]) == 50
    assert len(api_viewer.get("/teams", {"limit": 200}).json()["items"]) == 200
    assert api_viewer.get("/teams", {"limit": 201}).status_code == 422
    assert api_viewer.get("/teams", {"limit": 0}).status_code == 422


@pytest.mark.parametrize("ordering", ["key", "-key", "updated_at", "-updated_at", "id", "-id"])
def test_stable_under_inserts(api_viewer: Api, ordering: str) -> None:
    for key in ("b", "d", "f", "h", "j", "l"):
        factories.make_team(api_viewer.org, key)
    first = api_viewer.get("/teams", {"limit": 3, "ordering": ordering}).json()
    seen = [t["key"] for t in first["items"]]
    # Rows arrive everywhere in the order while the client is between pages.
    for key in ("a", "c", "e", "g", "k", "m"):
        factories.make_team(api_viewer.org, key)
    rest: list[str] = []
    cursor = first["next"]
    while cursor:
        body = api_viewer.get("/teams", {"limit": 3, "ordering": ordering, "cursor": cursor}).json()
        rest += [t["key"] for t in body["items"]]
        cursor = body["next"]
    # No row is seen twice, and every row that existed before the walk is seen.
    assert not set(seen) & set(rest)
    assert {"b", "d", "f", "h", "j", "l"} <= set(seen) | set(rest)
    # The order is kept across pages.
    walked = seen + rest
    reverse = ordering.startswith("-")
    if ordering.lstrip("-") == "key":
        assert walked == sorted(walked, reverse=reverse)


def test_bad_cursor_is_422(api_viewer: Api) -> None:
    factories.make_team(api_viewer.org, "a")
    for cursor in ("garbage", "WyJrZXkiLCJhIiwtNV0", "W10"):  # ..., ["key","a",-5], []
        response = api_viewer.get("/teams", {"cursor": cursor})
        assert response.status_code == 422, cursor
        assert "cursor" in response.json()["errors"]
    # A cursor of one ordering is refused by another.
    for key in ("b", "c"):
        factories.make_team(api_viewer.org, key)
    cursor = api_viewer.get("/teams", {"limit": 1}).json()["next"]
    assert (
        api_viewer.get("/teams", {"limit": 1, "ordering": "-key", "cursor": cursor}).status_code
        == 422
    )


def test_updated_since_filter(api_viewer: Api) -> None:
    factories.make_team(api_viewer.org, "old")
    mark = timezone.now()
    factories.make_team(api_viewer.org, "new")
    keys = [
        t["key"]
        for t in api_viewer.get("/teams", {"updated_since": mark.isoformat()}).json()["items"]
    ]
    assert keys == ["new"]
    naive = api_viewer.get("/teams", {"updated_since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


@pytest.mark.parametrize("ordering", ["id", "-id", "title", "-title", "updated_at", "-updated_at"])
def test_the_task_list_walks_every_shape_in_order(api_viewer: Api, ordering: str) -> None:
    """The task list's page query is compiled once per shape (api.pagination.PreparedList):
    every ordering and filter, page after page, gives the rows in list order, each once,
    and another organization's tasks never."""
    org = api_viewer.org
    first, second = factories.make_initiative(org), factories.make_initiative(org)
    for i in range(9):
        # Repeated titles: the id breaks ties between rows with the same ordering value.
        factories.make_task(
            first if i % 3 else second, title=f"task {i % 4}", status="todo" if i % 2 else "done"
        )
    other = factories.make_initiative(factories.make_org(name="Other", slug="other"))
    factories.make_task(other, title="task 0", status="todo")
    name = ordering.lstrip("-")
    for filters in ({}, {"status": "todo"}, {"initiative": first.pk}):
        expected = list(
            Task.objects.filter(organization=org, **filters)
            .order_by(*((ordering, "-id") if ordering.startswith("-") else (ordering, "id")))
            .values_list("id", flat=True)
            if name != "id"
            else Task.objects.filter(organization=org, **filters)
            .order_by(ordering)
            .values_list("id", flat=True)
        )
        for limit in (2, 50):
            pages = _walk(api_viewer, "/tasks", {"ordering": ordering, "limit": limit, **filters})
            assert [i for page in pages for i in page] == expected, (filters, limit)
