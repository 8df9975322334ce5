"""The server-drawn SVG (roadmap timeline, key-result chart) and the dashboard aggregates,
from engine output on hand-made plans."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from milepost.engine.model import (
    CheckInPoint,
    CycleInput,
    DependencyInput,
    EngineSettings,
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    MilestoneInput,
    ObjectiveInput,
    Plan,
    TeamInput,
)
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.roadmap import evaluate_roadmap
from milepost.reports.charts import key_result_chart, nice_ticks
from milepost.reports.dashboard import (
    cycle_trend,
    net_confidence,
    overall,
    progress_distribution,
    status_distribution,
    trend_dates,
)
from milepost.reports.timeline import build_timeline, render_svg

START = dt.date(2026, 1, 1)
END = dt.date(2026, 3, 31)
TODAY = dt.date(2026, 2, 15)


def _kr(key: str = "growth/signups", checkins: int = 4) -> KeyResultInput:
    return KeyResultInput(
        key=key,
        objective_key=key.split("/")[0],
        title="Signups <b>up</b>",
        kind=KeyResultKind.INCREASE,
        start=Decimal(100),
        target=Decimal(300),
        window_start=START,
        due=END,
        checkins=tuple(
            CheckInPoint(START + dt.timedelta(days=10 * n + 5), Decimal(100 + 20 * n), 6)
            for n in range(checkins)
        ),
    )


def _initiative(
    key: str, start: int, days: int, links: tuple[str, ...] = (), **extra: object
) -> InitiativeInput:
    return InitiativeInput(
        key=key,
        title=f"Build {key} <script>",
        team_key="core",
        status=InitiativeStatus.IN_PROGRESS,
        start=START + dt.timedelta(days=start),
        end=START + dt.timedelta(days=start + days - 1),
        effort_days=Decimal(5),
        key_results=tuple(InitiativeKeyResultLink(k) for k in links),
        **extra,  # type: ignore[arg-type]
    )


def _plan() -> Plan:
    return Plan(
        teams=(TeamInput("core", "Core"),),
        cycles=(CycleInput("q1", "2026 Q1", START, END),),
        objectives=(ObjectiveInput("growth", "Grow <fast>", "q1"),),
        key_results=(_kr(),),
        initiatives=(
            _initiative("a", 0, 20, ("growth/signups",)),
            _initiative("b", 20, 30, ("growth/signups",)),
            _initiative("side", 0, 10, ("growth/signups",)),
            _initiative("lonely", 5, 10),
        ),
        milestones=(MilestoneInput("launch", "Launch", START + dt.timedelta(days=49), "b"),),
        dependencies=(DependencyInput("a", "b"), DependencyInput("b", "launch")),
    )


def _timeline(group_by: str = "objective", hidden: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    plan = _plan()
    okr = evaluate_okrs(plan, TODAY)
    roadmap = evaluate_roadmap(plan, TODAY, okr)
    timeline = build_timeline(
        plan,
        roadmap.schedule,
        roadmap.findings,
        today=TODAY,
        group_by=group_by,
        zoom="week",
        ids={"a": 1, "b": 2, "side": 3, "lonely": 4},
        hidden_objectives=hidden,
    )
    return timeline, roadmap


def _svg(timeline) -> str:  # type: ignore[no-untyped-def]
    return str(
        render_svg(
            timeline, href=lambda pk: f"/initiatives/{pk}/", panel_href=lambda pk: f"/p/{pk}/"
        )
    )


def test_the_timeline_groups_bars_and_puts_unaligned_work_last() -> None:
    timeline, _ = _timeline()
    labels = [g.label for g in timeline.groups]
    assert labels == ["Grow <fast>", "Not aligned to any objective"]
    assert [b.key for b in timeline.groups[0].bars] == ["side", "a", "b"]
    team, _ = _timeline("team")
    assert [g.label for g in team.groups] == ["Core"]


def test_the_critical_path_and_its_arrows_are_highlighted() -> None:
    timeline, roadmap = _timeline()
    assert roadmap.schedule is not None
    critical = {b.key for g in timeline.groups for b in g.bars if b.critical}
    assert critical == {"a", "b"}
    svg = _svg(timeline)
    assert svg.count('data-critical="true"') >= 3  # two bars and at least one arrow
    assert svg.count('class="tl-dependency"') == 2
    assert 'class="tl-arrow critical"' in svg
    assert "tl-today" in svg


def test_findings_are_marked_on_their_bar() -> None:
    timeline, _ = _timeline()
    lonely = next(b for g in timeline.groups for b in g.bars if b.key == "lonely")
    assert {f.code for f in lonely.findings} == {"initiative-unaligned"}
    assert 'data-finding="warning"' in _svg(timeline)


def test_bars_are_links_that_open_the_side_panel_and_text_is_escaped() -> None:
    svg = _svg(_timeline()[0])
    assert 'href="/initiatives/1/" hx-get="/p/1/" hx-target="#side-panel"' in svg
    assert "<script>" not in svg
    assert "Build a &lt;script&gt;" in svg
    assert "Grow &lt;fast&gt;" in svg
    assert re.search(
        r'aria-label="Build a &lt;script&gt;, in progress, [^"]*on the critical path"', svg
    )


def test_hidden_objectives_group_their_work_as_private() -> None:
    timeline, _ = _timeline(hidden=("growth",))
    assert timeline.groups[0].label == "Private objective (locked)"
    assert "Grow &lt;fast&gt;" not in _svg(timeline)


def test_the_key_result_chart_draws_actual_expected_and_the_forecast_band() -> None:
    kr = _kr()
    result = evaluate_key_result(kr, TODAY, EngineSettings())
    assert result.forecast is not None
    svg = str(key_result_chart(kr, result, TODAY, EngineSettings(), title="A <chart>"))
    assert svg.count('class="actual-point"') == 4
    assert 'class="expected-line"' in svg
    assert 'class="forecast-band"' in svg
    assert "A &lt;chart&gt;" in svg
    no_forecast = _kr(checkins=2)
    result = evaluate_key_result(no_forecast, TODAY, EngineSettings())
    svg = str(key_result_chart(no_forecast, result, TODAY, EngineSettings()))
    assert "forecast-band" not in svg
    assert "No forecast: fewer than 3 check-ins" in svg


def test_binary_key_results_are_charted_as_progress() -> None:
    kr = KeyResultInput(
        key="o/done", objective_key="o", title="Ship", kind=KeyResultKind.BINARY, start=Decimal(0),
        target=Decimal(1), window_start=START, due=END,
        checkins=(CheckInPoint(START + dt.timedelta(days=40), Decimal(1)),),
    )  # fmt: skip
    result = evaluate_key_result(kr, TODAY, EngineSettings())
    svg = str(key_result_chart(kr, result, TODAY, EngineSettings()))
    assert ">100%<" in svg
    assert ">-" not in svg


def test_nice_ticks_cover_the_range() -> None:
    ticks = nice_ticks(97, 313)
    assert ticks[0] <= 97
    assert ticks[-1] >= 313
    assert len(ticks) <= 8


def test_dashboard_aggregates() -> None:
    shares = status_distribution(["on_track", "on_track", "off_track", "at_risk"])
    assert [(s.key, s.count) for s in shares] == [
        ("on_track", 2), ("at_risk", 1), ("off_track", 1), ("done", 0), ("not_started", 0),
    ]  # fmt: skip
    assert shares[0].share == Decimal("0.5")
    assert [
        s.count for s in progress_distribution([Decimal("0.1"), Decimal("0.5"), Decimal(1)])
    ] == [1, 0, 1, 1]
    assert net_confidence(["on_track", "done", "off_track", "at_risk"]) == Decimal("25.0")
    plan = _plan()
    report = evaluate_okrs(plan, TODAY)
    progress, expected = overall(report.objectives.values(), {"growth": Decimal(1)})
    assert progress == report.objectives["growth"].progress
    assert expected == report.objectives["growth"].expected
    assert overall([], {}) == (Decimal(0), Decimal(0))


def test_the_trend_is_the_engine_at_each_week() -> None:
    plan = _plan()
    assert trend_dates(START, END, TODAY)[-1] == TODAY
    points = cycle_trend(plan, "q1", START, END, TODAY)
    assert [p.on for p in points] == trend_dates(START, END, TODAY)
    assert points[-1].progress == evaluate_okrs(plan, TODAY).objectives["growth"].progress
    assert points[0].progress <= points[-1].progress
