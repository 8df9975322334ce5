"""As-of views: at today's date they equal the live views; on a past date they show the
fields, rows, links and check-ins of that day (undoing later audited changes); baseline vs
what happened."""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta
from decimal import Decimal

import pytest

from milepost.engine.model import InitiativeStatus
from milepost.okrs import services
from milepost.okrs.engine_io import recompute_organization
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from milepost.reports.history import (
    alignment_tree_as_of,
    baseline_comparison,
    end_of_day,
    fields_as_of,
    key_result_as_of,
    objective_as_of,
    roadmap_as_of,
)
from milepost.reports.queries import alignment_tree
from milepost.reports.timeline import build_timeline
from milepost.roadmap import services as roadmap_services
from milepost.roadmap.engine_io import load_plan
from milepost.roadmap.models import InitiativeKeyResult
from tests import factories
from tests.okrs.conftest import member_of

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def plan(
    org: Organization,
    admin: Actor,
    cycle: Cycle,
    team: Team,
    other_team: Team,
    today: date,
) -> dict[str, object]:
    """Objectives in a small tree (one private), key results with check-ins, initiatives."""
    company = factories.make_objective(cycle, "company", title="Company")
    grow = factories.make_objective(cycle, "grow", owner_team=team, title="Grow")
    secret = factories.make_objective(
        cycle, "secret", owner_team=other_team, visibility="team", title="Secret"
    )
    revenue = factories.make_key_result(company, "revenue", start_value=D(0), target_value=D(10))
    signups = factories.make_key_result(grow, "signups", start_value=D(100), target_value=D(200))
    hidden = factories.make_key_result(secret, "hidden", start_value=D(0), target_value=D(5))
    Alignment.objects.create(organization=org, child=grow, parent_key_result=revenue)
    Alignment.objects.create(organization=org, child=secret, parent_objective=company)
    for kr, value, days in ((revenue, 4, 20), (signups, 150, 15), (hidden, 2, 10)):
        checkin = services.record_checkin(
            actor=admin,
            key_result=kr,
            value=D(value),
            confidence=6,
            effective_date=today - timedelta(days=days),
        )
        # Recorded on the day it is for (as a weekly check-in is), not today.
        CheckIn.objects.filter(pk=checkin.pk).update(
            recorded_at=dt.datetime.combine(checkin.effective_date, dt.time(12), tzinfo=dt.UTC)
        )
    initiative = factories.make_initiative(
        org,
        "launch",
        cycle=cycle,
        team=team,
        start_date=today - timedelta(days=30),
        end_date=today + timedelta(days=10),
        effort_days=D(10),
    )
    InitiativeKeyResult.objects.create(organization=org, initiative=initiative, key_result=signups)
    recompute_organization(org)
    return {
        "company": company,
        "grow": grow,
        "secret": secret,
        "revenue": revenue,
        "signups": signups,
        "initiative": initiative,
    }


def test_the_tree_as_of_today_equals_the_live_tree(
    org: Organization, admin: Actor, cycle: Cycle, plan: dict[str, object], today: date
) -> None:
    assert alignment_tree_as_of(admin, cycle, today) == alignment_tree(admin, cycle)
    outsider = member_of(org, None, "outsider@acme.test")
    locked = alignment_tree_as_of(outsider, cycle, today)
    assert locked == alignment_tree(outsider, cycle)
    [root] = locked
    assert any(child.locked for child in root.children)


def test_the_roadmap_plan_as_of_today_equals_the_live_plan(
    org: Organization, admin: Actor, cycle: Cycle, plan: dict[str, object], today: date
) -> None:
    past = roadmap_as_of(admin, cycle, today)
    assert past.plan == load_plan(org, cycle=cycle)
    assert past.initiative_ids == {"launch": plan["initiative"].pk}  # type: ignore[attr-defined]


def test_a_past_day_undoes_later_changes(
    org: Organization,
    admin: Actor,
    team_member: Actor,
    cycle: Cycle,
    plan: dict[str, object],
    today: date,
) -> None:
    grow, signups, revenue = plan["grow"], plan["signups"], plan["revenue"]
    assert isinstance(grow, Objective)
    assert isinstance(signups, KeyResult)
    assert isinstance(revenue, KeyResult)
    yesterday = today - timedelta(days=1)
    before = alignment_tree_as_of(admin, cycle, yesterday)
    # Today: a renamed objective, a new target, a late check-in for last week, a new key
    # result, a removed link and a new one.
    services.update_objective(actor=admin, objective=grow, changes={"title": "Grow faster"})
    services.update_key_result(actor=admin, key_result=signups, changes={"target_value": D(300)})
    services.record_checkin(
        actor=admin, key_result=signups, value=D(190), effective_date=today - timedelta(days=7)
    )
    services.create_key_result(
        actor=admin,
        objective=grow,
        key="nps",
        title="NPS",
        kind="increase",
        start_value=D(0),
        target_value=D(50),
    )
    services.unalign_objective(actor=admin, alignment=Alignment.objects.get(child=grow))
    services.align_objective(actor=admin, child=grow, parent_objective=plan["company"])  # type: ignore[arg-type]

    assert alignment_tree_as_of(admin, cycle, yesterday) == before
    [root] = before
    [revenue_node] = root.key_results
    [grow_node] = revenue_node.children  # aligned to the key result then
    assert grow_node.title == "Grow"
    [signups_node] = grow_node.key_results
    assert (signups_node.target_value, signups_node.current_value) == (D(200), D(150))
    assert signups_node.progress == D("0.5000")

    now = alignment_tree_as_of(admin, cycle, today)
    assert now == alignment_tree(admin, cycle)
    [root_now] = now
    assert [c.title for c in root_now.children] == ["Secret", "Grow faster"]

    past_kr = key_result_as_of(admin, signups, yesterday)
    assert past_kr is not None
    assert past_kr.row.target_value == D(200)
    assert [c.value for c in past_kr.history] == [D(150)]
    assert past_kr.result.progress == D("0.5000")
    assert key_result_as_of(admin, KeyResult.objects.get(key="nps"), yesterday) is None
    past_objective = objective_as_of(admin, grow, yesterday)
    assert past_objective is not None
    assert past_objective.row.title == "Grow"
    assert [k.row.key for k in past_objective.key_results] == ["signups"]
    assert [p.key for p in past_objective.parents] == ["company"]


