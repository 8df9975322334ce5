"""API tokens (stored hashed, expiring, revocable, role-capped, optionally scoped to one key
result), the web session with CSRF, and the `milepost token` command."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from milepost.accounts.models import ApiToken, hash_token
from milepost.accounts.services import create_api_token, revoke_api_token
from milepost.audit.models import AuditEvent
from milepost.cli import main
from milepost.errors import InvalidInput, PermissionDenied
from milepost.organizations.access import actor_for, system_actor
from milepost.organizations.models import Organization, Role
from tests import factories
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db


def _get(secret: str, path: str = "/api/v1/orgs/acme") -> int:
    return Client().get(path, headers={"Authorization": f"Bearer {secret}"}).status_code


def test_token_is_stored_hashed_and_audited(org: Organization) -> None:
    user = factories.make_member(org, Role.MEMBER)
    token, secret = create_api_token(actor=system_actor(org), user=user, name="ci", role="viewer")
    assert secret.startswith("mp_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(secret)
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    event = AuditEvent.objects.get(action="apitoken.create")
    assert secret not in str(event.after)
    assert stored.token_hash not in str(event.after)
    assert _get(secret) == 200


def test_token_role_is_capped_and_never_above_the_user(org: Organization) -> None:
    user = factories.make_member(org, Role.MEMBER)
    with pytest.raises(InvalidInput):
        create_api_token(actor=system_actor(org), user=user, name="x", role="admin")
    admin = factories.make_member(org, Role.ADMIN)
    viewer_token = token_for(org, admin, "viewer")
    team = factories.make_team(org)
    response = Client().patch(
        f"/api/v1/orgs/acme/teams/{team.pk}",
        b'{"name": "X"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {viewer_token}", "If-Match": "*"},
    )
    assert response.status_code == 403  # an admin's viewer token acts as a viewer
    # Demoting the user lowers what their stronger token can do, too.
    admin_token = token_for(org, admin, "admin")
    from milepost.organizations.models import Membership

    Membership.objects.filter(organization=org, user=admin).update(role="viewer")
    assert (
        Client()
        .get("/api/v1/orgs/acme", headers={"Authorization": f"Bearer {admin_token}"})
        .json()["your_role"]
        == "viewer"
    )


def test_only_the_user_or_an_owner_creates_tokens(org: Organization) -> None:
    alice = factories.make_member(org, Role.ADMIN)
    bob = factories.make_member(org, Role.MEMBER)
    with pytest.raises(PermissionDenied):
        create_api_token(actor=actor_for(alice, org), user=bob, name="x", role="viewer")
    create_api_token(actor=actor_for(bob, org), user=bob, name="mine", role="member")


def test_expired_and_revoked_tokens_are_refused(org: Organization) -> None:
    user = factories.make_member(org, Role.MEMBER)
    soon = timezone.now() + dt.timedelta(seconds=30)
    token, secret = create_api_token(
        actor=system_actor(org), user=user, name="x", role="member", expires_at=soon
    )
    assert _get(secret) == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _get(secret) == 401
    other, other_secret = create_api_token(
        actor=system_actor(org), user=user, name="y", role="member"
    )
    revoke_api_token(actor=actor_for(user, org), token=other)
    assert _get(other_secret) == 401
    with pytest.raises(InvalidInput):
        create_api_token(
            actor=system_actor(org),
            user=user,
            name="z",
            role="member",
            expires_at=timezone.now() - dt.timedelta(days=1),
        )


def test_token_of_a_removed_member_is_refused(org: Organization) -> None:
    user = factories.make_member(org, Role.MEMBER)
    secret = token_for(org, user)
    from milepost.organizations.models import Membership

    Membership.objects.filter(organization=org, user=user).update(archived_at=timezone.now())
    assert _get(secret) == 404  # no longer a member: the organization is not found


def test_key_result_scoped_token(org: Organization) -> None:
    cycle = factories.make_cycle(
        org,
        start_date=timezone.now().date() - dt.timedelta(days=5),
        end_date=timezone.now().date() + dt.timedelta(days=50),
    )
    objective = factories.make_objective(cycle)
    user = factories.make_member(org, Role.MEMBER)
    kr = factories.make_key_result(objective, owner=user)
    other_kr = factories.make_key_result(objective, owner=user)
    _, secret = create_api_token(
        actor=system_actor(org), user=user, name="cron", role="member", key_result=kr
    )
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}
    ok = client.post(
        f"/api/v1/orgs/acme/key-results/{kr.pk}/check-ins",
        b'{"value": 5}',
        content_type="application/json",
        headers=headers,
    )
    assert ok.status_code == 201, ok.content
    assert (
        client.get(f"/api/v1/orgs/acme/key-results/{kr.pk}/check-ins", headers=headers).status_code
        == 200
    )
    other = client.post(
        f"/api/v1/orgs/acme/key-results/{other_kr.pk}/check-ins",
        b'{"value": 5}',
        content_type="application/json",
        headers=headers,
    )
    assert other.status_code == 404
    assert client.get("/api/v1/orgs/acme/objectives", headers=headers).status_code == 403


def _push(secret: str | None, kr_id: int, body: bytes, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if key:
        headers["Idempotency-Key"] = key
    return Client().post(
        f"/api/v1/key-results/{kr_id}/check-ins",
        body,
        content_type="application/json",
        headers=headers,
    )


def _problem(response: Any) -> dict[str, Any]:
    body = response.json()
    return {k: body.get(k) for k in ("type", "title", "status", "detail", "errors")}


def test_push_endpoint_without_the_organization_in_the_url(
    org: Organization, other_org: Organization
) -> None:
    today = timezone.now().date()
    cycle = factories.make_cycle(
        org, start_date=today - dt.timedelta(days=5), end_date=today + dt.timedelta(days=50)
    )
    objective = factories.make_objective(cycle)
    user = factories.make_member(org, Role.MEMBER)
    kr = factories.make_key_result(objective, owner=user)
    other_kr = factories.make_key_result(objective, owner=user)
    _, scoped = create_api_token(
        actor=system_actor(org), user=user, name="cron", role="member", key_result=kr
    )
    # The scoped token records its key result's value; a retry with the same key writes nothing.
    first = _push(scoped, kr.pk, b'{"value": 5, "confidence": 7}', key="build-41")
    assert first.status_code == 201, first.content
    assert first.json()["source"] == "api"
    again = _push(scoped, kr.pk, b'{"value": 5, "confidence": 7}', key="build-41")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    reused = _push(scoped, kr.pk, b'{"value": 6, "confidence": 7}', key="build-41")
    assert reused.status_code == 409
    assert "Idempotency-Key" in reused.json()["errors"]
    assert kr.checkins.count() == 1
    # ...and nothing else: another key result of its organization is not found.
    assert _push(scoped, other_kr.pk, b'{"value": 5}').status_code == 404
    # An unscoped token of the organization whose role may check in works on any of them.
    _, unscoped = create_api_token(actor=system_actor(org), user=user, name="ci", role="member")
    assert _push(unscoped, other_kr.pk, b'{"value": 8}').status_code == 201
    viewer = factories.make_member(org, Role.VIEWER)
    _, read_only = create_api_token(actor=system_actor(org), user=viewer, name="r", role="viewer")
    assert _push(read_only, kr.pk, b'{"value": 8}').status_code == 403
    # Another organization's token: the key result is not found, word for word as an id that
    # exists nowhere.
    outsider = factories.make_member(other_org, Role.OWNER)
    _, foreign = create_api_token(
        actor=system_actor(other_org), user=outsider, name="x", role="admin"
    )
    theirs = _push(foreign, kr.pk, b'{"value": 9}')
    assert theirs.status_code == 404
    assert _problem(theirs) == _problem(_push(foreign, 10**9, b'{"value": 9}'))
    # Bad input is the same problem JSON as the organization's URL answers.
    invalid = _push(scoped, kr.pk, b'{"value": "lots"}')
    assert invalid.status_code == 422
    assert invalid["Content-Type"] == "application/problem+json"
    # A token only: no credentials, or a web session, is 401.
    assert _push(None, kr.pk, b'{"value": 9}').status_code == 401
    browser = Client()
    browser.force_login(user)
    session = browser.post(
        f"/api/v1/key-results/{kr.pk}/check-ins", b'{"value": 9}', content_type="application/json"
    )
    assert session.status_code == 401
    assert kr.checkins.count() == 1
    assert other_kr.checkins.count() == 1


def test_session_auth_needs_csrf_on_writes(api_admin: Api) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(api_admin.user)
    assert client.get("/api/v1/orgs/acme").status_code == 200
    refused = client.post(
        "/api/v1/orgs/acme/teams", b'{"key": "t", "name": "T"}', content_type="application/json"
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # A 32-character secret in the cookie, sent back in the header, is a valid CSRF pair.
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        "/api/v1/orgs/acme/teams",
        b'{"key": "t", "name": "T"}',
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )
    assert accepted.status_code == 201, accepted.content


def test_session_of_a_non_member_is_404(other_org: Organization, api_admin: Api) -> None:
    stranger = factories.make_member(other_org, Role.OWNER)
    client = Client()
    client.force_login(stranger)
    assert client.get("/api/v1/orgs/acme").status_code == 404


def test_cli_token_create_prints_the_secret_once(
    org: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    user = factories.make_member(org, Role.ADMIN, "ada@acme.test")
    assert (
        main(
            [
                "token",
                "create",
                "--user",
                "ada@acme.test",
                "--org",
                "acme",
                "--role",
                "viewer",
                "--name",
                "ci",
                "--expires-days",
                "30",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("mp_")
    assert "shown once" in out.err
    token = ApiToken.objects.get(user=user)
    assert token.role == "viewer"
    assert token.name == "ci"
    assert token.expires_at is not None
    assert _get(secret) == 200
    # Default role: member, capped at the person's role.
    viewer = factories.make_member(org, Role.VIEWER, "vic@acme.test")
    assert main(["token", "create", "--user", "vic@acme.test", "--org", "acme"]) == 0
    assert ApiToken.objects.get(user=viewer).role == "viewer"
    capsys.readouterr()
    assert main(["token", "list", "--org", "acme"]) == 0
    assert secret not in capsys.readouterr().out
    assert main(["token", "revoke", "--org", "acme", str(token.pk)]) == 0
    assert _get(secret) == 401
    # Refusals are one line and a non-zero exit.
    assert (
        main(["token", "create", "--user", "vic@acme.test", "--org", "acme", "--role", "admin"])
        == 3
    )
    assert main(["token", "create", "--user", "nobody@acme.test", "--org", "acme"]) == 2
    assert "no user" in capsys.readouterr().err
