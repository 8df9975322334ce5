"""The roadmap: an SVG timeline of the cycle's initiatives, grouped by objective or team,
zoomable by week, month and quarter, narrowed to a team (with the teams below it) and paged
(`BARS_PER_PAGE` bars a page); a click opens the initiative in a side panel (htmx)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils.safestring import SafeString

from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.results import Finding
from milepost.organizations.access import Actor
from milepost.reports.queries import finding_hidden, hidden_objective_keys
from milepost.reports.snapshot import Snapshot
from milepost.reports.timeline import (
    BARS_PER_PAGE,
    ZOOMS,
    FindingsOnTimeline,
    Timeline,
    build_timeline,
    findings_on_timeline,
    render_svg,
    teams_within,
)
from milepost.web.context import member_view
from milepost.web.htmx import render_page
from milepost.web.links import id_link
from milepost.web.selection import (
    TeamChoice,
    choose_cycle,
    choose_page,
    choose_team,
    pager,
    teams_of,
)
from milepost.web.snapshot import page_snapshot
from milepost.web.views import cycle_reports

GROUPS = ("objective", "team")
# Drawings kept with the evaluation they were drawn from, the latest few per evaluation: a
# 2,000-bar page takes ~200 ms to lay out and draw, and every viewer of one evaluation gets
# the same drawing for the same grouping, zoom, team, page and hidden objectives. A new
# evaluation (any change to the plan) starts without any.
DRAWINGS_KEPT = 4


@dataclass(frozen=True, slots=True)
class Drawing:
    timeline: Timeline
    svg: SafeString
    critical_count: int


def _drawing(
    snap: Snapshot,
    *,
    group_by: str,
    zoom: str,
    team: TeamChoice | None,
    page: int,
    hidden: frozenset[str],
) -> Drawing:
    """The roadmap drawn for these options, kept with the evaluation (`Snapshot.kept`)."""

    @cyclic_gc_paused()  # 2,000 bars laid out and drawn: 100,000s of objects, no cycles
    def draw() -> Drawing:
        # The bars carry the findings' messages only: no need to name and link every finding.
        findings: Sequence[Finding] | FindingsOnTimeline
        if hidden:
            findings = [f for f in snap.roadmap.findings if not finding_hidden(f, hidden)]
        else:  # everything (admins): indexed once per evaluation
            if "findings_on_timeline" not in snap.extras:
                snap.extras["findings_on_timeline"] = findings_on_timeline(snap.roadmap.findings)
            findings = snap.extras["findings_on_timeline"]
        timeline = build_timeline(
            snap.plan,
            snap.roadmap.schedule,
            findings,
            today=snap.as_of,
            group_by=group_by,
            zoom=zoom,
            ids=snap.initiative_ids,
            hidden_objectives=hidden,
            teams=teams_within(snap.plan, team.key) if team is not None else None,
            page=page,
        )
        svg = render_svg(
            timeline,
            href=id_link("web:initiative-detail"),
            panel_href=id_link("web:initiative-panel"),
        )
        critical = sum(1 for g in timeline.groups for b in g.bars if b.critical)
        return Drawing(timeline, svg, critical)

    return snap.kept(
        "roadmap drawings",
        (group_by, zoom, team.key if team is not None else None, page, hidden),
        draw,
        limit=DRAWINGS_KEPT,
    )


@member_view
def roadmap(request: HttpRequest, actor: Actor) -> HttpResponse:
    choice = choose_cycle(request, actor)
    group_by = request.GET.get("group", "")
    group_by = group_by if group_by in GROUPS else "objective"
    zoom = request.GET.get("zoom", "")
    zoom = zoom if zoom in ZOOMS else "month"
    teams = teams_of(actor)
    team = choose_team(request, teams)
    page = choose_page(request)
    day = cycle_reports.as_of_day(request, actor)
    if choice.cycle is not None and day is not None:
        return cycle_reports.roadmap_as_of_page(
            request,
            actor,
            choice.cycle,
            choice.cycles,
            day,
            group_by=group_by,
            zoom=zoom,
            teams=teams,
            team=team,
            page=page,
        )
    drawing: Drawing | None = None
    schedule_error = None
    if choice.cycle is not None:
        snap = page_snapshot(request, actor.organization, choice.cycle)
        drawing = _drawing(
            snap,
            group_by=group_by,
            zoom=zoom,
            team=team,
            page=page,
            hidden=frozenset(hidden_objective_keys(actor)),
        )
        schedule_error = snap.roadmap.schedule_error
    timeline = drawing.timeline if drawing is not None else None
    context = {
        "cycle": choice.cycle,
        "cycles": choice.cycles,
        "teams": teams,
        "team": team,
        "svg": drawing.svg if drawing is not None else None,
        "timeline": timeline,
        "bar_count": timeline.bar_count if timeline is not None else 0,
        "critical_count": drawing.critical_count if drawing is not None else 0,
        "group_by": group_by,
        "zoom": zoom,
        "zooms": list(ZOOMS),
        "bars_per_page": BARS_PER_PAGE,
        "schedule_error": schedule_error,
        "extra_params": [("group", group_by), ("zoom", zoom)],
        **(pager(request, timeline.page, timeline.pages) if timeline is not None else {}),
        **cycle_reports.as_of_picker(request, actor),
    }
    return render_page(request, "web/roadmap.html", context, nav="roadmap")
