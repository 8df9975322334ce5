"""Fixtures for the roadmap and work service tests (tests/work imports them from here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import models

from milepost.audit.models import AuditEvent
from milepost.okrs.models import Cycle, KeyResult
from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization, Role, Team
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TimeEntry
from tests import factories

WRITABLE: tuple[type[models.Model], ...] = (
    Initiative,
    InitiativeKeyResult,
    Milestone,
    Dependency,
    Task,
    TimeEntry,
    AuditEvent,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Argon2 is deliberately slow; these tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(org: Organization) -> Team:
    return factories.make_team(org, "web", capacity_days_per_week=10)


@pytest.fixture
def cycle(org: Organization) -> Cycle:
    return factories.make_cycle(org, "q4")


@pytest.fixture
def key_result(cycle: Cycle) -> KeyResult:
    objective = factories.make_objective(cycle, "grow")
    return factories.make_key_result(objective, "visits")


@pytest.fixture
def milestones_kr(cycle: Cycle) -> KeyResult:
    objective = factories.make_objective(cycle, "ship")
    return factories.make_key_result(
        objective, "launches", kind="milestones", start_value=0, target_value=1
    )


@pytest.fixture
def team_member(org: Organization, team: Team) -> Actor:
    """A member in the team `team`."""
    user = factories.make_member(org, Role.MEMBER, "teammate@acme.test")
    factories.add_to_team(team, user)
    return actor_for(user, org)


@pytest.fixture
def initiative(org: Organization, team: Team, cycle: Cycle) -> Initiative:
    return factories.make_initiative(
        org,
        "checkout",
        team=team,
        cycle=cycle,
        start_date=cycle.start_date,
        end_date=cycle.end_date,
    )


@pytest.fixture
def row_counts() -> Callable[[], dict[str, int]]:
    """Counts of every row the roadmap and work services write (audit events included)."""

    def counts() -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in WRITABLE}  # type: ignore[attr-defined]

    return counts
