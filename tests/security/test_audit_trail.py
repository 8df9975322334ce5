"""Every change of a value, a target, an owner, a role or a membership is in the audit log with
its actor, the state before and the state after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, PermissionDenied
from milepost.okrs import services as okrs
from milepost.organizations import services as orgs
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization, Role
from milepost.roadmap import services as roadmap
from milepost.work import services as work
from tests import factories
from tests.web.builders import Plan, build_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(org: Organization, owner: Actor) -> Plan:
    assert owner.user is not None
    return build_plan(org, owner.user, size=1)


def last_event(action: str, target_id: int) -> AuditEvent:
    return AuditEvent.objects.filter(action=action, target_id=target_id).latest("id")


def assert_change(event: AuditEvent, actor: Actor, field: str, old: Any, new: Any) -> None:
    assert event.actor_id == actor.user_id
    assert event.actor_label == actor.label
    assert event.before is not None
    assert event.after is not None
    assert event.before[field] == old
    assert event.after[field] == new


def test_a_checkin_records_the_value_before_and_after(plan: Plan, owner: Actor) -> None:
    kr = plan.key_result
    old = str(kr.current_value)
    checkin = okrs.record_checkin(actor=owner, key_result=kr, value=Decimal(77))
    event = last_event("checkin.record", checkin.pk)
    assert_change(event, owner, "current_value", old, "77.000000")
    correction = okrs.correct_checkin(actor=owner, checkin=checkin, value=Decimal(66))
    event = last_event("checkin.correct", correction.pk)
    assert event.actor_id == owner.user_id
    assert event.before is not None
    assert event.after is not None
    assert Decimal(event.after["value"]) == 66
    assert event.after["corrects_id"] == checkin.pk


def test_a_target_change_is_audited(plan: Plan, owner: Actor) -> None:
    kr = plan.key_result
    okrs.update_key_result(actor=owner, key_result=kr, changes={"target_value": Decimal(250)})
    event = last_event("keyresult.update", kr.pk)
    assert_change(event, owner, "target_value", "100.000000", "250")


def test_owner_changes_are_audited(plan: Plan, owner: Actor, org: Organization) -> None:
    other = factories.make_member(org, Role.MEMBER, "new-owner@acme.test")
    kr, objective, initiative = plan.key_result, plan.objective, plan.initiative
    previous = kr.owner_id
    okrs.update_key_result(actor=owner, key_result=kr, changes={"owner": other})
    assert_change(last_event("keyresult.update", kr.pk), owner, "owner_id", previous, other.pk)
    previous = objective.owner_user_id
    okrs.update_objective(actor=owner, objective=objective, changes={"owner_user": other})
    assert_change(
        last_event("objective.update", objective.pk), owner, "owner_user_id", previous, other.pk
    )
    previous = initiative.owner_id
    roadmap.update_initiative(actor=owner, initiative=initiative, changes={"owner": other})
    assert_change(
        last_event("initiative.update", initiative.pk), owner, "owner_id", previous, other.pk
    )
    task = initiative.tasks.order_by("pk")[0]
    previous = task.assignee_id
    work.update_task(actor=owner, task=task, changes={"assignee": other})
    assert_change(last_event("task.update", task.pk), owner, "assignee_id", previous, other.pk)


def test_role_and_membership_changes_are_audited(owner: Actor, org: Organization) -> None:
    person = factories.make_user("joiner@acme.test")
    membership = orgs.add_member(actor=owner, user=person, role=Role.VIEWER)
    event = last_event("membership.create", membership.pk)
    assert event.actor_id == owner.user_id
    assert event.before is None  # it did not exist
    assert event.after is not None
    assert event.after["role"] == "viewer"
    assert event.after["user_id"] == person.pk
    orgs.change_role(actor=owner, membership=membership, role=Role.ADMIN)
    assert_change(last_event("membership.role", membership.pk), owner, "role", "viewer", "admin")
    orgs.remove_member(actor=owner, membership=Membership.objects.get(pk=membership.pk))
    event = last_event("membership.archive", membership.pk)
    assert event.actor_id == owner.user_id
    assert event.before == {"archived_at": None}
    assert event.after is not None
    assert event.after["archived_at"] is not None
    orgs.add_member(actor=owner, user=person, role=Role.MEMBER)  # a former member comes back
    event = last_event("membership.restore", membership.pk)
    assert event.after == {"archived_at": None}
    assert_change(last_event("membership.update", membership.pk), owner, "role", "admin", "member")


def test_adding_many_members_at_once_is_audited_as_adding_each(
    owner: Actor, org: Organization, member: Actor
) -> None:
    one = factories.make_user("one@acme.test")
    former = factories.make_user("former@acme.test")
    orgs.remove_member(actor=owner, membership=orgs.add_member(actor=owner, user=former))
    before = Membership.objects.count()

    added = orgs.add_members(actor=owner, users=[one, former], role=Role.VIEWER)

    assert [m.user_id for m in added] == [one.pk, former.pk]
    assert Membership.objects.count() == before + 1  # the former member's row comes back
    assert {m.role for m in Membership.objects.filter(pk__in=[m.pk for m in added])} == {"viewer"}
    event = last_event("membership.create", added[0].pk)
    assert event.actor_id == owner.user_id
    assert event.after is not None
    assert event.after["user_id"] == one.pk
    assert event.after["role"] == "viewer"
    assert last_event("membership.restore", added[1].pk).after == {"archived_at": None}


def test_adding_many_members_takes_the_same_queries_for_two_or_twenty(owner: Actor) -> None:
    # An import adds 20,000 people at once: no query per person (the audit event's name of
    # each membership once read its organization row).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_add(count: int, prefix: str) -> int:
        users = [factories.make_user(f"{prefix}{i}@acme.test") for i in range(count)]
        with CaptureQueriesContext(connection) as ctx:
            orgs.add_members(actor=owner, users=users)
        return len(ctx.captured_queries)

    assert queries_to_add(20, "many") == queries_to_add(2, "few")


def test_adding_many_members_refuses_a_current_member_and_adds_none(
    owner: Actor, org: Organization, member: Actor
) -> None:
    newcomer = factories.make_user("newcomer@acme.test")
    current = member.user
    assert current is not None
    before = (Membership.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Conflict):
        orgs.add_members(actor=owner, users=[newcomer, current])
    assert (Membership.objects.count(), AuditEvent.objects.count()) == before
    with pytest.raises(PermissionDenied):
        orgs.add_members(actor=member, users=[newcomer])


def test_team_membership_changes_are_audited(plan: Plan, owner: Actor, org: Organization) -> None:
    person = factories.make_member(org, Role.MEMBER, "teammate@acme.test")
    link = orgs.add_team_member(actor=owner, team=plan.team, user=person)
    event = last_event("team.add_member", link.pk)
    assert event.actor_id == owner.user_id
    assert event.after is not None
    assert event.after["user_id"] == person.pk
    orgs.remove_team_member(actor=owner, team=plan.team, user=person)
    event = last_event("team.remove_member", plan.team.pk)
    assert event.actor_id == owner.user_id
    assert event.before == {"user": person.pk}


def test_organization_settings_changes_are_audited(owner: Actor, org: Organization) -> None:
    orgs.update_organization_settings(actor=owner, changes={"on_track_gap": Decimal("0.05")})
    assert_change(last_event("organization.update", org.pk), owner, "on_track_gap", "0.100", "0.05")
