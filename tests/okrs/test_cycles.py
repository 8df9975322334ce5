"""The cycle's states and their rules: activation records the baseline, active-cycle edits show
as changes from it, closing needs a retrospective (or an admin's skip) for every objective,
a closed cycle refuses check-ins and edits, only owners reopen; cycle templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, PermissionDenied
from milepost.okrs import services
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective, Retrospective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from tests import factories

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} audit event"
    return event


@pytest.fixture
def planning(org: Organization, today: date) -> Cycle:
    return factories.make_cycle(
        org,
        "next",
        start_date=today - timedelta(days=10),
        end_date=today + timedelta(days=80),
        state="planning",
    )


@pytest.fixture
def draft(planning: Cycle, team: Team) -> Objective:
    return factories.make_objective(planning, "draft-goal", owner_team=team, state="draft")


@pytest.fixture
def draft_kr(draft: Objective) -> KeyResult:
    return factories.make_key_result(
        draft, "signups", start_value=Decimal(100), target_value=Decimal(200)
    )


# --- activation and the baseline ---------------------------------------------------------------


def test_activate_records_the_baseline_and_activates_drafts(
    admin: Actor, planning: Cycle, draft: Objective, draft_kr: KeyResult
) -> None:
    cycle = services.activate_cycle(actor=admin, cycle=planning)

    assert cycle.state == "active"
    assert planning.state == "active"  # the caller's instance follows
    assert cycle.activated_at is not None
    draft.refresh_from_db()
    assert draft.state == "active"
    baseline = cycle.baseline
    assert baseline is not None
    assert baseline["format"] == 1
    assert baseline["cycle"]["key"] == "next"
    [objective] = baseline["objectives"]
    assert objective["id"] == draft.pk
    assert objective["owner_team"] == "growth"
    [kr] = objective["key_results"]
    assert kr["id"] == draft_kr.pk
    assert (kr["start_value"], kr["target_value"]) == ("100", "200")
    assert kr["due_date"] == planning.end_date.isoformat()
    assert kr["due_date_explicit"] is False
    event = last_event("cycle.activate")
    assert event.target_id == cycle.pk
    assert event.before == {"state": "planning"}
    assert event.after is not None
    assert event.after["objectives_activated"] == ["draft-goal"]
    assert last_event("objective.update").after == {"state": "active"}


def test_only_admins_activate(member: Actor, planning: Cycle, counts: Counts) -> None:
    before = counts()
    with pytest.raises(PermissionDenied):
        services.activate_cycle(actor=member, cycle=planning)
    assert counts() == before
    planning.refresh_from_db()
    assert planning.state == "planning"


def test_only_a_planning_cycle_activates(admin: Actor, cycle: Cycle, counts: Counts) -> None:
    before = counts()
    with pytest.raises(Conflict, match="only a cycle being planned"):
        services.activate_cycle(actor=admin, cycle=cycle)
    assert counts() == before


def test_in_planning_targets_change_freely_without_a_baseline(
    team_member: Actor, planning: Cycle, draft_kr: KeyResult
) -> None:
    services.update_key_result(
        actor=team_member, key_result=draft_kr, changes={"target_value": Decimal(300)}
    )
    assert services.baseline_changes(planning) == []


def test_active_cycle_edits_are_audited_and_shown_as_changed_from_the_baseline(
    admin: Actor, team_member: Actor, planning: Cycle, draft: Objective, draft_kr: KeyResult
) -> None:
    services.activate_cycle(actor=admin, cycle=planning)
    due = planning.end_date - timedelta(days=7)
    services.update_key_result(
        actor=team_member,
        key_result=draft_kr,
        changes={"target_value": Decimal("250.5"), "due_date": due, "title": "Sign-ups"},
    )
    added = services.create_key_result(
        actor=team_member,
        objective=draft,
        key="nps",
        title="NPS",
        kind="increase",
        start_value=Decimal(10),
        target_value=Decimal(40),
    )

    changes = services.baseline_changes(planning)

    assert [(c.key, c.change, c.field, c.baseline, c.current) for c in changes] == [
        ("draft-goal/nps", "added", "", "", ""),
        ("draft-goal/signups", "changed", "target_value", "200", "250.5"),
        (
            "draft-goal/signups",
            "changed",
            "due_date",
            planning.end_date.isoformat(),
            due.isoformat(),
        ),
    ]
    assert changes[1].field_label == "target"
    assert changes[1].object_id == draft_kr.pk
    assert changes[0].object_id == added.pk
    event = last_event("keyresult.update")
    assert event.before is not None
    assert event.before["target_value"] == "200.000000"
    assert event.after is not None
    assert event.after["target_value"] == "250.5"


def test_removed_key_results_show_as_removed(
    admin: Actor, team_member: Actor, planning: Cycle, draft_kr: KeyResult
) -> None:
    services.activate_cycle(actor=admin, cycle=planning)
    services.archive_key_result(actor=team_member, key_result=draft_kr)
    [change] = services.baseline_changes(planning)
    assert (change.key, change.change) == ("draft-goal/signups", "removed")


# --- closing -------------------------------------------------------------------------------------


def test_close_is_refused_listing_the_objectives_without_a_retrospective(
    admin: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult, counts: Counts
) -> None:
    other = factories.make_objective(cycle, "other", title="Other goal")
    factories.make_objective(cycle, "dropped", state="cancelled")  # needs none
    before = counts()

    with pytest.raises(Conflict) as refused:
        services.close_cycle(actor=admin, cycle=cycle)

    assert "2 objectives have no retrospective" in refused.value.detail
    assert "“Other goal”" in refused.value.detail
    assert refused.value.errors["objectives"] == ["grow: grow", "other: Other goal"]
    assert counts() == before
    assert [o.pk for o in services.missing_retrospectives(cycle)] == [objective.pk, other.pk]
    cycle.refresh_from_db()
    assert cycle.state == "active"


def test_close_with_reflections_and_skips_scores_every_key_result(
    admin: Actor,
    team_member: Actor,
    cycle: Cycle,
    objective: Objective,
    key_result: KeyResult,
    today: date,
) -> None:
    other = factories.make_objective(cycle, "other")
    unwritten = factories.make_key_result(
        other, "flat", start_value=Decimal(0), target_value=Decimal(10)
    )
    services.record_checkin(
        actor=team_member, key_result=key_result, value=Decimal(165), confidence=6
    )
    services.record_key_result_retrospective(
        actor=team_member,
        key_result=key_result,
        grade_override="achieved",
        reason_code="target_wrong",
        lessons="The target ignored seasonality.",
    )
    services.record_objective_reflection(
        actor=team_member,
        objective=objective,
        went_well="Onboarding",
        went_badly="",
        change_next="Seasonal targets",
    )
    services.skip_objective_retrospective(actor=admin, objective=other)

    closed = services.close_cycle(actor=admin, cycle=cycle)

    assert closed.state == "closed"
    assert closed.closed_at is not None
    kept = Retrospective.objects.get(key_result=key_result)
    assert (kept.score, kept.grade) == (Decimal("0.7"), "achieved")  # 65% rounds half up
    assert (kept.grade_override, kept.reason_code) == ("achieved", "target_wrong")
    assert kept.lessons == "The target ignored seasonality."
    scored = Retrospective.objects.get(key_result=unwritten)
    assert (scored.score, scored.grade, scored.cycle_id) == (Decimal("0.0"), "missed", cycle.pk)
    reflection = Retrospective.objects.get(objective=objective)
    assert reflection.score == Decimal("0.7")
    assert set(Objective.objects.filter(cycle=cycle).values_list("state", flat=True)) == {"closed"}
    event = last_event("cycle.close")
    assert event.after is not None
    assert event.after["retrospectives_created"] == 1
    assert sorted(event.after["objectives_closed"]) == ["grow", "other"]


def test_only_an_active_cycle_closes(admin: Actor, planning: Cycle) -> None:
    with pytest.raises(Conflict, match="only an active cycle"):
        services.close_cycle(actor=admin, cycle=planning)


def test_only_admins_close(member: Actor, cycle: Cycle) -> None:
    with pytest.raises(PermissionDenied):
        services.close_cycle(actor=member, cycle=cycle)


@pytest.fixture
def closed(admin: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult) -> Cycle:
    services.skip_objective_retrospective(actor=admin, objective=objective)
    return services.close_cycle(actor=admin, cycle=cycle)


def test_a_closed_cycle_refuses_check_ins_and_edits(
    admin: Actor,
    closed: Cycle,
    objective: Objective,
    key_result: KeyResult,
    team: Team,
    counts: Counts,
) -> None:
    before = counts()
    attempts: list[Callable[[], object]] = [
        lambda: services.record_checkin(actor=admin, key_result=key_result, value=Decimal(150)),
        lambda: services.update_key_result(
            actor=admin, key_result=key_result, changes={"target_value": Decimal(300)}
        ),
        lambda: services.archive_key_result(actor=admin, key_result=key_result),
        lambda: services.create_key_result(
            actor=admin,
            objective=objective,
            key="late",
            title="Late",
            kind="increase",
            start_value=Decimal(0),
            target_value=Decimal(1),
        ),
        lambda: services.update_objective(
            actor=admin, objective=objective, changes={"title": "Renamed"}
        ),
        lambda: services.archive_objective(actor=admin, objective=objective),
        lambda: services.create_objective(
            actor=admin, cycle=closed, key="late-goal", title="Late", owner_team=team
        ),
        lambda: services.update_cycle(
            actor=admin, cycle=closed, changes={"end_date": closed.end_date + timedelta(days=1)}
        ),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match="is closed"):
            attempt()
    assert counts() == before


def test_a_correction_in_a_closed_cycle_is_refused(
    admin: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult
) -> None:
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(120))
    services.skip_objective_retrospective(actor=admin, objective=objective)
    services.close_cycle(actor=admin, cycle=cycle)
    with pytest.raises(Conflict, match="closed"):
        services.correct_checkin(actor=admin, checkin=checkin, value=Decimal(121))
    assert CheckIn.objects.count() == 1


def test_reopen_is_for_owners_and_allows_check_ins_again(
    owner: Actor, admin: Actor, closed: Cycle, key_result: KeyResult, objective: Objective
) -> None:
    with pytest.raises(PermissionDenied, match="owner"):
        services.reopen_cycle(actor=admin, cycle=closed)

    reopened = services.reopen_cycle(actor=owner, cycle=closed)

    assert reopened.state == "active"
    assert reopened.closed_at is None
    objective.refresh_from_db()
    assert objective.state == "active"
    assert Retrospective.objects.filter(objective=objective, skipped=True).exists()
    services.record_checkin(actor=owner, key_result=key_result, value=Decimal(150))
    event = last_event("cycle.reopen")
    assert event.before is not None
    assert event.before["state"] == "closed"
    assert event.after is not None
    assert event.after["objectives_reopened"] == ["grow"]


def test_only_a_closed_cycle_reopens(owner: Actor, cycle: Cycle) -> None:
    with pytest.raises(Conflict, match="only a closed cycle"):
        services.reopen_cycle(actor=owner, cycle=cycle)


def test_closed_cycle_does_not_activate_again(admin: Actor, closed: Cycle) -> None:
    with pytest.raises(Conflict):
        services.activate_cycle(actor=admin, cycle=closed)


# --- templates ---------------------------------------------------------------------------------


def test_a_new_cycle_from_a_template_copies_recurring_objectives_as_drafts(
    admin: Actor, team_member: Actor, cycle: Cycle, team: Team, today: date
) -> None:
    company = factories.make_objective(cycle, "company", recurring=True, title="Company")
    keep = factories.make_objective(
        cycle, "keep-customers", owner_team=team, recurring=True, title="Keep customers"
    )
    factories.make_objective(cycle, "one-off", owner_team=team)
    churn = factories.make_key_result(
        keep,
        "churn",
        kind="decrease",
        start_value=Decimal(5),
        target_value=Decimal(3),
        due_date=cycle.end_date - timedelta(days=5),
    )
    services.record_checkin(actor=team_member, key_result=churn, value=Decimal(4))
    Alignment.objects.create(organization=cycle.organization, child=keep, parent_objective=company)
    start = cycle.end_date + timedelta(days=1)

    new = services.create_cycle_from_template(
        actor=admin,
        source_cycle=cycle,
        key="q-next",
        name="Next quarter",
        start_date=start,
        end_date=start + timedelta(days=90),
    )

    assert new.state == "planning"
    copies = {o.carried_from_id: o for o in Objective.objects.filter(cycle=new)}
    assert set(copies) == {company.pk, keep.pk}
    copy = copies[keep.pk]
    assert copy.key == "keep-customers-q-next"
    assert (copy.state, copy.recurring, copy.owner_team_id) == ("draft", True, team.pk)
    [kr] = KeyResult.objects.filter(objective=copy)
    assert (kr.key, kr.kind, kr.start_value, kr.target_value) == (
        "churn",
        "decrease",
        Decimal(5),
        Decimal(3),
    )
    assert kr.current_value == Decimal(5)  # reset to the start
    assert kr.due_date is None
    assert kr.carried_from_id is None
    assert not CheckIn.objects.filter(key_result=kr).exists()
    link = Alignment.objects.get(child=copy)
    assert link.parent_objective_id == copies[company.pk].pk
    event = last_event("cycle.create_from_template")
    assert event.after is not None
    assert event.after["key_results"] == 1


def test_template_keys_do_not_grow_or_collide(admin: Actor, cycle: Cycle) -> None:
    factories.make_objective(cycle, "grow-q", recurring=True)  # ends with the source's key
    factories.make_objective(cycle, "grow-q2")  # takes the obvious name
    new = services.create_cycle_from_template(
        actor=admin,
        source_cycle=cycle,
        key="q2",
        name="Q2",
        start_date=cycle.end_date + timedelta(days=1),
        end_date=cycle.end_date + timedelta(days=60),
    )
    assert list(Objective.objects.filter(cycle=new).values_list("key", flat=True)) == ["grow-q2-2"]


def test_only_admins_create_cycles_from_templates(member: Actor, cycle: Cycle) -> None:
    with pytest.raises(PermissionDenied):
        services.create_cycle_from_template(
            actor=member,
            source_cycle=cycle,
            key="q2",
            name="Q2",
            start_date=cycle.end_date + timedelta(days=1),
            end_date=cycle.end_date + timedelta(days=60),
        )
