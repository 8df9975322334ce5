"""The Priorities page: initiatives in the engine's rank order, work aligned to no key result
ranked last among open work and marked as such, every row with its term-by-term "why"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.web.builders import Plan

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr(?: class="([^"]*)")? data-aligned="(true|false)">(.*?)</tr>', re.S)
MARK = "Not aligned to any key result"


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, pattern
    return found.group(1)


def _rows(html: str) -> list[tuple[int, str, bool, bool]]:
    """(rank, title, aligned, marked) for every row of the table, top to bottom."""
    rows = []
    for css, aligned, body in ROW.findall(html):
        rank = int(_first(r'<td class="num">(\d+)</td>', body))
        title = _first(r'<a href="[^"]+">([^<]+)</a>', body)
        marked = MARK in body
        assert (css == "unaligned") == (aligned == "false"), title
        rows.append((rank, title, aligned == "true", marked))
    return rows


def test_unaligned_work_ranks_last_and_is_marked(plan: Plan, member_client: Client) -> None:
    html = member_client.get(reverse("web:priorities"), {"cycle": plan.cycle.pk}).content.decode()
    rows = _rows(html)

    assert len(rows) == len(plan.initiatives) == 7
    assert [r[0] for r in rows] == list(range(1, 8))  # drawn in rank order
    *aligned, last = rows
    assert last == (7, "Unaligned work", False, True)
    assert all(ok and not marked for _, _, ok, marked in aligned)
    assert html.count(MARK) == 1
    assert html.count("Term by term") == 7


def test_closed_work_ranks_after_unaligned_work_and_is_not_marked(
    plan: Plan, member_client: Client
) -> None:
    # A cancelled initiative aligned to nothing: no longer a problem to point out.
    factories.make_initiative(
        plan.org, "dropped", title="Dropped idea", cycle=plan.cycle, status="cancelled"
    )
    html = member_client.get(reverse("web:priorities"), {"cycle": plan.cycle.pk}).content.decode()
    titles = [title for _, title, _, _ in _rows(html)]

    assert titles[-2:] == ["Unaligned work", "Dropped idea"]
    assert html.count(MARK) == 1
