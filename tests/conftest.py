"""Shared fixtures. Factories live in tests/factories.py."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization, Role
from milepost.reports import snapshot
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: sign-in throttles, rate limits and locks counted
    by an earlier test in the same process must not decide this one; and without kept plan
    evaluations (tests write rows directly, not always through the services whose audit
    events tell a kept evaluation that the plan changed)."""
    cache.clear()
    snapshot.clear()


@pytest.fixture
def org(db: None) -> Organization:
    return factories.make_org("Acme", "acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return factories.make_org("Globex", "globex")


@pytest.fixture
def owner(org: Organization) -> Actor:
    user = factories.make_member(org, Role.OWNER, "owner@acme.test")
    return actor_for(user, org)


@pytest.fixture
def admin(org: Organization) -> Actor:
    return actor_for(factories.make_member(org, Role.ADMIN, "admin@acme.test"), org)


@pytest.fixture
def member(org: Organization) -> Actor:
    return actor_for(factories.make_member(org, Role.MEMBER, "member@acme.test"), org)


@pytest.fixture
def viewer(org: Organization) -> Actor:
    return actor_for(factories.make_member(org, Role.VIEWER, "viewer@acme.test"), org)


@pytest.fixture
def outsider(other_org: Organization) -> Actor:
    return actor_for(factories.make_member(other_org, Role.OWNER, "owner@globex.test"), other_org)
