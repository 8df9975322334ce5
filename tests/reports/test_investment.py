"""The investment read model equals the engine's investment over the whole loaded plan, for a
cycle and for the whole organization, with the cases that change what counts (objectives of
other cycles aligned below, link weights, archived rows, work of other cycles), in a fixed
number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from milepost.engine.capacity import investment
from milepost.okrs.models import Alignment
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.reports.investment import investment_report
from milepost.roadmap.engine_io import load_plan
from milepost.roadmap.models import InitiativeKeyResult
from milepost.work.models import TimeEntry
from tests import factories
from tests.web.builders import Plan, build_plan

pytestmark = pytest.mark.django_db

D = Decimal


def _story(org: Organization, admin: Actor) -> Plan:
    assert admin.user is not None
    plan = build_plan(org, admin.user, size=3)
    cycle = plan.cycle
    # An objective of another cycle aligned below one of the cycle's key results, whose key
    # result gets work of this cycle: it belongs to the cycle's plan.
    year = factories.make_cycle(
        org,
        "next",
        start_date=cycle.end_date + dt.timedelta(days=1),
        end_date=cycle.end_date + dt.timedelta(days=90),
    )
    below = factories.make_objective(year, "below")
    below_kr = factories.make_key_result(below, "kr")
    Alignment.objects.create(
        organization=org, child=below, parent_key_result=plan.key_results[0], weight=D(1)
    )
    # Weights 3 and 1 split an initiative's numbers 75 / 25.
    split = factories.make_initiative(
        org, "split", cycle=cycle, team=plan.team, effort_days=D(8), budget=D(900)
    )
    InitiativeKeyResult.objects.create(
        organization=org, initiative=split, key_result=plan.key_results[1], weight=D(3)
    )
    InitiativeKeyResult.objects.create(
        organization=org, initiative=split, key_result=below_kr, weight=D(1)
    )
    task = factories.make_task(split)
    factories.make_time_entry(task, admin.user, hours=D("2.5"), cost=D("125.40"))
    archived_entry = factories.make_time_entry(task, admin.user, hours=D(7), cost=D(700))
    TimeEntry.objects.filter(pk=archived_entry.pk).update(archived_at=timezone.now())
    # A link to an archived key result does not count; an archived team is no team.
    gone = factories.make_key_result(plan.objectives[1], "gone")
    InitiativeKeyResult.objects.create(
        organization=org, initiative=plan.initiatives[0], key_result=gone, weight=D(2)
    )
    gone.archived_at = timezone.now()
    gone.save()
    old_team = factories.make_team(org, "old")
    lost = factories.make_initiative(org, "lost", cycle=cycle, team=old_team, budget=D(50))
    factories.make_time_entry(factories.make_task(lost), admin.user, hours=D(1), cost=D(10))
    old_team.archived_at = timezone.now()
    old_team.save()
    # Work of the other cycle is not this cycle's.
    elsewhere = factories.make_initiative(org, "elsewhere", cycle=year, effort_days=D(3))
    factories.make_time_entry(factories.make_task(elsewhere), admin.user, hours=D(4))
    return plan


def test_investment_report_equals_the_engine_over_the_whole_plan(
    org: Organization, admin: Actor
) -> None:
    plan = _story(org, admin)
    cycle = plan.cycle
    for scope in (cycle, None):
        expected = investment(load_plan(org, cycle=scope))
        got = investment_report(org, cycle=scope)
        assert got == expected
    report = investment_report(org, cycle=cycle)
    assert report.key_results["below/kr"].logged_hours == D("0.63")  # 2.5 x 1/4, rounded
    assert report.initiatives["split"].logged_hours == D("2.5")  # the archived entry is out
    assert report.initiatives["lost"].actual_cost == D(10)
    assert "old" not in report.teams
    assert "elsewhere" not in report.initiatives


def test_investment_report_takes_a_fixed_number_of_queries(org: Organization, admin: Actor) -> None:
    plan = _story(org, admin)
    cycle = plan.cycle
    with CaptureQueriesContext(connection) as ctx:
        investment_report(org, cycle=cycle)
    assert len(ctx.captured_queries) <= 7, [q["sql"] for q in ctx.captured_queries]
