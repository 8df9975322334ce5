"""Database rows → the engine's whole plan (OKRs and roadmap), and its evaluation.

`load_plan` builds the `milepost.engine.model.Plan` the roadmap engine reads in three queries
whatever the size of the organization (four when objectives of other cycles align below the
cycle's): the OKR loader `milepost.okrs.plan_rows.load_okrs` reads one row of the organization
carrying every side table as JSON, and this module adds the roadmap's to that row (the
initiatives, their links to key results, the milestones and the dependencies); the key results
come with their check-ins; one more query groups the tasks and the time entries by initiative
(counts, hours, cost). Rows are read as tuples, never as model instances.

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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, IntegerField, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast

from milepost.dbjson import date_of, decimal_of, decode_rows, json_rows
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
from milepost.okrs.engine_io import checkin_history, live_key_results, organization_today
from milepost.okrs.models import Cycle
from milepost.okrs.plan_rows import load_okrs, places
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


def _work_totals(
    initiatives: QuerySet[Initiative],
) -> dict[int, tuple[int, int, Decimal, Decimal]]:
    """Per initiative: tasks not cancelled, tasks done, logged hours and time cost. One query:
    the tasks and the time entries are each grouped by initiative in the database (a scan
    and a hash, far cheaper than a subquery per initiative once the plan holds thousands)
    and the two groupings come back together (UNION ALL); rows of the time entries are
    marked by a NULL task count."""
    in_plan = initiatives.values("pk")
    number = DecimalField(max_digits=20, decimal_places=2)
    tasks = (
        Task.objects.filter(initiative__in=in_plan, archived_at__isnull=True)
        .exclude(status=TaskStatus.CANCELLED)
        .values("initiative_id")
        .order_by()
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status=TaskStatus.DONE)),
            hours=Cast(Value(None), number),
            cost=Cast(Value(None), number),
        )
        .values_list("initiative_id", "total", "done", "hours", "cost")
    )
    time = (
        TimeEntry.objects.filter(initiative__in=in_plan, archived_at__isnull=True)
        .values("initiative_id")
        .order_by()
        .annotate(
            total=Cast(Value(None), IntegerField()),
            done=Cast(Value(None), IntegerField()),
            hours=Sum("hours"),
            cost=Sum("cost"),
        )
        .values_list("initiative_id", "total", "done", "hours", "cost")
    )
    hour_places = places(TimeEntry, "hours")
    cost_places = places(TimeEntry, "cost")
    totals: dict[int, tuple[int, int, Decimal, Decimal]] = {}
    for initiative_id, total, done, hours, cost in tasks.union(time, all=True).order_by():
        was = totals.get(initiative_id, (0, 0, Decimal(0), Decimal(0)))
        if total is not None:
            totals[initiative_id] = (total, done, was[2], was[3])
        else:
            totals[initiative_id] = (
                was[0],
                was[1],
                decimal_of(hours or 0, hour_places),
                decimal_of(cost or 0, cost_places),
            )
    return totals


def _side_tables(
    organization: Organization, initiatives: QuerySet[Initiative], milestones: QuerySet[Milestone]
) -> dict[str, Subquery]:
    """The roadmap's rows as JSON side tables of the plan's first query (`okrs.plan_rows`)."""
    in_plan_ids = initiatives.values("pk")
    milestone_ids = milestones.values("pk")
    return {
        "initiatives": json_rows(
            initiatives,
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
        ),
        "initiative_links": json_rows(
            InitiativeKeyResult.objects.filter(
                initiative__in=in_plan_ids, archived_at__isnull=True
            ),
            "initiative_id",
            "key_result__objective__key",
            "key_result__key",
            "weight",
        ),
        "milestones": json_rows(
            milestones, "pk", "key", "name", "date", "initiative__key", "done_on"
        ),
        "dependencies": json_rows(
            Dependency.objects.filter(organization_id=organization.pk, archived_at__isnull=True)
            .filter(
                Q(predecessor_initiative__in=in_plan_ids)
                | Q(predecessor_milestone__in=milestone_ids)
            )
            .filter(
                Q(successor_initiative__in=in_plan_ids) | Q(successor_milestone__in=milestone_ids)
            ),
            "pk",
            "predecessor_initiative__key",
            "predecessor_milestone__key",
            "successor_initiative__key",
            "successor_milestone__key",
            "type",
            "lag_days",
        ),
    }


def _optional(value: Any, decimal_places: int) -> Decimal | None:
    return None if value is None else decimal_of(value, decimal_places)


def _initiative_inputs(
    rows: list[list[Any]],
    link_rows: list[list[Any]],
    work: dict[int, tuple[int, int, Decimal, Decimal]],
    known_key_results: set[str],
) -> tuple[tuple[InitiativeInput, ...], dict[str, int]]:
    links: dict[int, list[InitiativeKeyResultLink]] = defaultdict(list)
    link_places = places(InitiativeKeyResult, "weight")
    for initiative_id, objective_key, kr_key, weight in sorted(
        link_rows, key=lambda r: (r[0], r[1], r[2])
    ):
        path = f"{objective_key}/{kr_key}"
        if path in known_key_results:
            links[initiative_id].append(
                InitiativeKeyResultLink(path, decimal_of(weight, link_places))
            )
    money = places(Initiative, "actual_cost")
    days = places(Initiative, "effort_days")
    hours = places(Initiative, "planned_hours")
    inputs = []
    ids = {}
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
    ) in sorted(rows, key=lambda r: (r[1], r[0])):
        ids[key] = pk
        total, done, logged_hours, time_cost = work.get(pk, (0, 0, Decimal(0), Decimal(0)))
        inputs.append(
            InitiativeInput(
                key=key,
                title=title,
                team_key=team_key if team_archived_at is None else None,
                status=InitiativeStatus(status),
                start=date_of(start) if start else None,
                end=date_of(end) if end else None,
                effort_days=decimal_of(effort, days),
                budget=_optional(budget, money),
                actual_cost=decimal_of(own_cost, money) + time_cost,
                planned_hours=_optional(planned_hours, hours),
                logged_hours=logged_hours,
                tasks_total=total,
                tasks_done=done,
                key_results=tuple(links.get(pk, ())),
                owner=owner_email,
            )
        )
    return tuple(inputs), ids


def _end(initiative_key: str | None, milestone_key: str | None) -> str:
    return initiative_key if initiative_key is not None else milestone_key or ""


def _dependency_inputs(rows: list[list[Any]]) -> tuple[DependencyInput, ...]:
    return tuple(
        DependencyInput(
            predecessor=_end(p_ini, p_ms),
            successor=_end(s_ini, s_ms),
            type=DependencyType(kind),
            lag_days=lag,
        )
        for _, p_ini, p_ms, s_ini, s_ms, kind, lag in sorted(rows, key=lambda r: r[0])
    )


@dataclass(frozen=True)
class LoadedPlan:
    """The engine's plan and the ids of the rows its keys name."""

    plan: Plan
    objective_ids: dict[str, int]
    key_result_ids: dict[str, int]  # "<objective key>/<kr key>" -> id
    initiative_ids: dict[str, int]
    milestone_ids: dict[str, int]


