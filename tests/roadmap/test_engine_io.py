"""load_plan: the engine's plan from the database (what goes in, aggregated right, in a fixed
number of queries), and evaluate: the OKR and roadmap reports from it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from milepost.engine.model import DependencyInput, DependencyType, InitiativeInput, Plan
from milepost.engine.results import OkrReport
from milepost.engine.roadmap import RoadmapReport
from milepost.okrs.models import CheckIn, Cycle, KeyResult
from milepost.organizations.models import Organization, Team
from milepost.roadmap.engine_io import evaluate, load_plan
from milepost.roadmap.models import Initiative, InitiativeKeyResult
from tests import factories


def _initiative(plan: Plan, key: str) -> InitiativeInput:
    [found] = [i for i in plan.initiatives if i.key == key]
    return found


def _keys(plan: Plan) -> set[str]:
    return {i.key for i in plan.initiatives}


def _link(initiative: Initiative, key_result: KeyResult, weight: str = "1") -> None:
    InitiativeKeyResult.objects.create(
        organization_id=initiative.organization_id,
        initiative=initiative,
        key_result=key_result,
        weight=Decimal(weight),
    )


def _populate(
    org: Organization, team: Team, cycle: Cycle, key_result: KeyResult, first: int, n: int
) -> None:
    """`n` initiatives, each with tasks, time, a link, a milestone and a dependency (and a
    check-in on the key result)."""
    person = factories.make_member(org)
    previous: Initiative | None = None
    for i in range(first, first + n):
        CheckIn.objects.create(
            organization_id=org.pk,
            key_result=key_result,
            value=Decimal(i),
            recorded_at=timezone.now(),
            effective_date=date(2026, 10, 1 + i),
        )
        initiative = factories.make_initiative(
            org,
            f"bulk-{i}",
            team=team,
            cycle=cycle,
            owner=person,
            start_date=date(2026, 10, 1),
            end_date=date(2026, 11, 30),
            effort_days=Decimal(5),
        )
        for status in ("todo", "done", "cancelled"):
            task = factories.make_task(initiative, status=status)
            factories.make_time_entry(task, person, Decimal(1), cost=Decimal(10))
        _link(initiative, key_result)
        milestone = factories.make_milestone(org, f"bulk-ms-{i}", initiative=initiative)
        factories.make_dependency(initiative, milestone)
        if previous is not None:
            factories.make_dependency(previous, initiative)
        previous = initiative


@pytest.mark.parametrize("by_cycle", [False, True])
def test_load_plan_takes_a_fixed_number_of_queries(
    org: Organization,
    team: Team,
    cycle: Cycle,
    key_result: KeyResult,
    django_assert_num_queries: Any,
    by_cycle: bool,
) -> None:
    selected = cycle if by_cycle else None
    _populate(org, team, cycle, key_result, 0, 1)
    with CaptureQueriesContext(connection) as one:
        small = load_plan(org, cycle=selected)
    assert len(small.initiatives) == 1

    objective = factories.make_objective(cycle, "more")
    for k in range(3):
        _populate(org, team, cycle, factories.make_key_result(objective), 1 + 6 * k, 6)
    _populate(org, team, cycle, key_result, 19, 1)
    with django_assert_num_queries(len(one.captured_queries)):
        large = load_plan(org, cycle=selected)
    assert len(large.initiatives) == 20
    assert len(large.milestones) == 20
    # Each initiative → its milestone; within each batch, each initiative → the next.
    assert len(large.dependencies) == 20 + (0 + 5 + 5 + 5 + 0)
    assert len(large.key_results) == 4


def test_load_plan_aggregates_tasks_hours_and_cost(
    org: Organization, team: Team, cycle: Cycle, key_result: KeyResult
) -> None:
    person = factories.make_member(org, email="dev@acme.test")
    initiative = factories.make_initiative(
        org,
        "checkout",
        title="Checkout",
        team=team,
        owner=person,
        cycle=cycle,
        status="in_progress",
        start_date=date(2026, 10, 5),
        end_date=date(2026, 11, 27),
        effort_days=Decimal(30),
        budget=Decimal(5000),
        planned_hours=Decimal(200),
        actual_cost=Decimal(1000),  # spend that is not time: licences
    )
    todo = factories.make_task(initiative, status="todo")
    done = factories.make_task(initiative, status="done")
    factories.make_task(initiative, status="done")
    factories.make_task(initiative, status="cancelled")  # not work left, not work done
    factories.make_task(initiative, status="done", archived_at=timezone.now())
    factories.make_time_entry(todo, person, Decimal("2.5"), cost=Decimal(100))
    factories.make_time_entry(done, person, Decimal(3), cost=Decimal(50))
    factories.make_time_entry(
        done, person, Decimal(8), cost=Decimal(999), archived_at=timezone.now()
    )
    _link(initiative, key_result, "0.5")
    gone = factories.make_key_result(key_result.objective, "gone", archived_at=timezone.now())
    _link(initiative, gone)
    # Another initiative's rows do not leak in.
    other = factories.make_initiative(org, "other")
    factories.make_time_entry(factories.make_task(other), person, Decimal(7), cost=Decimal(70))

    plan = load_plan(org)

    loaded = _initiative(plan, "checkout")
    assert loaded.title == "Checkout"
    assert loaded.team_key == "web"
    assert loaded.owner == "dev@acme.test"
    assert loaded.status == "in_progress"
    assert (loaded.start, loaded.end) == (date(2026, 10, 5), date(2026, 11, 27))
    assert (loaded.effort_days, loaded.budget, loaded.planned_hours) == (
        Decimal(30),
        Decimal(5000),
        Decimal(200),
    )
    assert (loaded.tasks_total, loaded.tasks_done) == (3, 2)
    assert loaded.logged_hours == Decimal("5.5")
    assert loaded.actual_cost == Decimal(1150)
    assert [(link.key_result, link.weight) for link in loaded.key_results] == [
        ("grow/visits", Decimal("0.5"))
    ]
    empty = _initiative(plan, "other")
    assert (empty.tasks_total, empty.tasks_done, empty.logged_hours) == (1, 0, Decimal(7))
    assert empty.actual_cost == 70
    # The OKR part comes along.
    assert {kr.key for kr in plan.key_results} == {"grow/visits"}
    assert [t.key for t in plan.teams] == ["web"]


def test_load_plan_leaves_out_archived_rows_and_other_organizations(
    org: Organization, other_org: Organization, team: Team
) -> None:
    kept = factories.make_initiative(org, "kept")
    archived = factories.make_initiative(org, "archived", archived_at=timezone.now())
    theirs = factories.make_initiative(other_org, "theirs")
    beta = factories.make_milestone(org, "beta", initiative=kept)
    factories.make_milestone(org, "of-archived", initiative=archived)
    factories.make_milestone(org, "archived-ms", archived_at=timezone.now())
    loose = factories.make_milestone(org, "loose")
    factories.make_dependency(kept, beta, type="FF", lag_days=2)
    factories.make_dependency(beta, loose)
    factories.make_dependency(kept, loose, archived_at=timezone.now())
    factories.make_dependency(archived, kept)
    factories.make_dependency(theirs, factories.make_initiative(other_org, "theirs-2"))
    factories.make_team(org, "old", archived_at=timezone.now())
    Initiative.objects.filter(pk=kept.pk).update(team=factories.make_team(org, "gone"))
    Team.objects.filter(key="gone").update(archived_at=timezone.now())

    plan = load_plan(org)

    assert _keys(plan) == {"kept"}
    assert _initiative(plan, "kept").team_key is None  # its team is archived
    assert {(m.key, m.initiative_key) for m in plan.milestones} == {
        ("beta", "kept"),
        ("loose", None),
    }
    assert set(plan.dependencies) == {
        DependencyInput("kept", "beta", DependencyType.FF, 2),
        DependencyInput("beta", "loose", DependencyType.FS, 0),
    }
    assert [t.key for t in plan.teams] == ["web"]


def test_load_plan_for_a_cycle(org: Organization, cycle: Cycle, key_result: KeyResult) -> None:
    # cycle: 2026-10-01 .. 2026-12-31
    other_cycle = factories.make_cycle(
        org, "q3", start_date=date(2026, 7, 1), end_date=date(2026, 9, 30), state="closed"
    )
    old_kr = factories.make_key_result(factories.make_objective(other_cycle, "old"), "kr")
    factories.make_initiative(org, "in-cycle", cycle=cycle)
    factories.make_initiative(
        org, "overlaps", start_date=date(2026, 9, 15), end_date=date(2026, 10, 15)
    )
    factories.make_initiative(org, "starts-inside", start_date=date(2026, 12, 1))
    factories.make_initiative(org, "ends-inside", end_date=date(2026, 10, 1))
    factories.make_initiative(
        org, "before", start_date=date(2026, 8, 1), end_date=date(2026, 9, 30)
    )
    factories.make_initiative(org, "ends-before", end_date=date(2026, 9, 30))
    factories.make_initiative(org, "undated")
    factories.make_initiative(
        org,
        "other-cycle",
        cycle=other_cycle,
        start_date=date(2026, 9, 1),
        end_date=date(2026, 10, 30),
    )
    linked = factories.make_initiative(org, "linked-here", cycle=other_cycle)
    _link(linked, key_result)
    _link(linked, old_kr)  # a key result outside the plan: its link is left out
    factories.make_milestone(org, "ms-in", date=date(2026, 11, 1))
    factories.make_milestone(org, "ms-out", date=date(2026, 8, 1))

    plan = load_plan(org, cycle=cycle)

    assert _keys(plan) == {"in-cycle", "overlaps", "starts-inside", "ends-inside", "linked-here"}
    assert [link.key_result for link in _initiative(plan, "linked-here").key_results] == [
        "grow/visits"
    ]
    assert {m.key for m in plan.milestones} == {"ms-in"}
    assert [c.key for c in plan.cycles] == ["q4"]
    assert _keys(load_plan(org)) >= {"before", "ends-before", "undated", "other-cycle"}


def test_a_cycle_without_objectives_still_bounds_its_plan(org: Organization) -> None:
    empty = factories.make_cycle(org, "q1", start_date=date(2027, 1, 1), end_date=date(2027, 3, 31))
    factories.make_initiative(org, "next", cycle=empty)
    plan = load_plan(org, cycle=empty)
    assert [c.key for c in plan.cycles] == ["q1"]
    assert _keys(plan) == {"next"}


def test_evaluate_returns_the_okr_and_roadmap_reports(
    org: Organization, team: Team, cycle: Cycle, key_result: KeyResult
) -> None:
    aligned = factories.make_initiative(
        org,
        "aligned",
        team=team,
        cycle=cycle,
        start_date=date(2026, 10, 1),
        end_date=date(2026, 10, 31),
        effort_days=Decimal(5),
    )
    _link(aligned, key_result)
    unaligned = factories.make_initiative(
        org,
        "unaligned",
        team=team,
        cycle=cycle,
        start_date=date(2026, 11, 1),
        end_date=date(2026, 11, 30),
        effort_days=Decimal(5),
    )
    factories.make_dependency(aligned, unaligned)

    okr, roadmap = evaluate(org, cycle=cycle, as_of=date(2026, 11, 15))

    assert isinstance(okr, OkrReport)
    assert isinstance(roadmap, RoadmapReport)
    assert okr.as_of == date(2026, 11, 15)
    assert "grow/visits" in okr.key_results
    assert roadmap.schedule is not None
    assert set(roadmap.schedule.items) == {"aligned", "unaligned"}
    codes = {(f.code, f.objects) for f in roadmap.findings}
    assert any(
        code == "initiative-unaligned" and "initiative:unaligned" in objs for code, objs in codes
    )
    assert [p.key for p in roadmap.priorities] == ["aligned", "unaligned"]


def test_evaluate_reports_a_dependency_loop_instead_of_failing(org: Organization) -> None:
    a = factories.make_initiative(
        org, "a", start_date=date(2026, 10, 1), end_date=date(2026, 10, 9)
    )
    b = factories.make_initiative(
        org, "b", start_date=date(2026, 10, 1), end_date=date(2026, 10, 9)
    )
    factories.make_dependency(a, b)
    factories.make_dependency(b, a)  # written around the service, which would refuse it

    _, roadmap = evaluate(org, as_of=date(2026, 10, 5))

    assert roadmap.schedule is None
    assert roadmap.schedule_error is not None
    assert any(f.code == "dependency-cycle" for f in roadmap.findings)
