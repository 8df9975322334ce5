"""The cycle dashboard: progress and status distribution, net confidence, objectives by team,
findings by severity, investment per objective and the cycle's trend; filter by team."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse

from milepost.engine.capacity import investment
from milepost.engine.results import Finding
from milepost.okrs.models import Objective
from milepost.organizations.access import Actor
from milepost.reports.charts import trend_chart
from milepost.reports.dashboard import (
    TeamGroup,
    cycle_trend,
    investment_by_objective,
    net_confidence,
    overall,
    progress_distribution,
    status_distribution,
    team_groups,
)
from milepost.reports.queries import with_visibility
from milepost.reports.snapshot import Snapshot
from milepost.web.context import member_view
from milepost.web.findings import finding_views, seen_findings, severity_counts
from milepost.web.htmx import render_page
from milepost.web.selection import choose_cycle, choose_team, teams_of
from milepost.web.snapshot import page_snapshot

INVESTMENT_SHOWN = 10
FINDINGS_SHOWN = 8
# The whole organization's dashboard shows the teams needing attention first; a team's own
# (the team filter) shows all its objectives.
TEAMS_SHOWN = 12
OBJECTIVES_PER_TEAM = 6


@member_view
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    choice = choose_cycle(request, actor)
    teams = teams_of(actor)
    team = choose_team(request, teams)
    cycle = choice.cycle
    context: dict[str, Any] = {
        "cycle": cycle,
        "cycles": choice.cycles,
        "teams": teams,
        "team": team,
    }
    if cycle is None:
        return render_page(request, "web/dashboard.html", context, nav="dashboard")

    snap = page_snapshot(request, actor.organization, cycle)
    plan = snap.plan
    # One query for the objectives shown and for those of the plan the actor may not see (the
    # findings name only objects of the plan: its cycle's, and other cycles' aligned below).
    below = [snap.objective_ids[o.key] for o in plan.objectives if o.cycle_key != cycle.key]
    # As plain rows: a large organization's cycle holds 7,500 objectives, and only the few
    # the page lists become model instances (`_with_instances`).
    candidates: list[Any] = list(
        with_visibility(
            actor,
            Objective.objects.of(actor.organization_id)
            .active()
            .filter(Q(cycle=cycle) | Q(pk__in=below)),
        )
        .annotate(team_name=F("owner_team__name"))
        .order_by("owner_team__name", "title")
        .values_list(
            "pk",
            "key",
            "cycle_id",
            "owner_team_id",
            "team_name",
            "weight",
            "status",
            "visible_to_actor",
            named=True,
        )
    )
    hidden = {o.key for o in candidates if not o.visible_to_actor}
    objectives = [
        o
        for o in candidates
        if o.cycle_id == cycle.pk
        and o.key not in hidden
        and (team is None or o.owner_team_id == team.pk)
    ]
    team_key = team.key if team is not None else None
    in_scope = {o.key for o in objectives}
    extras = snap.extras
    # What the evaluation says of these objectives' key results, and the findings this person
    # sees, are the same for every view of one evaluation with the same scope: kept with it
    # (each reads all 30,000 key results or 60,000 findings of a large organization).
    scope = frozenset(in_scope)
    kr_count, status_shares, progress_shares, confidence = snap.kept(
        "dashboard key results",
        scope,
        lambda: _key_result_figures(snap, in_scope),
        limit=FIGURES_KEPT,
    )
    findings, finding_counts = snap.kept(
        "dashboard findings",
        (frozenset(hidden), team_key, scope),
        lambda: _findings_in_scope(actor, snap, hidden, team_key, in_scope),
        limit=FIGURES_KEPT,
    )

    if "investment" not in extras:
        # Check-ins (all that changed when an evaluation carries extras) invest nothing.
        extras["investment"] = snap.carried.get("investment") or investment(plan)
    rows, unaligned = investment_by_objective(plan, in_scope - hidden, extras["investment"])
    trend_key = ("trend", cycle.key, team_key, tuple(sorted(in_scope)) if team_key else None)
    if trend_key not in extras:
        extras[trend_key] = cycle_trend(
            plan,
            cycle.key,
            cycle.start_date,
            cycle.end_date,
            snap.as_of,
            in_scope if team_key is not None else None,
            known=[p for p in snap.carried.get(trend_key, ()) if p.on < snap.checkins_same_before],
            today_report=snap.okr,
        )
    trend = extras[trend_key]
    weights = {o.key: o.weight for o in objectives}
    progress, expected = overall(
        (snap.okr.objectives[o.key] for o in objectives if o.key in snap.okr.objectives), weights
    )
    groups, teams_left_out = team_groups(
        objectives,
        per_team=len(objectives) if team is not None else OBJECTIVES_PER_TEAM,
        teams=TEAMS_SHOWN,
    )
    groups = _with_instances(groups)
    context.update(
        {
            "team_groups": groups,
            "teams_left_out": teams_left_out,
            "objective_count": len(objectives),
            "kr_count": kr_count,
            "status_shares": status_shares,
            "progress_shares": progress_shares,
            "net_confidence": confidence,
            "overall_progress": progress,
            "overall_expected": expected,
            "findings": finding_views(snap, findings[:FINDINGS_SHOWN]),
            "finding_counts": finding_counts,
            "finding_total": len(findings),
            "investment": rows[:INVESTMENT_SHOWN],
            "unaligned": unaligned,
            "trend_svg": trend_chart(trend, cycle.start_date, cycle.end_date, snap.as_of)
            if trend
            else None,
            "as_of": snap.as_of,
            "objective_ids": snap.objective_ids,
        }
    )
    return render_page(request, "web/dashboard.html", context, nav="dashboard")


def _key_result_figures(snap: Snapshot, in_scope: set[str]) -> tuple[Any, ...]:
    """How many key results the objectives ``in_scope`` have, and their status shares,
    progress shares and net confidence, as the engine evaluates them today."""
    results = snap.okr.key_results
    rows = [
        (results[kr.key].status.value, results[kr.key].progress)
        for kr in snap.plan.key_results
        if kr.objective_key in in_scope and kr.key in results
    ]
    statuses = [status for status, _ in rows]
    return (
        len(rows),
        status_distribution(statuses),
        progress_distribution(progress for _, progress in rows),
        net_confidence(statuses),
    )


def _findings_in_scope(
    actor: Actor, snap: Snapshot, hidden: set[str], team_key: str | None, in_scope: set[str]
) -> tuple[list[Finding], dict[str, int]]:
    """The findings the person sees, and how many of each severity; with a team, those about
    the team, its objectives (``in_scope``), their key results and its initiatives."""
    findings = seen_findings(actor, snap, hidden)
    if team_key is not None:
        plan = snap.plan
        scoped = {f"team:{team_key}"} | {f"objective:{k}" for k in in_scope}
        scoped |= {f"kr:{kr.key}" for kr in plan.key_results if kr.objective_key in in_scope}
        scoped |= {f"initiative:{i.key}" for i in plan.initiatives if i.team_key == team_key}
        findings = [f for f in findings if not scoped.isdisjoint(f.objects)]
    return findings, severity_counts(findings)


# Figures kept with an evaluation for the dashboard: the latest few scopes (people who may
# see different objectives, team filters) per evaluation.
FIGURES_KEPT = 16


def _with_instances(groups: list[TeamGroup]) -> list[TeamGroup]:
    """The groups with the objectives they show as model instances (one query)."""
    shown = [o.pk for group in groups for o in group.shown]
    rows = Objective.objects.select_related("owner_team").in_bulk(shown)
    return [replace(group, shown=[rows[o.pk] for o in group.shown]) for group in groups]
