"""Small factories that write rows directly (fast); services are tested through services."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from milepost.accounts.models import User
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.organizations.models import Membership, Organization, Role, Team, TeamMember
from milepost.roadmap.models import Initiative

_seq = itertools.count(1)


def make_user(email: str | None = None, **extra: Any) -> User:
    return User.objects.create_user(
        email or f"user{next(_seq)}@example.test", "correct horse 42", **extra
    )


def make_org(name: str = "Acme", slug: str | None = None, **extra: Any) -> Organization:
    return Organization.objects.create(name=name, slug=slug or f"org{next(_seq)}", **extra)


def make_member(org: Organization, role: Role = Role.MEMBER, email: str | None = None) -> User:
    user = make_user(email)
    Membership.objects.create(organization=org, user=user, role=role)
    return user


def make_team(org: Organization, key: str | None = None, **extra: Any) -> Team:
    key = key or f"team{next(_seq)}"
    return Team.objects.create(
        organization=org, key=key, name=extra.pop("name", key.title()), **extra
    )


def add_to_team(team: Team, user: User) -> None:
    TeamMember.objects.create(organization_id=team.organization_id, team=team, user=user)


def make_cycle(org: Organization, key: str | None = None, **extra: Any) -> Cycle:
    key = key or f"cycle{next(_seq)}"
    extra.setdefault("start_date", date(2026, 10, 1))
    extra.setdefault("end_date", date(2026, 12, 31))
    extra.setdefault("state", "active")
    return Cycle.objects.create(organization=org, key=key, name=extra.pop("name", key), **extra)


def make_objective(cycle: Cycle, key: str | None = None, **extra: Any) -> Objective:
    key = key or f"obj{next(_seq)}"
    extra.setdefault("state", "active")
    return Objective.objects.create(
        organization_id=cycle.organization_id,
        cycle=cycle,
        key=key,
        title=extra.pop("title", key),
        **extra,
    )


def make_key_result(objective: Objective, key: str | None = None, **extra: Any) -> KeyResult:
    key = key or f"kr{next(_seq)}"
    extra.setdefault("start_value", Decimal(0))
    extra.setdefault("target_value", Decimal(100))
    extra.setdefault("current_value", extra["start_value"])
    return KeyResult.objects.create(
        organization_id=objective.organization_id,
        objective=objective,
        key=key,
        title=extra.pop("title", key),
        **extra,
    )


def make_initiative(org: Organization, key: str | None = None, **extra: Any) -> Initiative:
    key = key or f"ini{next(_seq)}"
    extra.setdefault("status", "planned")
    return Initiative.objects.create(
        organization=org, key=key, title=extra.pop("title", key), **extra
    )


# --- roadmap and work (appended by the roadmap/work services) ------------------------------

from milepost.roadmap.models import Dependency, Milestone  # noqa: E402
from milepost.work.models import Task, TimeEntry  # noqa: E402


def make_milestone(org: Organization, key: str | None = None, **extra: Any) -> Milestone:
    key = key or f"ms{next(_seq)}"
    extra.setdefault("date", date(2026, 11, 1))
    return Milestone.objects.create(organization=org, key=key, name=extra.pop("name", key), **extra)


def make_dependency(
    predecessor: Initiative | Milestone, successor: Initiative | Milestone, **extra: Any
) -> Dependency:
    """A dependency between two initiatives or milestones (any mix)."""
    p_end = "milestone" if isinstance(predecessor, Milestone) else "initiative"
    s_end = "milestone" if isinstance(successor, Milestone) else "initiative"
    ends = {f"predecessor_{p_end}": predecessor, f"successor_{s_end}": successor}
    return Dependency.objects.create(organization_id=predecessor.organization_id, **ends, **extra)


def make_task(initiative: Initiative, title: str | None = None, **extra: Any) -> Task:
    return Task.objects.create(
        organization_id=initiative.organization_id,
        initiative=initiative,
        title=title or f"task{next(_seq)}",
        **extra,
    )


def make_time_entry(task: Task, user: User, hours: Decimal = Decimal(1), **extra: Any) -> TimeEntry:
    extra.setdefault("date", date(2026, 11, 2))
    return TimeEntry.objects.create(
        organization_id=task.organization_id,
        task=task,
        initiative_id=task.initiative_id,
        user=user,
        hours=hours,
        **extra,
    )
