"""The REST side: a key result's data-source status, and values pushed by a script with a
token scoped to the key result (the documented curl call)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from milepost.accounts.services import create_api_token
from milepost.integrations.models import AllowedHost, DataSource
from milepost.okrs.models import CheckIn, KeyResult
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Organization
from tests import factories

pytestmark = pytest.mark.django_db


def _token(
    org: Organization, actor: Actor, key_result: KeyResult | None = None, role: str = "member"
) -> str:
    assert actor.user is not None
    _, secret = create_api_token(
        actor=system_actor(org), user=actor.user, name="t", role=role, key_result=key_result
    )
    return secret


def test_data_source_status(
    org: Organization, kr_owner: Actor, viewer: Actor, key_result: KeyResult, allowed: AllowedHost
) -> None:
    url = f"/api/v1/orgs/acme/key-results/{key_result.pk}/data-source"
    headers = {"Authorization": f"Bearer {_token(org, viewer, role='viewer')}"}
    none = Client().get(url, headers=headers)
    assert none.status_code == 200
    assert none.json()["configured"] is False
    DataSource.objects.create(
        organization=org,
        key_result=key_result,
        kind="http_json",
        url="http://127.0.0.1:9/metrics?api_key=hidden",
        json_path="$.x",
        last_status="failed",
        last_error="timed out after 10 s",
        last_run_at=timezone.now(),
        consecutive_failures=3,
    )
    body = Client().get(url, headers=headers).json()
    assert body["configured"] is True
    assert body["last_status"] == "failed"
    assert body["last_error"] == "timed out after 10 s"
    assert body["consecutive_failures"] == 3
    assert body["target"] == "http://127.0.0.1:9/metrics"  # no query string (it may hold a key)
    other = factories.make_org("Globex", "globex")
    stranger = Client().get(
        f"/api/v1/orgs/globex/key-results/{key_result.pk}/data-source",
        headers={"Authorization": f"Bearer {_token(other, _owner_of(other))}"},
    )
    assert stranger.status_code == 404


def _owner_of(org: Organization) -> Actor:
    from milepost.organizations.access import actor_for
    from milepost.organizations.models import Role

    return actor_for(factories.make_member(org, Role.OWNER), org)


def test_push_a_value_with_a_key_result_token(
    org: Organization, kr_owner: Actor, key_result: KeyResult
) -> None:
    secret = _token(org, kr_owner, key_result)
    client = Client()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "ci-run-481"}
    url = f"/api/v1/orgs/acme/key-results/{key_result.pk}/check-ins"
    first = client.post(url, b'{"value": 42}', content_type="application/json", headers=headers)
    assert first.status_code == 201, first.content
    again = client.post(url, b'{"value": 42}', content_type="application/json", headers=headers)
    assert again.status_code == 200  # a retried job records its value once
    assert CheckIn.objects.get(key_result=key_result).value == Decimal(42)
    status = client.get(f"{url.removesuffix('/check-ins')}/data-source", headers=headers)
    assert status.status_code == 200
    assert client.get("/api/v1/orgs/acme/objectives", headers=headers).status_code == 403
