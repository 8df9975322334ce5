"""A small but complete organization for the API sweeps: one of everything the API serves,
built through the services (so stored progress and audit events are real), plus archived
copies for the restore operations and people for every role.

Roles: ``owner``, ``admin``, ``member`` (in team ``core``, owns the key result and the
task, logged the time entry), ``other`` (a member of no team, owns nothing), ``viewer``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from milepost.accounts.models import User
from milepost.okrs import services as okrs
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Retrospective
from milepost.organizations import services as orgs
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Membership, Organization, Role
from milepost.roadmap import services as roadmap
from milepost.work import services as work
from tests import factories
from tests.api.conftest import token_for

ROLES = ("viewer", "member", "other", "admin", "owner")


@dataclass
class World:
    org: Organization
    users: dict[str, User]
    tokens: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    today: dt.date = dt.date(2026, 1, 1)

    @property
    def slug(self) -> str:
        return self.org.slug


def build_world(name: str, slug: str) -> World:
    org = factories.make_org(name, slug)
    system = system_actor(org)
    users = {role: factories.make_member(org, _role(role), f"{role}@{slug}.test") for role in ROLES}
    # Someone to add to a team, and a member to change the role of / remove.
    spare = factories.make_member(org, Role.MEMBER, f"spare@{slug}.test")
    today = organization_today(org)
    w = World(org=org, users=users, tokens={}, today=today)

    core = orgs.create_team(
        actor=system, key="core", name="Core", capacity_days_per_week=Decimal(10)
    )
    orgs.add_team_member(actor=system, team=core, user=users["member"])
    edge = orgs.create_team(actor=system, key="edge", name="Edge", parent=core)
    old_team = orgs.create_team(actor=system, key="old-team", name="Old team")
    orgs.archive_team(actor=system, team=old_team)

    cycle = okrs.create_cycle(
        actor=system,
        key="q",
        name="This quarter",
        start_date=today - dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=60),
    )
    old_cycle = okrs.create_cycle(
        actor=system,
        key="old",
        name="Archived",
        start_date=today - dt.timedelta(days=400),
        end_date=today - dt.timedelta(days=310),
    )
    okrs.archive_cycle(actor=system, cycle=old_cycle)
    # One cycle in each state the transitions start from (none has objectives).
    planned = okrs.create_cycle(
        actor=system,
        key="next",
        name="Next",
        start_date=today + dt.timedelta(days=61),
        end_date=today + dt.timedelta(days=150),
    )
    running = okrs.create_cycle(
        actor=system,
        key="side",
        name="Side",
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=10),
    )
    okrs.activate_cycle(actor=system, cycle=running)
    done = okrs.create_cycle(
        actor=system,
        key="last",
        name="Last",
        start_date=today - dt.timedelta(days=200),
        end_date=today - dt.timedelta(days=100),
    )
    okrs.activate_cycle(actor=system, cycle=done)
    okrs.close_cycle(actor=system, cycle=done)

    parent = okrs.create_objective(
        actor=system,
        cycle=cycle,
        key="company",
        title="Company goal",
        owner_user=users["admin"],
        state="active",
    )
    objective = okrs.create_objective(
        actor=system,
        cycle=cycle,
        key="core-goal",
        title="Core goal",
        owner_team=core,
        state="active",
    )
    spare_objective = okrs.create_objective(
        actor=system,
        cycle=cycle,
        key="core-spare",
        title="Core spare",
        owner_team=core,
        state="active",
    )
    private = okrs.create_objective(
        actor=system,
        cycle=cycle,
        key="secret",
        title="Secret plan",
        owner_user=users["admin"],
        visibility="private",
        state="active",
    )
    archived_objective = okrs.create_objective(
        actor=system, cycle=cycle, key="core-old", title="Old core goal", owner_team=core
    )
    okrs.archive_objective(actor=system, objective=archived_objective)
    alignment = okrs.align_objective(actor=system, child=objective, parent_objective=parent)
    okrs.align_objective(actor=system, child=private, parent_objective=parent)

    kr = okrs.create_key_result(
        actor=system,
        objective=objective,
        key="signups",
        title="Sign-ups from 0 to 100",
        kind="increase",
        start_value=Decimal(0),
        target_value=Decimal(100),
        owner=users["member"],
    )
    kr_parent = okrs.create_key_result(
        actor=system,
        objective=parent,
        key="revenue",
        title="Revenue",
        kind="increase",
        start_value=Decimal(0),
        target_value=Decimal(10),
        owner=users["admin"],
    )
    kr_archived = okrs.create_key_result(
        actor=system,
        objective=objective,
        key="old-kr",
        title="Old KR",
        kind="binary",
        start_value=Decimal(0),
        target_value=Decimal(1),
        owner=users["member"],
    )
    okrs.archive_key_result(actor=system, key_result=kr_archived)
    checkin = okrs.record_checkin(actor=system, key_result=kr, value=Decimal(20), confidence=7)

    initiative = roadmap.create_initiative(
        actor=system,
        key="launch",
        title="Launch",
        team=core,
        cycle=cycle,
        status="planned",
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=20),
        effort_days=Decimal(5),
    )
    other_initiative = roadmap.create_initiative(
        actor=system,
        key="followup",
        title="Follow-up",
        team=edge,
        cycle=cycle,
        status="planned",
        start_date=today + dt.timedelta(days=21),
        end_date=today + dt.timedelta(days=40),
    )
    archived_initiative = roadmap.create_initiative(
        actor=system, key="shelved", title="Shelved", team=core, cycle=cycle
    )
    roadmap.archive_initiative(actor=system, initiative=archived_initiative)
    link = roadmap.link_initiative(actor=system, initiative=initiative, key_result=kr)
    milestone = roadmap.create_milestone(
        actor=system,
        key="beta",
        name="Beta",
        date=today + dt.timedelta(days=5),
        initiative=initiative,
    )
    archived_milestone = roadmap.create_milestone(
        actor=system, key="alpha", name="Alpha", date=today, initiative=initiative
    )
    roadmap.archive_milestone(actor=system, milestone=archived_milestone)
    dependency = roadmap.add_dependency(
        actor=system, predecessor=initiative, successor=other_initiative
    )

    task = work.create_task(
        actor=system, initiative=initiative, title="Write the page", assignee=users["member"]
    )
    archived_task = work.create_task(actor=system, initiative=initiative, title="Old task")
    work.archive_task(actor=system, task=archived_task)
    member_actor = _actor(org, users["member"])
    entry = work.log_time(actor=member_actor, task=task, date=today, hours=Decimal(2))
    archived_entry = work.log_time(actor=member_actor, task=task, date=today, hours=Decimal(1))
    work.archive_time_entry(actor=member_actor, entry=archived_entry)

    okrs.activate_cycle(actor=system, cycle=cycle)
    retrospective = Retrospective.objects.create(
        organization=org, cycle=cycle, objective=objective, score=Decimal("0.5"), grade="partial"
    )

    w.ids = {
        "team": core.pk,
        "team_other": edge.pk,
        "team_archived": old_team.pk,
        "cycle": cycle.pk,
        "cycle_archived": old_cycle.pk,
        "cycle_planning": planned.pk,
        "cycle_active": running.pk,
        "cycle_closed": done.pk,
        "objective": objective.pk,
        "objective_spare": spare_objective.pk,
        "objective_parent": parent.pk,
        "objective_private": private.pk,
        "objective_archived": archived_objective.pk,
        "alignment": alignment.pk,
        "key_result": kr.pk,
        "key_result_parent": kr_parent.pk,
        "key_result_archived": kr_archived.pk,
        "checkin": checkin.pk,
        "initiative": initiative.pk,
        "initiative_other": other_initiative.pk,
        "initiative_archived": archived_initiative.pk,
        "link": link.pk,
        "milestone": milestone.pk,
        "milestone_archived": archived_milestone.pk,
        "dependency": dependency.pk,
        "task": task.pk,
        "task_archived": archived_task.pk,
        "time_entry": entry.pk,
        "time_entry_archived": archived_entry.pk,
        "retrospective": retrospective.pk,
        "membership": Membership.objects.get(organization=org, user=spare).pk,
        "user_member": users["member"].pk,
        "user_spare": spare.pk,
    }
    w.tokens = {role: token_for(org, user) for role, user in users.items()}
    return w


def _role(name: str) -> Role:
    return {"other": Role.MEMBER}.get(name) or Role(name)


def _actor(org: Organization, user: User) -> Actor:
    from milepost.organizations.access import actor_for

    return actor_for(user, org)


def missing_ids(world: World) -> dict[str, int]:
    """The same names, each bound to an id that exists nowhere (for the no-leak check)."""
    return dict.fromkeys(world.ids, 987_654_321)


def dump_organization(org: Organization) -> dict[str, Any]:
    """Every row the organization owns, by model, as plain values (for before/after
    comparisons: an API call refused for another organization must change nothing)."""
    from django.apps import apps

    from milepost.audit.models import AuditEvent

    dump: dict[str, Any] = {}
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        if model is AuditEvent or "organization" not in names:
            continue
        rows = model._default_manager.filter(organization=org).order_by("pk").values()
        dump[model._meta.label] = [
            {k: v for k, v in row.items() if k != "last_used_at"} for row in rows
        ]
    dump["audit"] = AuditEvent.objects.filter(organization=org).count()
    dump["organization"] = list(Organization.objects.filter(pk=org.pk).values())
    return dump
