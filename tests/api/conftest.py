"""Fixtures for API tests: token-authenticated clients per role and organization."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.test import Client

from milepost.accounts.models import User
from milepost.accounts.services import create_api_token
from milepost.organizations.access import system_actor
from milepost.organizations.models import Organization, Role
from tests import factories


@pytest.fixture(autouse=True)
def _api_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.api.urls"
    # Argon2 is deliberately slow; these tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # Rate-limit counters live in the (process-wide) cache; each test starts clean.
    cache.clear()
    yield
    cache.clear()


@dataclass
class Api:
    """A client of one organization's API, authenticated with one token."""

    client: Client
    org: Organization
    user: User
    secret: str

    @property
    def base(self) -> str:
        return f"/api/v1/orgs/{self.org.slug}"

    def url(self, path: str) -> str:
        if path.startswith("/api/"):
            return path
        return self.base + path

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", **(headers or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(self.url(path), params or {}, headers=self._headers(headers))

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        data = orjson.dumps(body) if body is not None else b""
        return self.client.generic(
            method.upper(),
            self.url(path),
            data,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.request("POST", path, body if body is not None else {}, headers)

    def patch(self, path: str, body: Any, if_match: str | None = "*", **headers: str) -> Any:
        if if_match is not None:
            headers["If-Match"] = if_match
        return self.request("PATCH", path, body, headers)

    def delete(self, path: str, if_match: str | None = "*", **headers: str) -> Any:
        if if_match is not None:
            headers["If-Match"] = if_match
        return self.request("DELETE", path, None, headers)


def token_for(org: Organization, user: User, role: Role | str | None = None, **extra: Any) -> str:
    """A fresh API token secret for `user` in `org` (role defaults to the user's)."""
    from milepost.organizations.models import Membership

    if role is None:
        role = Membership.objects.get(organization=org, user=user).role
    _, secret = create_api_token(
        actor=system_actor(org), user=user, name="test", role=role, **extra
    )
    return secret


def api_as(org: Organization, role: Role, email: str | None = None) -> Api:
    user = factories.make_member(org, role, email)
    return Api(Client(), org, user, token_for(org, user))


@pytest.fixture(scope="module")
def shared_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """One `tests.api.world.World` for a whole module, built once in a transaction that is
    rolled back at the end; each test runs in a savepoint inside it (pytest-django's `db`),
    so what one test writes is gone before the next."""
    from django.db import transaction
    from django.test import override_settings

    from tests.api.world import build_world

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world("Acme", "acme")
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def world(shared_world: Any, db: None) -> Any:
    """The module's shared world, inside this test's savepoint."""
    return shared_world


@pytest.fixture
def api_owner(org: Organization) -> Api:
    return api_as(org, Role.OWNER)


@pytest.fixture
def api_admin(org: Organization) -> Api:
    return api_as(org, Role.ADMIN)


@pytest.fixture
def api_member(org: Organization) -> Api:
    return api_as(org, Role.MEMBER)


@pytest.fixture
def api_viewer(org: Organization) -> Api:
    return api_as(org, Role.VIEWER)


@pytest.fixture
def api_other(other_org: Organization) -> Api:
    """An owner of another organization."""
    return api_as(other_org, Role.OWNER)
