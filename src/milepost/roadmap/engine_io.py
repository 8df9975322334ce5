"""Database rows → the engine's whole plan (OKRs and roadmap), and its evaluation.

`load_plan` builds the `milepost.engine.model.Plan` the roadmap engine reads, in a small fixed
number of queries whatever the size of the organization: the OKR part comes from
`milepost.okrs.engine_io.load_okr_plan`; then one query each for the initiatives, their task
counts, their logged hours and cost (both aggregated in the database per initiative), their
links to key results, the milestones and the dependencies.

What the engine sees:

* Archived rows are left out: initiatives, tasks, time entries, links, milestones and
  dependencies (and milestones of an archived initiative).
* ``tasks_total`` counts an initiative's tasks that are not cancelled; ``tasks_done`` those
  done. ``logged_hours`` sums its time entries; ``actual_cost`` is the initiative's own
  recorded cost (``Initiative.actual_cost``: spend that is not time) plus its time entries'
  cost.
* With a ``cycle``, the initiatives are those of that cycle, those with no cycle whose dates
  overlap it (an initiative with one date: that date decides; with none: left out), and any
  linked to a key result of the cycle. Milestones: those of these initiatives, and those
  without an initiative dated within the cycle or counting toward one of its key results.
  Dependencies: those whose two ends are both in the plan.
* A link to a key result that is not in the plan (archived, or in another cycle) is left
  out; so is the team of an initiative when the team is archived.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from milepost.engine.model import (
    CycleInput,
    CycleState,
    DependencyInput,
    DependencyType,
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    MilestoneInput,
    Plan,
)
from milepost.engine.okr import evaluate_okrs
from milepost.engine.results import OkrReport
from milepost.engine.roadmap import RoadmapReport, evaluate_roadmap
from milepost.okrs.engine_io import live_key_results, load_okr_plan, organization_today
from milepost.okrs.models import Cycle
from milepost.organizations.models import Organization
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TaskStatus, TimeEntry


def plan_initiatives(
    organization: Organization, cycle: Cycle | None = None
) -> QuerySet[Initiative]:
    """The initiatives `load_plan` puts in the plan (see the module docstring)."""
    qs = Initiative.objects.filter(organization_id=organization.pk, archived_at__isnull=True)
    if cycle is None:
        return qs
    undated_cycle = (
        Q(cycle__isnull=True)
        & (Q(start_date__isnull=False) | Q(end_date__isnull=False))
        & (Q(start_date__isnull=True) | Q(start_date__lte=cycle.end_date))
        & (Q(end_date__isnull=True) | Q(end_date__gte=cycle.start_date))
    )
    linked = InitiativeKeyResult.objects.filter(
        organization_id=organization.pk,
        archived_at__isnull=True,
        key_result__in=live_key_results(organization.pk).filter(objective__cycle=cycle),
    ).values("initiative_id")
    return qs.filter(Q(cycle=cycle) | undated_cycle | Q(pk__in=linked))


def plan_milestones(
    organization: Organization, initiatives: QuerySet[Initiative], cycle: Cycle | None = None
) -> QuerySet[Milestone]:
    """The milestones `load_plan` puts in the plan (see the module docstring)."""
    qs = Milestone.objects.filter(organization_id=organization.pk, archived_at__isnull=True)
    standalone = Q(initiative__isnull=True)
    if cycle is not None:
        in_cycle = Q(date__gte=cycle.start_date, date__lte=cycle.end_date)
        counts_toward = Q(
            key_result__in=live_key_results(organization.pk).filter(objective__cycle=cycle)
        )
        standalone &= in_cycle | counts_toward
    return qs.filter(Q(initiative__in=initiatives.values("pk")) | standalone)


def _task_counts(initiatives: QuerySet[Initiative]) -> dict[int, tuple[int, int]]:
    rows = (
        Task.objects.filter(initiative__in=initiatives.values("pk"), archived_at__isnull=True)
        .exclude(status=TaskStatus.CANCELLED)
        .values("initiative_id")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(status=TaskStatus.DONE)))
        .order_by()
    )
    return {row["initiative_id"]: (row["total"], row["done"]) for row in rows}


def _time_totals(initiatives: QuerySet[Initiative]) -> dict[int, tuple[Decimal, Decimal]]:
    rows = (
        TimeEntry.objects.filter(initiative__in=initiatives.values("pk"), archived_at__isnull=True)
        .values("initiative_id")
        .annotate(hours=Sum("hours"), cost=Sum("cost"))
        .order_by()
    )
    return {
        row["initiative_id"]: (row["hours"] or Decimal(0), row["cost"] or Decimal(0))
        for row in rows
    }


def _links(
    initiatives: QuerySet[Initiative], known_key_results: set[str]
) -> dict[int, list[InitiativeKeyResultLink]]:
    rows = (
        InitiativeKeyResult.objects.filter(
            initiative__in=initiatives.values("pk"), archived_at__isnull=True
        )
        .order_by("initiative_id", "key_result__objective__key", "key_result__key")
        .values_list("initiative_id", "key_result__objective__key", "key_result__key", "weight")
    )
    links: dict[int, list[InitiativeKeyResultLink]] = defaultdict(list)
    for initiative_id, objective_key, kr_key, weight in rows:
        path = f"{objective_key}/{kr_key}"
        if path in known_key_results:
            links[initiative_id].append(InitiativeKeyResultLink(path, weight))
    return links


def _initiative_inputs(
    initiatives: QuerySet[Initiative], known_key_results: set[str]
) -> tuple[InitiativeInput, ...]:
    tasks = _task_counts(initiatives)
    time = _time_totals(initiatives)
    links = _links(initiatives, known_key_results)
    rows = initiatives.order_by("key").values_list(
        "pk",
        "key",
        "title",
        "team__key",
        "team__archived_at",
        "status",
        "start_date",
        "end_date",
        "effort_days",
        "budget",
        "actual_cost",
        "planned_hours",
        "owner__email",
    )
    inputs = []
    for (
        pk,
        key,
        title,
        team_key,
        team_archived_at,
        status,
        start,
        end,
        effort,
        budget,
        own_cost,
        planned_hours,
        owner_email,
    ) in rows:
        total, done = tasks.get(pk, (0, 0))
        hours, time_cost = time.get(pk, (Decimal(0), Decimal(0)))
        inputs.append(
            InitiativeInput(
                key=key,
                title=title,
                team_key=team_key if team_archived_at is None else None,
                status=InitiativeStatus(status),
                start=start,
                end=end,
                effort_days=effort,
                budget=budget,
                actual_cost=own_cost + time_cost,
                planned_hours=planned_hours,
                logged_hours=hours,
                tasks_total=total,
                tasks_done=done,
                key_results=tuple(links.get(pk, ())),
                owner=owner_email,
            )
        )
    return tuple(inputs)


def _end(initiative_key: str | None, milestone_key: str | None) -> str:
    return initiative_key if initiative_key is not None else milestone_key or ""


def _dependency_inputs(
    organization: Organization,
    initiatives: QuerySet[Initiative],
    milestones: QuerySet[Milestone],
) -> tuple[DependencyInput, ...]:
    in_plan_ids = initiatives.values("pk")
    milestone_ids = milestones.values("pk")
    rows = (
        Dependency.objects.filter(organization_id=organization.pk, archived_at__isnull=True)
        .filter(
            Q(predecessor_initiative__in=in_plan_ids) | Q(predecessor_milestone__in=milestone_ids)
        )
        .filter(Q(successor_initiative__in=in_plan_ids) | Q(successor_milestone__in=milestone_ids))
        .order_by("pk")
        .values_list(
            "predecessor_initiative__key",
            "predecessor_milestone__key",
            "successor_initiative__key",
            "successor_milestone__key",
            "type",
            "lag_days",
        )
    )
    return tuple(
        DependencyInput(
            predecessor=_end(p_ini, p_ms),
            successor=_end(s_ini, s_ms),
            type=DependencyType(kind),
            lag_days=lag,
        )
        for p_ini, p_ms, s_ini, s_ms, kind, lag in rows
    )


def load_plan(organization: Organization, *, cycle: Cycle | None = None) -> Plan:
    """The organization's whole plan for the engine (or one cycle's; see the module
    docstring): teams, cycles, objectives, key results with check-ins, initiatives with task
    counts, hours and cost, milestones and dependencies. A fixed number of queries."""
    okr_plan = load_okr_plan(organization, cycle=cycle)
    known_key_results = {kr.key for kr in okr_plan.key_results}
    initiatives = plan_initiatives(organization, cycle)
    milestones = plan_milestones(organization, initiatives, cycle)
    milestone_inputs = tuple(
        MilestoneInput(key=key, name=name, on=on, initiative_key=initiative_key, done_on=done_on)
        for key, name, on, initiative_key, done_on in milestones.order_by(
            "date", "key"
        ).values_list("key", "name", "date", "initiative__key", "done_on")
    )
    extra: dict[str, Any] = {}
    if cycle is not None and all(c.key != cycle.key for c in okr_plan.cycles):
        # A cycle with no objectives yet still bounds its roadmap.
        extra["cycles"] = (
            *okr_plan.cycles,
            CycleInput(
                cycle.key, cycle.name, cycle.start_date, cycle.end_date, CycleState(cycle.state)
            ),
        )
    return dataclasses.replace(
        okr_plan,
        initiatives=_initiative_inputs(initiatives, known_key_results),
        milestones=milestone_inputs,
        dependencies=_dependency_inputs(organization, initiatives, milestones),
        **extra,
    )


def evaluate(
    organization: Organization, *, cycle: Cycle | None = None, as_of: dt.date | None = None
) -> tuple[OkrReport, RoadmapReport]:
    """The live engine result for the organization's plan (or one cycle's) as of ``as_of``
    (default: today in the organization's time zone): the OKR report of every objective and
    key result in the plan, and the roadmap report (schedule, findings, priorities)."""
    plan = load_plan(organization, cycle=cycle)
    day = as_of or organization_today(organization)
    okr = evaluate_okrs(plan, day)
    return okr, evaluate_roadmap(plan, day, okr)