def load_plan_with_ids(organization: Organization, *, cycle: Cycle | None = None) -> LoadedPlan:
    """`load_plan`, with the id of every objective, key result, initiative and milestone in
    the plan by its engine key. Three queries (four when objectives of other cycles align
    below the cycle's): one row of the organization with every side table as JSON, the key
    results with their check-ins (`milepost.okrs.plan_rows`), the work totals."""
    initiatives = plan_initiatives(organization, cycle)
    milestones = plan_milestones(organization, initiatives, cycle)
    loaded = load_okrs(
        organization,
        cycle,
        side=_side_tables(organization, initiatives, milestones),
        history=checkin_history,
    )
    okr_plan = loaded.plan
    side = loaded.side
    known_key_results = {kr.key for kr in okr_plan.key_results}
    initiative_inputs, initiative_ids = _initiative_inputs(
        decode_rows(side["initiatives"]),
        decode_rows(side["initiative_links"]),
        _work_totals(initiatives),
        known_key_results,
    )
    milestone_rows = sorted(decode_rows(side["milestones"]), key=lambda r: (r[3], r[1]))
    milestone_inputs = tuple(
        MilestoneInput(
            key=key,
            name=name,
            on=date_of(on),
            initiative_key=initiative_key,
            done_on=date_of(done_on) if done_on else None,
        )
        for _, key, name, on, initiative_key, done_on in milestone_rows
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
    plan = dataclasses.replace(
        okr_plan,
        initiatives=initiative_inputs,
        milestones=milestone_inputs,
        dependencies=_dependency_inputs(decode_rows(side["dependencies"])),
        **extra,
    )
    return LoadedPlan(
        plan=plan,
        objective_ids=loaded.objective_ids,
        key_result_ids=loaded.key_result_ids,
        initiative_ids=initiative_ids,
        milestone_ids={row[1]: row[0] for row in milestone_rows},
    )


def load_plan(organization: Organization, *, cycle: Cycle | None = None) -> Plan:
    """The organization's whole plan for the engine (or one cycle's; see the module
    docstring): teams, cycles, objectives, key results with check-ins, initiatives with task
    counts, hours and cost, milestones and dependencies. Three queries (four when objectives
    of other cycles align below the cycle's)."""
    return load_plan_with_ids(organization, cycle=cycle).plan


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
