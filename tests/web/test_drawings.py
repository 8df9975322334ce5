"""The server-drawn SVG (roadmap timeline, key-result chart) and the dashboard aggregates,
from engine output on hand-made plans."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

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
    Severity,
    TeamInput,
)
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.results import Finding
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
from milepost.reports.timeline import HEADER, ROW, build_timeline, render_svg

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


SVG = "{http://www.w3.org/2000/svg}"


def _tree(svg: str) -> ET.Element:
    """The drawing as XML (it must be well-formed: browsers parse it as SVG inside HTML)."""
    return ET.fromstring(svg)  # noqa: S314 - our own output


def _title(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None
    assert title.text is not None
    return title.text


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
    root = _tree(svg)
    # The panel target is set once, on the drawing; htmx inherits it.
    assert root.get("hx-target") == "#side-panel"
    assert root.get("hx-swap") == "innerHTML"
    links = {a.get("href"): a.get("hx-get") for a in root.iter(f"{SVG}a")}
    assert links == {f"/initiatives/{pk}/": f"/p/{pk}/" for pk in (1, 2, 3, 4)}
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


def _milestone_plan() -> Plan:
    """`_plan` with more milestones: three on b (one done), one done on a, one on no
    initiative (drawn on a row of its own)."""
    plan = _plan()
    day = lambda n: START + dt.timedelta(days=n)  # noqa: E731
    return replace(
        plan,
        milestones=(
            *plan.milestones,  # "Launch", day 49, on b
            MilestoneInput("beta", "Beta <b>", day(30), "b", done_on=day(29)),
            MilestoneInput("alpha", "Alpha", day(25), "b"),
            MilestoneInput("kickoff", "Kick-off", day(2), "a", done_on=day(2)),
            MilestoneInput("party", "Party", day(60)),
        ),
    )


def _drawn(plan: Plan, extra: tuple[Finding, ...] = ()):  # type: ignore[no-untyped-def]
    okr = evaluate_okrs(plan, TODAY)
    roadmap = evaluate_roadmap(plan, TODAY, okr)
    timeline = build_timeline(
        plan,
        roadmap.schedule,
        (*roadmap.findings, *extra),
        today=TODAY,
        zoom="week",
        ids={"a": 1, "b": 2, "side": 3, "lonely": 4},
    )
    return timeline, roadmap, _svg(timeline)


def _label(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def test_every_milestone_is_drawn_on_its_row_and_named_in_its_rows_image() -> None:
    plan = _milestone_plan()
    late = Finding("schedule-past-due", Severity.WARNING, "Alpha is late.", ("milestone:alpha",))
    timeline, roadmap, svg = _drawn(plan, (late,))
    assert roadmap.schedule is not None
    critical = {key for path in roadmap.schedule.critical_paths for key in path}
    root = _tree(svg)
    paths = [p for p in root.iter(f"{SVG}path") if "tl-milestone" in (p.get("class") or "")]
    assert all(p.get("role") == "img" for p in paths)
    # One diamond per milestone; one path per row and state, not one element per milestone.
    assert sum((p.get("d") or "").count("M") for p in paths) == len(plan.milestones)
    rows = {b.key: b.row for g in timeline.groups for b in g.bars}
    assert timeline.groups[-1].label == "Milestones"
    states = set()
    for m in plan.milestones:
        row = rows[m.initiative_key] if m.initiative_key else timeline.groups[-1].row + 1
        done, on_path = m.done_on is not None, m.key in critical
        states.add((row, done, on_path))
        found = [p for p in paths if f"{m.name}, {_label(m.on)}" in _title(p)]
        assert len(found) == 1, m.name
        path = found[0]
        css = (path.get("class") or "").split()
        assert ("done" in css, "critical" in css) == (done, on_path), m.name
        title = _title(path)
        assert (", done" in title) == done
        assert (", not done" in title) == (not done)
        if on_path:
            assert "on the critical path" in title
        # The diamond's top at the end of its day, centred on its row.
        x = timeline.x(m.on + dt.timedelta(days=1))
        y = HEADER + row * ROW + ROW // 2 - 7
        assert f"M{x} {y}l7 7-7 7-7-7z" in (path.get("d") or ""), m.name
    assert len(paths) == len(states)
    titles = [_title(p) for p in paths]
    party = "on the critical path" if "party" in critical else ""
    assert f"Milestone Party, 2 Mar 2026, not done{', ' if party else ''}{party}" in titles
    assert "Milestones of Build a <script>, done: Kick-off, 3 Jan 2026" not in titles
    assert "Milestone of Build a <script>, done: Kick-off, 3 Jan 2026" in titles
    assert "Milestone of Build b <script>, done: Beta <b>, 31 Jan 2026" in titles
    # In date order, with the findings counted; user text escaped in the markup.
    alpha = next(t for t in titles if "Alpha" in t)
    assert "Alpha, 26 Jan 2026, 1 finding" in alpha
    assert "Beta &lt;b&gt;, 31 Jan 2026" in svg
    assert "<b>" not in svg


def test_a_rows_milestones_follow_its_bar_in_reading_order() -> None:
    _, _, svg = _drawn(_milestone_plan())
    children = list(_tree(svg))
    bar = next(i for i, e in enumerate(children) if e.get("href") == "/initiatives/2/")
    after = children[bar + 1]
    assert "tl-milestone" in (after.get("class") or "")
    assert _title(after).startswith("Milestone")
    assert "of Build b <script>" in _title(after)


def test_a_bars_accessible_name_counts_its_milestones() -> None:
    _, _, svg = _drawn(_milestone_plan())
    names = {a.get("href"): a.get("aria-label") or "" for a in _tree(svg).iter(f"{SVG}a")}
    assert "3 milestones (1 done)" in names["/initiatives/2/"]
    assert "1 milestone (1 done)" in names["/initiatives/1/"]
    assert "milestone" not in names["/initiatives/3/"]


def test_every_bar_marks_its_findings_with_their_messages() -> None:
    plan = _milestone_plan()
    _, roadmap, svg = _drawn(plan)
    assert roadmap.findings
    rank = {"error": 0, "warning": 1, "info": 2}
    marked = 0
    for a in _tree(svg).iter(f"{SVG}a"):
        rect = a.find(f"{SVG}rect")
        assert rect is not None
        key = rect.get("data-key")
        own = [f for f in roadmap.findings if f"initiative:{key}" in f.objects]
        group = a.find(f"{SVG}g[@class='tl-finding-group']")
        if not own:
            assert group is None, key
            continue
        marked += 1
        assert group is not None, key
        worst = min((f.severity.value for f in own), key=rank.__getitem__)
        assert group.get("data-finding") == worst
        circle = group.find(f"{SVG}circle")
        assert circle is not None
        assert _title(circle) == "\n".join(f.message for f in own)
        n = len(own)
        assert (a.get("aria-label") or "").endswith(f"{n} finding{'s' if n != 1 else ''}")
    assert marked >= 1


def test_dependencies_are_arrows_that_share_their_heads() -> None:
    timeline, roadmap, svg = _drawn(_plan())
    assert roadmap.schedule is not None
    assert ("a", "b") in {pair for p in roadmap.schedule.critical_paths for pair in pairwise(p)}
    root = _tree(svg)
    markers = {m.get("id") for m in root.iter(f"{SVG}marker")}
    assert markers == {"tl-head", "tl-head-critical"}
    arrows = root.find(f"{SVG}g[@class='tl-dependencies']")
    assert arrows is not None
    assert arrows.get("marker-end") == "url(#tl-head)"
    drawn = {_title(g): g for g in arrows.iter(f"{SVG}g") if g.get("class") == "tl-dependency"}
    assert set(drawn) == {"a → b (FS)", "b → launch (FS)"}
    b = next(bar for g in timeline.groups for bar in g.bars if bar.key == "b")
    into_b = drawn["a → b (FS)"]
    path = into_b.find(f"{SVG}path")
    assert path is not None
    # Finish-to-start: it enters b at its start; the critical head is the red marker.
    assert (path.get("d") or "").endswith(f"H{timeline.x(b.start)}")
    assert into_b.get("data-critical") == "true"
    assert path.get("marker-end") == "url(#tl-head-critical)"
    assert "critical" in (path.get("class") or "")


def test_what_the_drawing_adds_to_the_text_is_ascii() -> None:
    """Non-ASCII marks (the ellipsis, the arrow) are character references: a drawing of
    several megabytes stays a one-byte-a-character string, copied and encoded cheaply."""
    plan = _milestone_plan()
    long = replace(plan.initiatives[0], title="A title much longer than the label column")
    plan = replace(plan, initiatives=(long, *plan.initiatives[1:]))
    _, _, svg = _drawn(plan)
    assert svg.isascii()
    assert ">A title much longer than the label&#8230;</text>" in svg
    assert "a &#8594; b (FS)" in svg


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


def test_the_trends_last_point_reads_the_evaluation_at_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page's kept evaluation as of today gives the trend its last point: the same point,
    without evaluating the whole plan once more."""
    from milepost.reports import dashboard

    plan = _plan()
    expected = cycle_trend(plan, "q1", START, END, TODAY)
    kept = evaluate_okrs(plan, TODAY)
    evaluated: list[object] = []
    real = evaluate_okrs

    def counting(plan: Any, day: Any, **kwargs: Any) -> Any:
        evaluated.append(day)
        return real(plan, day, **kwargs)

    monkeypatch.setattr(dashboard, "evaluate_okrs", counting)
    assert cycle_trend(plan, "q1", START, END, TODAY, today_report=kept) == expected
    assert TODAY not in evaluated
    assert evaluated == trend_dates(START, END, TODAY)[:-1]
