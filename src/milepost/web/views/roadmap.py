"""The roadmap: an SVG timeline of the cycle's initiatives, grouped by objective or team,
zoomable by week, month and quarter; a click opens the initiative in a side panel (htmx)."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse

from milepost.engine.results import Finding
from milepost.organizations.access import Actor
from milepost.reports.queries import finding_hidden, hidden_objective_keys
from milepost.reports.timeline import ZOOMS, build_timeline, render_svg
from milepost.web.context import member_view
from milepost.web.htmx import render_page
from milepost.web.links import id_link
from milepost.web.selection import choose_cycle
from milepost.web.snapshot import page_snapshot
from milepost.web.views import cycle_reports

GROUPS = ("objective", "team")


@member_view
def roadmap(request: HttpRequest, actor: Actor) -> HttpResponse:
    choice = choose_cycle(request, actor)
    group_by = request.GET.get("group", "")
    group_by = group_by if group_by in GROUPS else "objective"
    zoom = request.GET.get("zoom", "")
    zoom = zoom if zoom in ZOOMS else "month"
    day = cycle_reports.as_of_day(request, actor)
    if choice.cycle is not None and day is not None:
        return cycle_reports.roadmap_as_of_page(
            request, actor, choice.cycle, choice.cycles, day, group_by=group_by, zoom=zoom
        )
    svg = None
    timeline = None
    critical_count = 0
    if choice.cycle is not None:
        snap = page_snapshot(request, actor.organization, choice.cycle)
        hidden = hidden_objective_keys(actor)
        # The bars carry the findings' messages only: no need to name and link every finding.
        findings: Sequence[Finding] = snap.roadmap.findings
        if hidden:  # (none for admins: the filter would only copy the list)
            findings = [f for f in findings if not finding_hidden(f, hidden)]
        timeline = build_timeline(
            snap.plan,
            snap.roadmap.schedule,
            findings,
            today=snap.as_of,
            group_by=group_by,
            zoom=zoom,
            ids=snap.initiative_ids,
            hidden_objectives=hidden,
        )
        svg = render_svg(
            timeline,
            href=id_link("web:initiative-detail"),
            panel_href=id_link("web:initiative-panel"),
        )
        critical_count = sum(1 for g in timeline.groups for b in g.bars if b.critical)
        schedule_error = snap.roadmap.schedule_error
    else:
        schedule_error = None
    bars = sum(len(g.bars) for g in timeline.groups) if timeline is not None else 0
    context = {
        "cycle": choice.cycle,
        "cycles": choice.cycles,
        "svg": svg,
        "timeline": timeline,
        "bar_count": bars,
        "critical_count": critical_count,
        "group_by": group_by,
        "zoom": zoom,
        "zooms": list(ZOOMS),
        "schedule_error": schedule_error,
        "extra_params": [("group", group_by), ("zoom", zoom)],
        **cycle_reports.as_of_picker(request, actor),
    }
    return render_page(request, "web/roadmap.html", context, nav="roadmap")
