"""Fixtures for the web tests: a signed-in client per role, a plan to look at."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests.web.builders import Plan, build_plan


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(actor: Actor) -> Client:
    client = Client()
    assert actor.user is not None
    client.force_login(actor.user)
    return client


@pytest.fixture
def plan(org: Organization, member: Actor) -> Plan:
    """A small plan whose team objectives, key results and initiatives `member` owns."""
    assert member.user is not None
    return build_plan(org, member.user, size=2)


@pytest.fixture
def member_client(member: Actor) -> Client:
    return client_for(member)


@pytest.fixture
def viewer_client(viewer: Actor) -> Client:
    return client_for(viewer)


@pytest.fixture
def owner_client(owner: Actor) -> Client:
    return client_for(owner)
