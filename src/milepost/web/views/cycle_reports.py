"""Looking back: the cycle report (and its printable version), lessons searchable across
cycles, pages "as of" a past date (objective, key result, alignment tree, roadmap), and what
the key-result and objective pages show about retrospectives, lineage and the baseline.

The existing pages hand over to the ``*_as_of_page`` functions here when they get an
``?as_of=YYYY-MM-DD`` in the past (`as_of_day`); everything shown is computed by
`milepost.reports.history` and `milepost.reports.cycle_report`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from milepost.engine.model import CycleState
from milepost.okrs.access import access_cycle, can_edit_key_result, can_edit_objective
from milepost.okrs.carry_over import key_result_lineage
from milepost.okrs.cycles import key_result_baseline_changes, objective_baseline_changes
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Cycle, KeyResult, Objective, Retrospective
from milepost.okrs.querysets import objective_visibility_q
from milepost.organizations.access import Actor
from milepost.organizations.models import Team
from milepost.reports.charts import key_result_chart
from milepost.reports.cycle_report import GRADE_CSS, cycle_report, search_lessons
from milepost.reports.history import (
    alignment_tree_as_of,
    baseline_comparison,
    key_result_as_of,
    objective_as_of,
    roadmap_as_of,
)
from milepost.reports.queries import finding_hidden, findings_about_teams, hidden_objective_keys
from milepost.reports.timeline import ZOOMS, build_timeline, render_svg, teams_within
from milepost.web.context import member_view, resolve
from milepost.web.forms_cycles import as_of_date
from milepost.web.htmx import render_page
from milepost.web.links import id_link
from milepost.web.selection import TeamChoice, pager

TREE_DEPTH = 50  # an as-of tree comes whole (no lazy loading of the past)


def as_of_day(request: HttpRequest, actor: Actor) -> dt.date | None:
    """The past day a page is asked for (``?as_of=``), or None for the live page."""
    return as_of_date(request, organization_today(actor.organization))


def _picker(request: HttpRequest, actor: Actor, day: dt.date | None) -> dict[str, Any]:
    today = organization_today(actor.organization)
    keep: list[tuple[str, str]] = [(k, str(v)) for k, v in request.GET.items() if k != "as_of"]
    return {
        "as_of": day,
        "as_of_max": today - dt.timedelta(days=1),
        "as_of_keep": keep,
        "as_of_live_url": request.path + (f"?{urlencode(keep)}" if keep else ""),
    }


def as_of_picker(request: HttpRequest, actor: Actor) -> dict[str, Any]:
    """What the "as of" date picker needs on a live page (``web/cycle_as_of_picker.html``)."""
    return _picker(request, actor, None)


# --- the cycle report -------------------------------------------------------------------------


def _report_context(actor: Actor, cycle: Cycle) -> dict[str, Any]:
    report = cycle_report(actor, cycle)
    comparison = baseline_comparison(actor, cycle)
    return {
        "cycle": cycle,
        "report": report,
        "comparison": comparison,
        "comparison_changed": sum(1 for c in comparison if c.changed),
        "grade_css": GRADE_CSS,
    }


@member_view
def cycle_report_page(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id)
    context = _report_context(actor, cycle)
    return render_page(request, "web/cycle_report.html", context, nav="cycles")


@member_view
def cycle_report_print(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    """The report on its own, laid out for paper (no navigation, print styles)."""
    cycle = access_cycle(actor, cycle_id)
    context = _report_context(actor, cycle)
    context["web"] = resolve(request)
    context["printed_on"] = organization_today(actor.organization)
    return render(request, "web/cycle_report_print.html", context)


@member_view
def lessons(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Lessons and reflections of every cycle, searchable."""
    text = (request.GET.get("q") or "").strip()[:200]
    cycles = list(Cycle.objects.of(actor.organization_id).active().order_by("-start_date"))
    try:
        cycle_id = int(request.GET.get("cycle") or 0)
    except ValueError:
        cycle_id = 0
    cycle = next((c for c in cycles if c.pk == cycle_id), None)
    found = search_lessons(actor, text=text, cycle=cycle)
    context = {"q": text, "cycles": cycles, "cycle": cycle, "lessons": found}
    return render_page(request, "web/cycle_lessons.html", context, nav="cycles")


# --- what the key-result and objective pages add -----------------------------------------------


def key_result_extras(actor: Actor, kr: KeyResult) -> dict[str, Any]:
    """For the key-result page: its lineage, its retrospective, its changes from the cycle's
    baseline, and the as-of picker's state. One to three queries (see `key_result_lineage`)."""
    cycle = kr.objective.cycle
    lineage = key_result_lineage(actor, kr)
    return {
        "lineage": lineage,
        "kr_retrospective": lineage.own_retrospective,
        "kr_baseline_changes": key_result_baseline_changes(kr),
        "cycle_state": cycle.state,
        "can_retrospect": cycle.state != CycleState.PLANNING and can_edit_key_result(actor, kr),
    }


_RETRO_FIELDS = ("id", "skipped", "score", "grade", "went_well", "went_badly", "change_next")