def test_archived_rows_come_back_on_days_they_were_live(
    admin: Actor, cycle: Cycle, plan: dict[str, object], today: date
) -> None:
    signups = plan["signups"]
    assert isinstance(signups, KeyResult)
    services.archive_key_result(actor=admin, key_result=signups)
    yesterday = today - timedelta(days=1)
    past = key_result_as_of(admin, signups, yesterday)
    assert past is not None
    assert past.result.current == D(150)
    assert key_result_as_of(admin, signups, today) is None


def test_fields_as_of_replays_updates_creates_archives_and_restores(
    org: Organization, admin: Actor, team: Team, cycle: Cycle, today: date
) -> None:
    created = services.create_objective(
        actor=admin, cycle=cycle, key="new", title="New", owner_team=team
    )
    old = factories.make_objective(cycle, "old", title="Old")
    services.update_objective(actor=admin, objective=old, changes={"title": "Older", "weight": 2})
    services.archive_objective(actor=admin, objective=old)
    restored = factories.make_objective(cycle, "back")
    services.archive_objective(actor=admin, objective=restored)
    services.restore_objective(actor=admin, objective=restored)
    moment = end_of_day(org, today - timedelta(days=1))
    rows = list(Objective.objects.filter(pk__in=[created.pk, old.pk, restored.pk]))

    past = fields_as_of(Objective, rows, moment, org.pk)

    assert not past[created.pk].existed
    assert past[old.pk].live
    assert (past[old.pk].row.title, past[old.pk].row.weight) == ("Old", D(1))
    assert past[restored.pk].live
    later = fields_as_of(Objective, rows, end_of_day(org, today), org.pk)
    assert later[created.pk].live
    assert later[old.pk].archived
    assert Objective.objects.get(pk=old.pk).title == "Older"  # the rows are untouched


def test_the_roadmap_on_a_past_day(
    admin: Actor, cycle: Cycle, plan: dict[str, object], today: date
) -> None:
    initiative = plan["initiative"]
    new_end = today + timedelta(days=40)
    roadmap_services.update_initiative(
        actor=admin,
        initiative=initiative,  # type: ignore[arg-type]
        changes={"end_date": new_end, "status": "in_progress"},
    )
    roadmap_services.create_initiative(actor=admin, key="later", title="Later", cycle=cycle)

    past = roadmap_as_of(admin, cycle, today - timedelta(days=1))
    [launch] = past.plan.initiatives
    assert launch.end == today + timedelta(days=10)
    assert launch.status == InitiativeStatus.PLANNED
    assert past.roadmap.schedule is not None
    now = roadmap_as_of(admin, cycle, today)
    assert {i.key for i in now.plan.initiatives} == {"launch", "later"}


def test_baseline_against_what_happened(
    org: Organization, admin: Actor, team: Team, today: date
) -> None:
    cycle = factories.make_cycle(
        org,
        "b",
        start_date=today - timedelta(days=30),
        end_date=today + timedelta(days=30),
        state="planning",
    )
    objective = factories.make_objective(cycle, "o", title="Objective", state="draft")
    kr = factories.make_key_result(
        objective, "k", title="Leads", start_value=D(0), target_value=D(100)
    )
    dropped = factories.make_key_result(objective, "gone", title="Gone")
    services.activate_cycle(actor=admin, cycle=cycle)
    services.update_key_result(actor=admin, key_result=kr, changes={"target_value": D(50)})
    services.record_checkin(actor=admin, key_result=kr, value=D(40))
    services.archive_key_result(actor=admin, key_result=dropped)

    rows = {r.title: r for r in baseline_comparison(admin, cycle)}

    leads = rows["Leads"]
    assert (leads.baseline_target, leads.current_target) == ("100", "50")
    assert leads.changed
    assert leads.value == D(40)
    assert leads.progress_vs_baseline == D("0.4000")
    assert leads.progress_vs_current == D("0.8000")
    assert (leads.score_vs_baseline, leads.score_vs_current) == ("partial", "achieved")
    assert rows["Gone"].current_target is None
    assert baseline_comparison(admin, factories.make_cycle(org, "never")) == []


def test_a_cycle_created_later_is_empty_on_earlier_days(admin: Actor, today: date) -> None:
    cycle = services.create_cycle(
        actor=admin, key="new", name="New", start_date=today, end_date=today + timedelta(days=30)
    )
    yesterday = today - timedelta(days=1)
    assert alignment_tree_as_of(admin, cycle, yesterday) == []
    past = roadmap_as_of(admin, cycle, yesterday)
    assert past.plan.objectives == ()
    timeline = build_timeline(
        past.plan, past.roadmap.schedule, past.roadmap.findings, today=yesterday
    )
    assert not timeline.groups
