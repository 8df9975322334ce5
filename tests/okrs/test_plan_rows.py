"""The whole-plan loader (`okrs.plan_rows`, `roadmap.engine_io.load_plan_with_ids`): what it
reads from JSON rows is what the row-by-row path (`engine_io.key_result_input` over model
instances) gives, it finds objectives of other cycles aligned below a cycle's, and it takes
three queries (four with such objectives) whatever the size of the plan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from milepost.okrs.engine_io import key_result_input
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.models import Organization, Team
from milepost.roadmap.engine_io import load_plan_with_ids
from tests import factories

pytestmark = pytest.mark.django_db


def _checkin(kr: KeyResult, value: str, day: dt.date, hour: int, **extra: object) -> CheckIn:
    return CheckIn.objects.create(
        organization_id=kr.organization_id,
        key_result=kr,
        value=Decimal(value),
        confidence=extra.pop("confidence", 6),
        recorded_at=dt.datetime.combine(day, dt.time(hour, 30, 15, 250), tzinfo=dt.UTC),
        effective_date=day,
        **extra,
    )


def _align(child: Objective, **parent: object) -> None:
    Alignment.objects.create(
        organization_id=child.organization_id, child=child, weight=Decimal("0.75"), **parent
    )


def test_key_results_read_as_rows_equal_the_row_by_row_inputs(
    org: Organization, cycle: Cycle, team: Team
) -> None:
    owner = factories.make_member(org, email="owner@acme.test")
    objective = factories.make_objective(cycle, "grow", owner_team=team, weight=Decimal("1.5"))
    revenue = factories.make_key_result(
        objective,
        "revenue",
        start_value=Decimal("10.25"),
        target_value=Decimal("1234567.123456"),
        weight=Decimal("2.125"),
        owner=owner,
        due_date=cycle.end_date - dt.timedelta(days=3),
        unit="EUR",
    )
    launches = factories.make_key_result(objective, "launches", kind="milestones")
    day = cycle.start_date + dt.timedelta(days=2)
    first = _checkin(revenue, "20.5", day, 9)
    _checkin(revenue, "30.000001", day, 17, confidence=None)
    _checkin(revenue, "31", day + dt.timedelta(days=7), 8, corrects=first)  # a correction
    _checkin(revenue, "99", day + dt.timedelta(days=8), 8, archived_at=timezone.now())
    for n, done in enumerate((day, None)):
        factories.make_milestone(
            org,
            f"ms-{n}",
            key_result=launches,
            date=day + dt.timedelta(days=10 - n),
            weight=Decimal("0.5"),
            done_on=done,
        )

    loaded = load_plan_with_ids(org, cycle=cycle)

    by_key = {kr.key: kr for kr in loaded.plan.key_results}
    for kr in KeyResult.objects.select_related("objective__cycle", "owner"):
        expected = key_result_input(kr, kr.checkins.all(), kr.milestones.all())
        assert by_key[expected.key] == expected
        assert loaded.key_result_ids[expected.key] == kr.pk
    [objective_input] = loaded.plan.objectives
    assert (objective_input.team_key, objective_input.weight) == (team.key, Decimal("1.5"))
    assert loaded.objective_ids == {"grow": objective.pk}


def test_objectives_of_other_cycles_aligned_below_come_along(
    org: Organization, cycle: Cycle
) -> None:
    year = factories.make_cycle(
        org, "year", start_date=cycle.start_date, end_date=cycle.end_date + dt.timedelta(days=200)
    )
    company = factories.make_objective(year, "company")
    company_kr = factories.make_key_result(company, "arr")
    team_goal = factories.make_objective(cycle, "team-goal")
    factories.make_key_result(team_goal, "shipped")
    squad_goal = factories.make_objective(cycle, "squad-goal")  # below team-goal, same cycle
    _align(team_goal, parent_key_result=company_kr)
    _align(squad_goal, parent_objective=team_goal)
    factories.make_objective(cycle, "unrelated")

    with CaptureQueriesContext(connection) as queries:
        yearly = load_plan_with_ids(org, cycle=year)
    assert len(queries.captured_queries) == 4
    assert {o.key for o in yearly.plan.objectives} == {"company", "team-goal", "squad-goal"}
    assert {kr.key for kr in yearly.plan.key_results} == {"company/arr", "team-goal/shipped"}
    links = {o.key: o.aligns_to for o in yearly.plan.objectives}
    assert [(a.parent_key_result, a.weight) for a in links["team-goal"]] == [
        ("company/arr", Decimal("0.750"))
    ]
    assert {c.key for c in yearly.plan.cycles} == {"year", "q"}

    with CaptureQueriesContext(connection) as queries:
        quarterly = load_plan_with_ids(org, cycle=cycle)
    assert len(queries.captured_queries) == 3
    assert {o.key for o in quarterly.plan.objectives} == {"team-goal", "squad-goal", "unrelated"}


def test_whole_plan_loads_in_three_queries_whatever_its_size(
    org: Organization, cycle: Cycle, team: Team
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            load_plan_with_ids(org, cycle=cycle)
            load_plan_with_ids(org)
        return len(queries.captured_queries)

    small = count()
    for n in range(4):
        objective = factories.make_objective(cycle, f"o-{n}", owner_team=team)
        kr = factories.make_key_result(objective, "kr")
        _checkin(kr, str(n), cycle.start_date, 9)
        initiative = factories.make_initiative(org, f"i-{n}", cycle=cycle, team=team)
        factories.make_milestone(org, f"m-{n}", initiative=initiative)
        factories.make_task(initiative)
    assert small == count() == 6
