"""Plan health (every finding, grouped by severity and code, linked to its objects), the
findings on my things (My week, loaded by htmx), and the priority ranking."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from milepost.organizations.access import Actor
from milepost.reports.queries import hidden_objective_keys, redact_explanation
from milepost.web.context import member_view
from milepost.web.findings import grouped, severity_counts, visible_findings
from milepost.web.htmx import render_page
from milepost.web.selection import choose_cycle
from milepost.web.snapshot import page_snapshot

MY_FINDINGS_SHOWN = 12


@member_view
def plan_health(request: HttpRequest, actor: Actor) -> HttpResponse:
    choice = choose_cycle(request, actor)
    findings = []
    schedule_error = None
    if choice.cycle is not None:
        snap = page_snapshot(request, actor.organization, choice.cycle)
        findings = visible_findings(actor, snap)
        schedule_error = snap.roadmap.schedule_error
    context = {
        "cycle": choice.cycle,
        "cycles": choice.cycles,
        "groups": grouped(findings),
        "counts": severity_counts(f.finding for f in findings),
        "total": len(findings),
        "schedule_error": schedule_error,
    }
    return render_page(request, "web/plan_health.html", context, nav="health")


@member_view
def home_findings(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The findings that involve something the user owns (My week's card)."""
    choice = choose_cycle(request, actor)
    mine: list[object] = []
    total = 0
    if choice.cycle is not None and actor.user is not None:
        snap = page_snapshot(request, actor.organization, choice.cycle)
        email = actor.user.email
        plan = snap.plan
        owned = {f"initiative:{i.key}" for i in plan.initiatives if i.owner == email}
        owned |= {f"kr:{kr.key}" for kr in plan.key_results if kr.owner == email}
        owned |= {f"objective:{o.key}" for o in plan.objectives if o.owner == email}
        found = [f for f in visible_findings(actor, snap) if owned & set(f.finding.objects)]
        total = len(found)
        mine = list(found[:MY_FINDINGS_SHOWN])
    context = {"findings": mine, "total": total, "cycle": choice.cycle}
    return render_page(request, "web/home_findings.html", context)


@member_view
def priorities(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Initiatives ranked by the engine's priority, each with its term-by-term explanation;
    work aligned to nothing at the bottom, marked."""
    choice = choose_cycle(request, actor)
    rows = []
    if choice.cycle is not None:
        snap = page_snapshot(request, actor.organization, choice.cycle)
        hidden = hidden_objective_keys(actor)
        titles = {i.key: i for i in snap.plan.initiatives}
        for result in snap.roadmap.priorities:
            initiative = titles.get(result.key)
            if initiative is None:
                continue
            rows.append(
                {
                    "result": result,
                    "initiative": initiative,
                    "id": snap.initiative_ids.get(result.key),
                    "explanation": redact_explanation(result.explanation, hidden),
                    "closed": initiative.status.value in ("done", "cancelled"),
                }
            )
    context = {"cycle": choice.cycle, "cycles": choice.cycles, "rows": rows}
    return render_page(request, "web/priorities.html", context, nav="priorities")
