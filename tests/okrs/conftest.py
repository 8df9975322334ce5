"""Fixtures for the OKR tests: a cycle around today, teams, members in teams, and helpers to
count rows (a refused write must leave every count unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from milepost.audit.models import AuditEvent
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization, Role, Team
from tests import factories


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Argon2 is deliberately slow; these tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def today(org: Organization) -> date:
    return organization_today(org)


@pytest.fixture
def cycle(org: Organization, today: date) -> Cycle:
    """The active quarter: started 40 days ago, ends in 50 days."""
    return factories.make_cycle(
        org, "q", start_date=today - timedelta(days=40), end_date=today + timedelta(days=50)
    )


@pytest.fixture
def team(org: Organization) -> Team:
    return factories.make_team(org, "growth")


@pytest.fixture
def other_team(org: Organization) -> Team:
    return factories.make_team(org, "platform")


def member_of(org: Organization, team: Team | None, email: str, role: Role = Role.MEMBER) -> Actor:
    user = factories.make_member(org, role, email)
    if team is not None:
        factories.add_to_team(team, user)
    return actor_for(user, org)


@pytest.fixture
def team_member(org: Organization, team: Team) -> Actor:
    """A member of the `team`."""
    return member_of(org, team, "grower@acme.test")


@pytest.fixture
def objective(cycle: Cycle, team: Team) -> Objective:
    return factories.make_objective(cycle, "grow", owner_team=team)


@pytest.fixture
def key_result(objective: Objective) -> KeyResult:
    return factories.make_key_result(
        objective, "signups", start_value=Decimal(100), target_value=Decimal(200)
    )


@pytest.fixture
def counts() -> Callable[[], dict[str, int]]:
    """Counts of every OKR table and the audit log (to prove a refusal wrote nothing)."""

    def counts() -> dict[str, int]:
        return {
            "cycles": Cycle.objects.count(),
            "objectives": Objective.objects.count(),
            "alignments": Alignment.objects.count(),
            "key_results": KeyResult.objects.count(),
            "checkins": CheckIn.objects.count(),
            "audit": AuditEvent.objects.count(),
        }

    return counts
