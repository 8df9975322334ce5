"""The roadmap timeline in pages and narrowed to a team (with the teams below it): every bar
is on exactly one page, in the unpaged order; a page draws the milestones and dependencies of
its own items only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from milepost.engine.model import (
    CycleInput,
    DependencyInput,
    InitiativeInput,
    InitiativeStatus,
    MilestoneInput,
    Plan,
    TeamInput,
)
from milepost.reports import timeline as timeline_module
from milepost.reports.timeline import Timeline, build_timeline, teams_within

START = dt.date(2026, 1, 1)
TODAY = dt.date(2026, 2, 1)


def _initiative(key: str, team: str, day: int) -> InitiativeInput:
    return InitiativeInput(
        key=key,
        title=f"Initiative {key}",
        team_key=team,
        status=InitiativeStatus.PLANNED,
        start=START + dt.timedelta(days=day),
        end=START + dt.timedelta(days=day + 9),
        effort_days=Decimal(2),
    )


def _plan() -> Plan:
    # company → product → (web, mobile); company → sales
    teams = (
        TeamInput("company", "Company"),
        TeamInput("product", "Product", parent_key="company"),
        TeamInput("web", "Web", parent_key="product"),
        TeamInput("mobile", "Mobile", parent_key="product"),
        TeamInput("sales", "Sales", parent_key="company"),
    )
    owners = ["web", "mobile", "sales", "product", "web", "sales", "mobile"]
    initiatives = tuple(_initiative(f"i{n}", team, n * 3) for n, team in enumerate(owners))
    return Plan(
        teams=teams,
        cycles=(CycleInput("q1", "2026 Q1", START, dt.date(2026, 3, 31)),),
        initiatives=initiatives,
        milestones=(
            MilestoneInput("m0", "First cut", START + dt.timedelta(days=5), "i0"),
            MilestoneInput("m6", "Beta", START + dt.timedelta(days=25), "i6"),
            MilestoneInput("board", "Board review", START + dt.timedelta(days=40)),
        ),
        dependencies=(DependencyInput("i0", "i1"), DependencyInput("i1", "i6")),
    )


def _layout(**options: object) -> Timeline:
    return build_timeline(_plan(), None, (), today=TODAY, group_by="team", **options)  # type: ignore[arg-type]


def _keys(t: Timeline) -> list[str]:
    return [bar.key for group in t.groups for bar in group.bars]


def _milestones(t: Timeline) -> set[str]:
    return {m.key for marks in t.milestones.values() for m in marks}


@pytest.fixture
def three_per_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline_module, "BARS_PER_PAGE", 3)


def test_one_page_when_the_bars_fit() -> None:
    t = _layout()
    assert (t.page, t.pages, t.total_bars, t.bar_count, t.first_bar) == (1, 1, 7, 7, 1)
    assert _milestones(t) == {"m0", "m6", "board"}


def test_every_bar_is_on_exactly_one_page_in_the_unpaged_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unpaged = _keys(_layout())
    monkeypatch.setattr(timeline_module, "BARS_PER_PAGE", 3)
    pages = [_layout(page=n) for n in (1, 2, 3)]
    assert [t.pages for t in pages] == [3, 3, 3]
    assert [t.bar_count for t in pages] == [3, 3, 1]
    assert [t.first_bar for t in pages] == [1, 4, 7]
    assert [t.last_bar for t in pages] == [3, 6, 7]
    assert [key for t in pages for key in _keys(t)] == unpaged
    # A group cut by a page boundary is labelled again on the next page.
    assert all(group.bars for t in pages for group in t.groups if group.label != "Milestones")


@pytest.mark.usefixtures("three_per_page")
def test_a_page_past_either_end_is_the_first_or_the_last() -> None:
    assert _layout(page=0).page == 1
    assert _layout(page=99).page == 3
    assert _keys(_layout(page=99)) == _keys(_layout(page=3))


@pytest.mark.usefixtures("three_per_page")
def test_a_page_draws_the_milestones_and_dependencies_of_its_own_items() -> None:
    first, _, last = (_layout(page=n) for n in (1, 2, 3))
    on_first = set(_keys(first))
    assert _milestones(first) == {f"m{key[1:]}" for key in on_first} & {"m0", "m6"}
    # The milestone of no initiative has a row of its own on the last page only.
    assert "board" in _milestones(last)
    assert "board" not in _milestones(first)
    for t in (first, last):
        drawn = set(_keys(t)) | _milestones(t)
        assert all(d.predecessor in drawn and d.successor in drawn for d in t.dependencies)


def test_teams_within_is_the_team_and_every_team_below_it() -> None:
    plan = _plan()
    assert teams_within(plan, "product") == {"product", "web", "mobile"}
    assert teams_within(plan, "web") == {"web"}
    assert teams_within(plan, "company") == {t.key for t in plan.teams}


def test_a_team_filter_keeps_that_teams_work_and_the_teams_below_it() -> None:
    t = _layout(teams=teams_within(_plan(), "product"))
    assert sorted(_keys(t)) == ["i0", "i1", "i3", "i4", "i6"]
    assert t.total_bars == 5
    # Their milestones stay; a milestone of no initiative belongs to no team.
    assert _milestones(t) == {"m0", "m6"}
    assert {(d.predecessor, d.successor) for d in t.dependencies} == {("i0", "i1"), ("i1", "i6")}
    sales = _layout(teams=teams_within(_plan(), "sales"))
    assert sorted(_keys(sales)) == ["i2", "i5"]
    assert _milestones(sales) == set()
    assert sales.dependencies == []


def test_the_findings_about_a_team_are_those_about_it_or_its_work() -> None:
    from milepost.engine.model import Severity
    from milepost.engine.results import Finding
    from milepost.reports.queries import findings_about_teams

    def finding(*objects: str) -> Finding:
        return Finding("code", Severity.WARNING, "message", objects)

    about_web = finding("initiative:i0")
    about_its_milestone = finding("milestone:m0", "kr:growth/signups")
    about_the_team = finding("team:mobile")
    about_sales = finding("initiative:i2")
    about_no_initiative = finding("milestone:board")
    found = findings_about_teams(
        _plan(),
        [about_web, about_its_milestone, about_the_team, about_sales, about_no_initiative],
        teams_within(_plan(), "product"),
    )
    assert found == [about_web, about_its_milestone, about_the_team]