def objective_extras(
    actor: Actor, objective: Objective, key_results: list[KeyResult]
) -> dict[str, Any]:
    """For the objective page: its reflection, what it continues and what continues it, and
    its (and its live ``key_results``') changes from the baseline. One query (two with an
    origin)."""
    cycle = objective.cycle
    # The objective's reflection rides along with the objectives that continue it.
    rows = list(
        Objective.objects.filter(organization_id=actor.organization_id)
        .filter(
            Q(pk=objective.pk)
            | (Q(carried_from=objective, archived_at__isnull=True) & objective_visibility_q(actor))
        )
        .select_related("cycle")
        .annotate(**{f"retro_{n}": F(f"retrospectives__{n}") for n in _RETRO_FIELDS})
        .order_by("cycle__start_date", "pk")
    )
    retrospective = None
    for row in rows:
        if row.pk == objective.pk and getattr(row, "retro_id", None) is not None:
            retrospective = Retrospective(
                objective=objective, **{n: getattr(row, f"retro_{n}") for n in _RETRO_FIELDS}
            )
    origin = None
    if objective.carried_from_id:
        origin = (
            Objective.objects.visible_to(actor)
            .filter(pk=objective.carried_from_id, archived_at__isnull=True)
            .select_related("cycle")
            .first()
        )
    return {
        "objective_retrospective": retrospective,
        "objective_origin": origin,
        "objective_continued": [row for row in rows if row.pk != objective.pk],
        "objective_baseline_changes": objective_baseline_changes(objective, key_results),
        "cycle_state": cycle.state,
        "can_reflect": cycle.state != CycleState.PLANNING and can_edit_objective(actor, objective),
    }


# --- pages as of a past date ------------------------------------------------------------------


def objective_as_of_page(
    request: HttpRequest, actor: Actor, objective: Objective, day: dt.date
) -> HttpResponse:
    past = objective_as_of(actor, objective, day)
    context = {
        "objective": objective,
        "past": past,
        "day": day,
        **_picker(request, actor, day),
    }
    return render_page(request, "web/cycle_objective_as_of.html", context, nav="objectives")


def key_result_as_of_page(
    request: HttpRequest, actor: Actor, kr: KeyResult, day: dt.date
) -> HttpResponse:
    past = key_result_as_of(actor, kr, day)
    chart = None
    if past is not None:
        chart = key_result_chart(
            past.input,
            past.result,
            day,
            actor.organization.engine_settings(),
            title=f"{past.row.title} as of {day:%-d %B %Y}",
        )
    context = {
        "kr": kr,
        "objective": kr.objective,
        "past": past,
        "chart": chart,
        "day": day,
        **_picker(request, actor, day),
    }
    return render_page(request, "web/cycle_key_result_as_of.html", context, nav="objectives")


def alignment_tree_as_of_page(
    request: HttpRequest,
    actor: Actor,
    cycle: Cycle,
    cycles: tuple[Cycle, ...],
    day: dt.date,
) -> HttpResponse:
    from milepost.web.views.alignment import _parent_counts, _views

    forest = alignment_tree_as_of(actor, cycle, day)
    counts = _parent_counts(forest)
    context = {
        "cycle": cycle,
        "cycles": cycles,
        "nodes": _views([(r, "") for r in forest], "", 0, TREE_DEPTH, counts),
        "total": len(counts),
        "team_names": dict(Team.objects.of(actor.organization_id).values_list("pk", "name")),
        "day": day,
        "extra_params": [("as_of", day.isoformat())],
        **_picker(request, actor, day),
    }
    return render_page(request, "web/cycle_tree_as_of.html", context, nav="alignment")


def roadmap_as_of_page(
    request: HttpRequest,
    actor: Actor,
    cycle: Cycle,
    cycles: tuple[Cycle, ...],
    day: dt.date,
    *,
    group_by: str = "objective",
    zoom: str = "month",
    teams: list[TeamChoice] | None = None,
    team: TeamChoice | None = None,
    page: int = 1,
) -> HttpResponse:
    past = roadmap_as_of(actor, cycle, day)
    hidden = hidden_objective_keys(actor)
    findings = [f for f in past.roadmap.findings if not finding_hidden(f, hidden)]
    within = teams_within(past.plan, team.key) if team is not None else None
    if within is not None:
        findings = findings_about_teams(past.plan, findings, within)
    timeline = build_timeline(
        past.plan,
        past.roadmap.schedule,
        findings,
        today=day,
        group_by=group_by,
        zoom=zoom if zoom in ZOOMS else "month",
        ids=past.initiative_ids,
        hidden_objectives=hidden,
        teams=within,
        page=page,
    )
    svg = render_svg(
        timeline,
        href=id_link("web:initiative-detail"),
        panel_href=id_link("web:initiative-panel"),
        today_label=f"As of {day.day} {day:%b %Y}",
    )
    context = {
        "cycle": cycle,
        "cycles": cycles,
        "svg": svg,
        "timeline": timeline,
        "bar_count": timeline.bar_count,
        "teams": teams or [],
        "team": team,
        "findings": findings,
        "schedule_error": past.roadmap.schedule_error,
        "day": day,
        "extra_params": [("as_of", day.isoformat()), ("group", group_by), ("zoom", zoom)],
        **pager(request, timeline.page, timeline.pages),
        **_picker(request, actor, day),
    }
    return render_page(request, "web/cycle_roadmap_as_of.html", context, nav="roadmap")
