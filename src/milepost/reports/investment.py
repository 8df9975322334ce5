"""The investment report: where effort, hours and money go, per initiative, key result,
objective and team (`milepost.engine.capacity.investment`), without loading the whole plan.

`investment_report(organization, cycle=...)` is exactly
``investment(roadmap.engine_io.load_plan(organization, cycle=cycle))`` (a test proves it), but
it reads only what that computation uses: the keys of the plan's teams, objectives and key
results, and its initiatives with their links and numbers. The time entries — the big table
(2,000,000 rows in the XL tenant) — are summed per initiative by the database (one
``GROUP BY``); no check-in, milestone or dependency is read, and no row becomes a model
instance. Six queries whatever the size of the organization (issue 9, W5).

The plan's scope is `load_plan`'s: with a ``cycle``, the cycle's live objectives and the live
objectives of other cycles aligned below them at any depth, their live key results, and
`roadmap.engine_io.plan_initiatives`; archived rows are left out (see that module).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from milepost.engine.capacity import Investment, investment
from milepost.engine.model import (
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    ObjectiveInput,
    Plan,
    TeamInput,
)
from milepost.okrs.engine_io import live_key_results, live_objectives
from milepost.okrs.models import Alignment, Cycle
from milepost.okrs.querysets import live_parent_q
from milepost.organizations.models import Organization, Team
from milepost.roadmap.engine_io import plan_initiatives
from milepost.roadmap.models import InitiativeKeyResult
from milepost.work.models import TimeEntry

_ZERO = Decimal(0)


def _aligned_below(organization_id: int, cycle: Cycle) -> set[int]:
    """Live objectives of other cycles aligned, at any depth, below the cycle's objectives
    (through live links to an objective or to one of its key results)."""
    edges = (
        Alignment.objects.filter(
            organization_id=organization_id,
            archived_at__isnull=True,
            child__archived_at__isnull=True,
            child__cycle__archived_at__isnull=True,
        )
        .exclude(child__cycle=cycle)
        .filter(live_parent_q())
        .order_by()
        .values_list(
            "child_id",
            Coalesce("parent_objective_id", "parent_key_result__objective_id"),
            Coalesce("parent_objective__cycle_id", "parent_key_result__objective__cycle_id"),
        )
    )
    children: dict[int, set[int]] = defaultdict(set)
    found: set[int] = set()
    for child, parent, parent_cycle in edges:
        children[parent].add(child)
        if parent_cycle == cycle.pk:
            found.add(child)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def investment_plan(organization: Organization, *, cycle: Cycle | None = None) -> Plan:
    """The part of ``load_plan(organization, cycle=cycle)`` that
    `milepost.engine.capacity.investment` reads: team, objective and key-result keys, and the
    initiatives with their links, effort, budget, planned hours, logged hours and cost (time
    entries summed in the database). Other fields are left at their defaults."""
    org_id = organization.pk
    in_scope = Q()
    if cycle is not None:
        in_scope = Q(cycle=cycle)
        below = _aligned_below(org_id, cycle)
        if below:
            in_scope |= Q(pk__in=sorted(below))
    objective_keys = list(
        live_objectives(org_id).filter(in_scope).order_by("key").values_list("key", flat=True)
    )
    kr_rows = list(
        live_key_results(org_id)
        .filter(objective__in=live_objectives(org_id).filter(in_scope).values("pk"))
        .order_by("objective__key", "key")
        .values_list("objective__key", "key")
    )
    known = {f"{objective_key}/{key}" for objective_key, key in kr_rows}
    team_keys = list(
        Team.objects.filter(organization_id=org_id, archived_at__isnull=True)
        .order_by("key")
        .values_list("key", flat=True)
    )

    initiatives = plan_initiatives(organization, cycle)
    ids = initiatives.values("pk")
    time = {
        pk: (hours or _ZERO, cost or _ZERO)
        for pk, hours, cost in TimeEntry.objects.filter(
            initiative__in=ids, archived_at__isnull=True
        )
        .order_by()
        .values("initiative_id")
        .annotate(hours=Sum("hours"), cost=Sum("cost"))
        .values_list("initiative_id", "hours", "cost")
    }
    links: dict[int, list[InitiativeKeyResultLink]] = defaultdict(list)
    for initiative_id, objective_key, kr_key, weight in (
        InitiativeKeyResult.objects.filter(initiative__in=ids, archived_at__isnull=True)
        .order_by("initiative_id", "key_result__objective__key", "key_result__key")
        .values_list("initiative_id", "key_result__objective__key", "key_result__key", "weight")
    ):
        path = f"{objective_key}/{kr_key}"
        if path in known:
            links[initiative_id].append(InitiativeKeyResultLink(path, weight))
    initiative_inputs = []
    for (
        pk,
        key,
        team_key,
        team_archived_at,
        status,
        effort,
        budget,
        own_cost,
        planned_hours,
    ) in initiatives.order_by("key").values_list(
        "pk",
        "key",
        "team__key",
        "team__archived_at",
        "status",
        "effort_days",
        "budget",
        "actual_cost",
        "planned_hours",
    ):
        hours, time_cost = time.get(pk, (_ZERO, _ZERO))
        initiative_inputs.append(
            InitiativeInput(
                key=key,
                title="",
                team_key=team_key if team_archived_at is None else None,
                status=InitiativeStatus(status),
                start=None,
                end=None,
                effort_days=effort,
                budget=budget,
                actual_cost=own_cost + time_cost,
                planned_hours=planned_hours,
                logged_hours=hours,
                key_results=tuple(links.get(pk, ())),
            )
        )
    return Plan(
        organization_name=organization.name,
        teams=tuple(TeamInput(key, "") for key in team_keys),
        objectives=tuple(ObjectiveInput(key, "", "") for key in objective_keys),
        key_results=tuple(
            KeyResultInput(
                f"{objective_key}/{key}",
                objective_key,
                "",
                KeyResultKind.INCREASE,
                _ZERO,
                Decimal(1),
                date.min,  # the window is never read by `investment`
                date.min,
            )
            for objective_key, key in kr_rows
        ),
        initiatives=tuple(initiative_inputs),
    )


def investment_report(organization: Organization, *, cycle: Cycle | None = None) -> Investment:
    """Planned vs actual effort, hours and cost per initiative, key result, objective and team
    of the organization's plan (or one cycle's): ``investment(load_plan(...))`` without the
    whole plan (see the module docstring)."""
    return investment(investment_plan(organization, cycle=cycle))
