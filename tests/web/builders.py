"""A plan of any size for the web tests: objectives aligned company → teams, key results with
weekly check-ins, initiatives linked to them with milestones, a dependency chain, tasks and
time. Rows are written directly (fast); stored progress comes from the engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from milepost.accounts.models import User
from milepost.audit.services import record_event
from milepost.okrs.engine_io import organization_today, recompute_organization
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import system_actor
from milepost.organizations.models import Organization, Team
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TimeEntry
from tests import factories


@dataclass
class Plan:
    org: Organization
    cycle: Cycle
    team: Team
    objectives: list[Objective] = field(default_factory=list)
    key_results: list[KeyResult] = field(default_factory=list)
    initiatives: list[Initiative] = field(default_factory=list)

    @property
    def objective(self) -> Objective:
        return self.objectives[1]

    @property
    def key_result(self) -> KeyResult:
        return self.key_results[3]

    @property
    def initiative(self) -> Initiative:
        return self.initiatives[0]


def build_plan(org: Organization, owner: User, size: int = 2, *, title: str = "") -> Plan:
    """`size` team objectives under one company objective, 3 key results each, one initiative
    per key result (the first ones chained by dependencies), each with a milestone, tasks and
    time. `owner` owns the team's objectives, key results and initiatives."""
    today = organization_today(org)
    cycle = factories.make_cycle(
        org,
        "q",
        name="This quarter",
        start_date=today - dt.timedelta(days=49),
        end_date=today + dt.timedelta(days=42),
        state="active",
    )
    team = factories.make_team(org, "core", name="Core", capacity_days_per_week=Decimal(50))
    factories.add_to_team(team, owner)
    plan = Plan(org=org, cycle=cycle, team=team)
    company = factories.make_objective(cycle, "company", title=title or "Grow the company")
    plan.objectives.append(company)
    company_kr = factories.make_key_result(company, "arr", title="Grow ARR", owner=owner)
    plan.key_results.append(company_kr)
    checkins: list[CheckIn] = []
    for n in range(size):
        objective = factories.make_objective(
            cycle,
            f"team-{n}",
            title=title or f"Team objective {n}",
            owner_team=team,
            owner_user=owner,
        )
        plan.objectives.append(objective)
        Alignment.objects.create(organization=org, child=objective, parent_objective=company)
        if n == 0:
            Alignment.objects.create(
                organization=org,
                child=objective,
                parent_key_result=company_kr,
                weight=Decimal("0.5"),
            )
        for k in range(3):
            kr = factories.make_key_result(
                objective,
                f"kr-{k}",
                title=title or f"Key result {n}.{k}",
                owner=owner,
                start_value=Decimal(0),
                target_value=Decimal(100),
                unit="points",
            )
            plan.key_results.append(kr)
            for week in range(5):
                day = cycle.start_date + dt.timedelta(days=7 * week + 3)
                checkins.append(
                    CheckIn(
                        organization=org,
                        key_result=kr,
                        value=Decimal(8 * week + k * 3),
                        confidence=5 + k,
                        note=title or f"Week {week}",
                        author=owner,
                        recorded_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
                        effective_date=day,
                    )
                )
    CheckIn.objects.bulk_create(checkins)
    previous: Initiative | None = None
    for m, kr in enumerate(plan.key_results[1:]):
        start = cycle.start_date + dt.timedelta(days=7 * (m % 6))
        initiative = factories.make_initiative(
            org,
            f"ini-{m}",
            title=title or f"Initiative {m}",
            team=team,
            owner=owner,
            cycle=cycle,
            status="in_progress",
            start_date=start,
            end_date=start + dt.timedelta(days=27),
            effort_days=Decimal(10),
            budget=Decimal(1000),
            planned_hours=Decimal(40),
            hypothesis=title or "It should move the key result.",
        )
        plan.initiatives.append(initiative)
        InitiativeKeyResult.objects.create(
            organization=org, initiative=initiative, key_result=kr, weight=Decimal(1)
        )
        Milestone.objects.create(
            organization=org,
            key=f"ms-{m}",
            name=title or f"Milestone {m}",
            date=start + dt.timedelta(days=27),
            initiative=initiative,
        )
        task = Task.objects.create(
            organization=org, initiative=initiative, title=title or f"Task {m}", assignee=owner
        )
        Task.objects.create(
            organization=org, initiative=initiative, title="Done task", status="done"
        )
        TimeEntry.objects.create(
            organization=org,
            task=task,
            initiative=initiative,
            user=owner,
            date=today - dt.timedelta(days=1),
            hours=Decimal(3),
            cost=Decimal(150),
            note=title,
        )
        if previous is not None and m < 4:
            Dependency.objects.create(
                organization=org, predecessor_initiative=previous, successor_initiative=initiative
            )
        previous = initiative
    # Work aligned to nothing.
    plan.initiatives.append(
        factories.make_initiative(
            org,
            "unaligned",
            title=title or "Unaligned work",
            team=team,
            cycle=cycle,
            start_date=cycle.start_date,
            end_date=cycle.end_date,
            effort_days=Decimal(5),
        )
    )
    recompute_organization(org)
    record_event(actor=system_actor(org), action="test.build", target=org)
    for row in [*plan.objectives, *plan.key_results]:
        row.refresh_from_db()
    return plan
