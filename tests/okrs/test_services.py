"""OKR services: what they write, the audit event, refusals that write nothing, archive/restore,
alignment and its loops."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleVersion
from milepost.okrs import services
from milepost.okrs.access import access_cycle, access_key_result, access_objective
from milepost.okrs.models import Alignment, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from tests import factories

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} audit event"
    return event


# --- cycles ----------------------------------------------------------------------------------


def test_create_cycle_writes_the_cycle_and_an_audit_event(admin: Actor) -> None:
    cycle = services.create_cycle(
        actor=admin,
        key="2026-q4",
        name=" Q4 2026 ",
        start_date=date(2026, 10, 1),
        end_date=date(2026, 12, 31),
    )
    assert cycle.name == "Q4 2026"
    assert cycle.state == "planning"
    event = last_event("cycle.create")
    assert event.target_id == cycle.pk
    assert event.actor_id == admin.user_id
    assert event.after is not None
    assert event.after["start_date"] == "2026-10-01"


def test_create_cycle_needs_an_admin(member: Actor, counts: Counts) -> None:
    before = counts()
    with pytest.raises(PermissionDenied):
        services.create_cycle(
            actor=member, key="q", name="Q", start_date=date(2026, 1, 1), end_date=date(2026, 3, 31)
        )
    assert counts() == before


def test_sub_cycle_must_lie_inside_its_parent(admin: Actor, counts: Counts) -> None:
    year = services.create_cycle(
        actor=admin, key="y", name="2026", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
    )
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.create_cycle(
            actor=admin,
            key="q",
            name="Q",
            start_date=date(2025, 12, 1),
            end_date=date(2027, 1, 31),
            parent=year,
        )
    assert set(caught.value.errors) == {"start_date", "end_date"}
    assert counts() == before


def test_cycle_cannot_be_inside_itself(admin: Actor) -> None:
    year = services.create_cycle(
        actor=admin, key="y", name="2026", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
    )
    quarter = services.create_cycle(
        actor=admin,
        key="q1",
        name="Q1",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 3, 31),
        parent=year,
    )
    with pytest.raises(InvalidInput) as caught:
        services.update_cycle(actor=admin, cycle=year, changes={"parent": quarter})
    assert "parent" in caught.value.errors


def test_create_cycle_rejects_a_bad_date(admin: Actor) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.create_cycle(
            actor=admin,
            key="q",
            name="Q",
            start_date="next week",  # type: ignore[arg-type]
            end_date=date(2026, 3, 31),
        )
    assert "start_date" in caught.value.errors


def test_update_cycle_bumps_the_version_and_records_before_and_after(
    admin: Actor, cycle: Cycle
) -> None:
    updated = services.update_cycle(
        actor=admin, cycle=cycle, changes={"name": "Autumn"}, expected_version=cycle.version
    )
    assert updated.version == cycle.version + 1
    event = last_event("cycle.update")
    assert event.before == {"name": "q"}
    assert event.after == {"name": "Autumn"}
    with pytest.raises(StaleVersion):
        services.update_cycle(actor=admin, cycle=cycle, changes={"name": "x"}, expected_version=1)


def test_update_cycle_refuses_the_state(admin: Actor, cycle: Cycle) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.update_cycle(actor=admin, cycle=cycle, changes={"state": "closed"})
    assert "state" in caught.value.errors


def test_new_cycle_dates_refresh_expected_progress(
    admin: Actor, cycle: Cycle, key_result: KeyResult, today: date
) -> None:
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(110))
    key_result.refresh_from_db()
    assert Decimal(0) < key_result.expected < Decimal(1)
    services.update_cycle(
        actor=admin,
        cycle=cycle,
        changes={"start_date": today - timedelta(days=90), "end_date": today},
    )
    key_result.refresh_from_db()
    assert key_result.expected == Decimal(1)


def test_cycle_dates_must_keep_key_results_inside(
    admin: Actor, cycle: Cycle, key_result: KeyResult, today: date, counts: Counts
) -> None:
    services.update_key_result(
        actor=admin, key_result=key_result, changes={"due_date": today + timedelta(days=30)}
    )
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.update_cycle(actor=admin, cycle=cycle, changes={"end_date": today})
    assert "key result grow/signups" in caught.value.errors["end_date"][0]
    assert counts() == before


def test_archive_and_restore_a_cycle_hides_and_brings_back_its_objectives(
    admin: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult
) -> None:
    services.archive_cycle(actor=admin, cycle=cycle)
    with pytest.raises(NotFound):
        access_cycle(admin, cycle.pk)
    with pytest.raises(NotFound):
        access_objective(admin, objective.pk)
    with pytest.raises(NotFound):
        access_key_result(admin, key_result.pk)
    assert access_cycle(admin, cycle.pk, include_archived=True).is_archived
    services.restore_cycle(actor=admin, cycle=cycle)
    assert access_objective(admin, objective.pk) == objective
    assert [e.action for e in AuditEvent.objects.order_by("id")][-2:] == [
        "cycle.archive",
        "cycle.restore",
    ]


# --- objectives ------------------------------------------------------------------------------


def test_create_objective_writes_it_with_an_audit_event(
    admin: Actor, cycle: Cycle, team: Team
) -> None:
    objective = services.create_objective(
        actor=admin, cycle=cycle, key="grow", title=" Grow ", owner_team=team
    )
    assert (objective.title, objective.state, objective.status) == ("Grow", "draft", "not_started")
    event = last_event("objective.create")
    assert event.target_id == objective.pk
    assert event.after is not None
    assert event.after["owner_team_id"] == team.pk


def test_member_creates_objectives_for_themselves_or_their_team_only(
    team_member: Actor, cycle: Cycle, team: Team, other_team: Team, counts: Counts
) -> None:
    services.create_objective(actor=team_member, cycle=cycle, key="a", title="A", owner_team=team)
    services.create_objective(
        actor=team_member, cycle=cycle, key="b", title="B", owner_user=team_member.user
    )
    before = counts()
    with pytest.raises(PermissionDenied):
        services.create_objective(
            actor=team_member, cycle=cycle, key="c", title="C", owner_team=other_team
        )
    with pytest.raises(PermissionDenied):
        services.create_objective(actor=team_member, cycle=cycle, key="d", title="D")
    assert counts() == before


def test_viewer_cannot_create_objectives(viewer: Actor, cycle: Cycle) -> None:
    with pytest.raises(PermissionDenied):
        services.create_objective(actor=viewer, cycle=cycle, key="a", title="A")


def test_objective_references_must_belong_to_the_organization(
    admin: Actor, outsider: Actor, other_org: Organization, counts: Counts
) -> None:
    foreign_cycle = factories.make_cycle(other_org, "theirs")
    foreign_team = factories.make_team(other_org, "theirs")
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.create_objective(
            actor=admin,
            cycle=foreign_cycle,
            key="a",
            title="A",
            owner_team=foreign_team,
            owner_user=outsider.user,
        )
    assert caught.value.errors == {
        "cycle": ["cycle not found"],
        "owner_team": ["team not found"],
        "owner_user": ["not a member of this organization"],
    }
    assert counts() == before


def test_objective_visibility_needs_an_owner(admin: Actor, cycle: Cycle) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.create_objective(actor=admin, cycle=cycle, key="a", title="A", visibility="team")
    assert "visibility" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        services.create_objective(
            actor=admin, cycle=cycle, key="a", title="A", visibility="private"
        )
    assert "visibility" in caught.value.errors


def test_objective_in_an_archived_cycle_is_refused(admin: Actor, cycle: Cycle) -> None:
    services.archive_cycle(actor=admin, cycle=cycle)
    with pytest.raises(InvalidInput) as caught:
        services.create_objective(actor=admin, cycle=cycle, key="a", title="A")
    assert caught.value.errors == {"cycle": ["the cycle is archived"]}


def test_update_objective_records_before_and_after(admin: Actor, objective: Objective) -> None:
    updated = services.update_objective(
        actor=admin, objective=objective, changes={"title": "Grow faster"}, expected_version=1
    )
    assert updated.title == "Grow faster"
    event = last_event("objective.update")
    assert event.before == {"title": "grow"}
    assert event.after == {"title": "Grow faster"}


def test_update_objective_writes_nothing_when_any_field_is_invalid(
    admin: Actor, objective: Objective, counts: Counts
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.update_objective(
            actor=admin, objective=objective, changes={"title": "New", "weight": Decimal(-1)}
        )
    assert caught.value.errors == {"weight": ["weight must be ≥ 0."]}
    objective.refresh_from_db()
    assert (objective.title, objective.version) == ("grow", 1)
    assert counts() == before


def test_member_cannot_give_an_objective_to_another_team(
    team_member: Actor, objective: Objective, other_team: Team
) -> None:
    with pytest.raises(PermissionDenied):
        services.update_objective(
            actor=team_member, objective=objective, changes={"owner_team": other_team}
        )
    services.update_objective(actor=team_member, objective=objective, changes={"title": "Mine"})


def test_member_outside_the_team_cannot_edit_it(member: Actor, objective: Objective) -> None:
    with pytest.raises(PermissionDenied):
        services.update_objective(actor=member, objective=objective, changes={"title": "x"})


def test_moving_an_objective_needs_its_key_results_inside_the_new_cycle(
    admin: Actor, org: Organization, objective: Objective, key_result: KeyResult, today: date
) -> None:
    services.update_key_result(
        actor=admin, key_result=key_result, changes={"due_date": today + timedelta(days=40)}
    )
    short = factories.make_cycle(
        org, "short", start_date=today, end_date=today + timedelta(days=10)
    )
    with pytest.raises(InvalidInput) as caught:
        services.update_objective(actor=admin, objective=objective, changes={"cycle": short})
    assert "signups" in caught.value.errors["cycle"][0]


def test_archive_and_restore_an_objective(
    admin: Actor, objective: Objective, key_result: KeyResult
) -> None:
    archived = services.archive_objective(actor=admin, objective=objective, expected_version=1)
    assert archived.is_archived
    assert archived.version == 2
    with pytest.raises(NotFound):
        access_objective(admin, objective.pk)
    with pytest.raises(NotFound):
        access_key_result(admin, key_result.pk)
    with pytest.raises(StaleVersion):
        services.restore_objective(actor=admin, objective=archived, expected_version=1)
    restored = services.restore_objective(actor=admin, objective=archived, expected_version=2)
    assert not restored.is_archived
    assert access_key_result(admin, key_result.pk) == key_result
    assert (
        AuditEvent.objects.filter(action__in=["objective.archive", "objective.restore"]).count()
        == 2
    )


def test_cancelling_a_child_objective_removes_it_from_the_parent_rollup(
    admin: Actor, org: Organization, cycle: Cycle
) -> None:
    owner_actor = admin
    org.rollup_mode = "children"
    org.save()
    parent = factories.make_objective(cycle, "parent")
    done = factories.make_objective(cycle, "done")
    flat = factories.make_objective(cycle, "flat")
    kr_done = factories.make_key_result(done, "kr", start_value=Decimal(0), target_value=Decimal(1))
    factories.make_key_result(flat, "kr", start_value=Decimal(0), target_value=Decimal(1))
    services.align_objective(actor=owner_actor, child=done, parent_objective=parent)
    services.align_objective(actor=owner_actor, child=flat, parent_objective=parent)
    services.record_checkin(actor=admin, key_result=kr_done, value=Decimal(1))
    parent.refresh_from_db()
    assert parent.progress == Decimal("0.5")
    services.update_objective(actor=admin, objective=flat, changes={"state": "cancelled"})
    parent.refresh_from_db()
    assert parent.progress == Decimal(1)


# --- alignment -------------------------------------------------------------------------------


def test_align_creates_the_link_with_an_audit_event(admin: Actor, cycle: Cycle) -> None:
    parent = factories.make_objective(cycle, "company")
    child = factories.make_objective(cycle, "team")
    link = services.align_objective(
        actor=admin, child=child, parent_objective=parent, weight=Decimal(2)
    )
    assert (link.child, link.parent_objective, link.weight) == (child, parent, Decimal(2))
    assert last_event("alignment.create").target_id == link.pk


def test_alignment_loop_is_a_conflict_naming_every_objective(
    admin: Actor, cycle: Cycle, counts: Counts
) -> None:
    a, b, c = (factories.make_objective(cycle, k) for k in ("a", "b", "c"))
    services.align_objective(actor=admin, child=a, parent_objective=b)
    kr_c = factories.make_key_result(c, "kr")
    services.align_objective(actor=admin, child=b, parent_key_result=kr_c)
    before = counts()
    with pytest.raises(Conflict) as caught:
        services.align_objective(actor=admin, child=c, parent_objective=a)
    message = caught.value.detail
    assert "loop" in message
    loop = message.rsplit(": ", 1)[1].rstrip(".")
    names = loop.split(" → ")
    assert names[0] == names[-1]
    assert set(names) == {"a", "b", "c"}
    assert len(names) == 4
    assert "parent_objective" in caught.value.errors
    assert counts() == before


def test_alignment_loop_through_an_archived_objective_is_still_refused(
    admin: Actor, cycle: Cycle
) -> None:
    a, b, c = (factories.make_objective(cycle, k) for k in ("a", "b", "c"))
    services.align_objective(actor=admin, child=a, parent_objective=b)
    services.align_objective(actor=admin, child=b, parent_objective=c)
    services.archive_objective(actor=admin, objective=b)
    # Restoring b later must not bring back a loop a → b → c → a.
    with pytest.raises(Conflict) as caught:
        services.align_objective(actor=admin, child=c, parent_objective=a)
    assert "b" in caught.value.detail.rsplit(": ", 1)[1].split(" → ")


def test_alignment_to_its_own_key_result_is_refused(
    admin: Actor, objective: Objective, key_result: KeyResult
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.align_objective(actor=admin, child=objective, parent_key_result=key_result)
    assert "parent_key_result" in caught.value.errors


def test_alignment_parent_must_be_visible(
    team_member: Actor, objective: Objective, cycle: Cycle, other_team: Team
) -> None:
    hidden = factories.make_objective(cycle, "hidden", owner_team=other_team, visibility="private")
    with pytest.raises(InvalidInput) as caught:
        services.align_objective(actor=team_member, child=objective, parent_objective=hidden)
    assert caught.value.errors == {"parent_objective": ["objective not found"]}


def test_alignment_needs_rights_on_the_child(
    member: Actor, objective: Objective, cycle: Cycle
) -> None:
    parent = factories.make_objective(cycle, "company")
    with pytest.raises(PermissionDenied):
        services.align_objective(actor=member, child=objective, parent_objective=parent)


def test_unalign_removes_the_link_and_refreshes_the_parent(
    admin: Actor, org: Organization, cycle: Cycle
) -> None:
    org.rollup_mode = "children"
    org.save()
    parent = factories.make_objective(cycle, "company")
    child = factories.make_objective(cycle, "team")
    kr = factories.make_key_result(child, "kr", start_value=Decimal(0), target_value=Decimal(10))
    link = services.align_objective(actor=admin, child=child, parent_objective=parent)
    services.record_checkin(actor=admin, key_result=kr, value=Decimal(5))
    parent.refresh_from_db()
    assert parent.progress == Decimal("0.5")
    services.unalign_objective(actor=admin, alignment=link)
    assert not Alignment.objects.filter(pk=link.pk).exists()
    parent.refresh_from_db()
    assert parent.progress == Decimal(0)
    event = last_event("alignment.delete")
    assert event.before is not None
    assert event.before["child_id"] == child.pk
    assert event.target_label == "team → company"


# --- key results -----------------------------------------------------------------------------


def test_create_key_result_starts_at_its_start_value(admin: Actor, objective: Objective) -> None:
    kr = services.create_key_result(
        actor=admin,
        objective=objective,
        key="nps",
        title="NPS",
        kind="increase",
        start_value=Decimal(20),
        target_value=Decimal(40),
        unit="points",
    )
    assert kr.current_value == Decimal(20)
    assert kr.status == "on_track" or kr.status == "at_risk" or kr.status == "off_track"
    assert kr.expected > 0  # the cycle is under way
    assert last_event("keyresult.create").target_id == kr.pk


@pytest.mark.parametrize(
    ("kind", "start", "target", "field"),
    [
        ("increase", 10, 10, "target_value"),
        ("increase", 10, 5, "target_value"),
        ("decrease", 10, 20, "target_value"),
        ("binary", 0, 5, "target_value"),
        ("binary", 1, 1, "start_value"),
        ("increase", "lots", 5, "start_value"),
    ],
)
def test_key_result_numbers_are_checked(
    admin: Actor,
    objective: Objective,
    counts: Counts,
    kind: str,
    start: object,
    target: int,
    field: str,
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.create_key_result(
            actor=admin,
            objective=objective,
            key="k",
            title="K",
            kind=kind,
            start_value=start,  # type: ignore[arg-type]
            target_value=Decimal(target),
        )
    assert field in caught.value.errors
    assert counts() == before


def test_key_result_due_date_lies_inside_the_cycle(
    admin: Actor, objective: Objective, cycle: Cycle
) -> None:
    for due in (cycle.start_date - timedelta(days=1), cycle.end_date + timedelta(days=1)):
        with pytest.raises(InvalidInput) as caught:
            services.create_key_result(
                actor=admin,
                objective=objective,
                key="k",
                title="K",
                kind="increase",
                start_value=Decimal(0),
                target_value=Decimal(1),
                due_date=due,
            )
        assert list(caught.value.errors) == ["due_date"]


def test_key_result_owner_must_be_a_member(
    admin: Actor, objective: Objective, outsider: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.create_key_result(
            actor=admin,
            objective=objective,
            key="k",
            title="K",
            kind="increase",
            start_value=Decimal(0),
            target_value=Decimal(1),
            owner=outsider.user,
        )
    assert caught.value.errors == {"owner": ["not a member of this organization"]}


def test_update_key_result_never_sets_the_current_value(
    admin: Actor, key_result: KeyResult, counts: Counts
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.update_key_result(
            actor=admin, key_result=key_result, changes={"current_value": Decimal(150)}
        )
    assert "current_value" in caught.value.errors
    assert counts() == before


def test_update_key_result_refreshes_its_numbers(admin: Actor, key_result: KeyResult) -> None:
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(150))
    updated = services.update_key_result(
        actor=admin,
        key_result=key_result,
        changes={"target_value": Decimal(300)},
        expected_version=key_result.version,
    )
    assert updated.progress == Decimal("0.25")
    objective = Objective.objects.get(pk=key_result.objective_id)
    assert objective.progress == Decimal("0.25")
    event = last_event("keyresult.update")
    assert event.before is not None
    assert event.before["target_value"] == "200.000000"
    assert event.after is not None
    assert event.after["target_value"] == "300"


def test_update_key_result_writes_nothing_on_refusal(
    admin: Actor, key_result: KeyResult, counts: Counts
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.update_key_result(
            actor=admin,
            key_result=key_result,
            changes={"title": "Renamed", "target_value": Decimal(50)},
        )
    assert caught.value.errors == {
        "target_value": ["For an increase key result the target must be above the start."]
    }
    key_result.refresh_from_db()
    assert key_result.title == "signups"
    assert counts() == before


def test_key_result_owner_may_edit_it_but_not_the_objective(
    org: Organization, objective: Objective, key_result: KeyResult
) -> None:
    from tests.okrs.conftest import member_of

    kr_owner = member_of(org, None, "owner-of-kr@acme.test")
    key_result.owner = kr_owner.user
    key_result.save()
    services.update_key_result(actor=kr_owner, key_result=key_result, changes={"unit": "people"})
    with pytest.raises(PermissionDenied):
        services.update_objective(actor=kr_owner, objective=objective, changes={"title": "x"})


def test_archive_and_restore_a_key_result_updates_its_objective(
    admin: Actor, objective: Objective, key_result: KeyResult
) -> None:
    other = factories.make_key_result(objective, "other")
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(200))
    objective.refresh_from_db()
    assert objective.progress == Decimal("0.5")
    services.archive_key_result(actor=admin, key_result=other)
    objective.refresh_from_db()
    assert objective.progress == Decimal(1)
    with pytest.raises(NotFound):
        access_key_result(admin, other.pk)
    services.restore_key_result(actor=admin, key_result=other)
    objective.refresh_from_db()
    assert objective.progress == Decimal("0.5")


def test_services_refuse_another_organizations_rows(
    outsider: Actor, objective: Objective, key_result: KeyResult, cycle: Cycle
) -> None:
    with pytest.raises(NotFound):
        services.update_cycle(actor=outsider, cycle=cycle, changes={"name": "x"})
    with pytest.raises(NotFound):
        services.update_objective(actor=outsider, objective=objective, changes={"title": "x"})
    with pytest.raises(NotFound):
        services.update_key_result(actor=outsider, key_result=key_result, changes={"title": "x"})
    with pytest.raises(NotFound):
        services.record_checkin(actor=outsider, key_result=key_result, value=Decimal(1))
    assert KeyResult.objects.get(pk=key_result.pk).title == "signups"
