"""The integrations pages: admins manage hosts, databases and webhooks; a key result's page
shows its data source; whoever may change the key result configures it and runs it now."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from milepost.accounts.models import ApiToken
from milepost.integrations.models import (
    AllowedHost,
    DatabaseConnection,
    DataSource,
    SubscriptionState,
    WebhookDelivery,
    WebhookSubscription,
)
from milepost.okrs.models import CheckIn, KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests.integrations.conftest import LocalServer

pytestmark = pytest.mark.django_db


def client_for(actor: Actor) -> Client:
    client = Client()
    assert actor.user is not None
    client.force_login(actor.user)
    return client


def test_admin_manages_hosts_and_databases(admin: Actor, tmp_path: Path) -> None:
    client = client_for(admin)
    page = client.get(reverse("web:integration-settings"))
    assert page.status_code == 200
    assert b"Allowed hosts" in page.content
    refused = client.post(reverse("web:allowed-host-add"), {"host": "https://x.com/path"})
    assert refused.status_code == 422
    assert b"host name" in refused.content
    ok = client.post(reverse("web:allowed-host-add"), {"host": "Metrics.Example.com"}, follow=True)
    assert b"metrics.example.com is allowed" in ok.content
    host = AllowedHost.objects.get()
    assert host.host == "metrics.example.com"
    db_file = tmp_path / "m.sqlite3"
    import sqlite3

    sqlite3.connect(db_file).close()
    client.post(
        reverse("web:db-connection-add"), {"name": "warehouse", "url": f"sqlite:///{db_file}"}
    )
    connection = DatabaseConnection.objects.get()
    page = client.get(reverse("web:integration-settings"))
    assert str(db_file).encode() not in page.content  # the URL is never shown again
    tested = client.post(reverse("web:db-connection-test", args=[connection.pk]), follow=True)
    assert b"works" in tested.content
    client.post(reverse("web:allowed-host-remove", args=[host.pk]))
    assert not AllowedHost.objects.exists()


def test_members_do_not_see_integration_settings(member: Actor, viewer: Actor) -> None:
    for actor in (member, viewer):
        client = client_for(actor)
        assert client.get(reverse("web:integration-settings")).status_code == 404
        assert client.get(reverse("web:webhook-list")).status_code == 404
        assert client.post(reverse("web:allowed-host-add"), {"host": "x.com"}).status_code == 404
    assert not AllowedHost.objects.exists()


def test_admin_creates_a_webhook_and_sees_its_log(
    org: Organization, admin: Actor, allowed: AllowedHost, server: LocalServer
) -> None:
    client = client_for(admin)
    created = client.post(
        reverse("web:webhook-list"),
        {"url": server.url("/hook"), "events": ["checkin.recorded", "cycle.closed"]},
    )
    subscription = WebhookSubscription.objects.get()
    assert created.status_code == 302
    assert created["Location"] == reverse("web:webhook-detail", args=[subscription.pk])
    WebhookDelivery.objects.create(
        organization=org,
        subscription=subscription,
        event="cycle.closed",
        body='{"event":"cycle.closed"}',
        status="failed",
        attempts=2,
        log=[
            {
                "at": "2026-01-01T00:00:00+00:00",
                "status_code": 500,
                "error": "HTTP 500",
                "duration_ms": 3,
            }
        ]
        * 2,
        created_at=subscription.created_at,
        retry_until=subscription.created_at,
    )
    page = client.get(reverse("web:webhook-detail", args=[subscription.pk]))
    assert page.status_code == 200
    assert subscription.secret.encode() in page.content  # behind "Show the signing secret"
    assert b"X-Milepost-Signature" in page.content
    assert b"Gave up" in page.content
    assert b"500, 500" in page.content
    client.post(reverse("web:webhook-state", args=[subscription.pk]), {"state": "paused"})
    subscription.refresh_from_db()
    assert subscription.state == SubscriptionState.PAUSED
    client.post(reverse("web:webhook-state", args=[subscription.pk]), {"state": "active"})
    delivery = WebhookDelivery.objects.get()
    client.post(reverse("web:webhook-redeliver", args=[delivery.pk]))
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    refused = client.post(
        reverse("web:webhook-list"), {"url": "https://elsewhere.example/", "events": ["x"]}
    )
    assert refused.status_code == 422


def test_key_result_page_shows_the_data_source(
    admin: Actor,
    kr_owner: Actor,
    viewer: Actor,
    key_result: KeyResult,
    allowed: AllowedHost,
    server: LocalServer,
) -> None:
    owner_client = client_for(kr_owner)
    page = owner_client.get(reverse("web:key-result-detail", args=[key_result.pk]))
    assert page.status_code == 200
    assert b"Data source" in page.content
    assert b"Set up" in page.content
    server.json("/metrics", {"total": "55"})
    saved = owner_client.post(
        reverse("web:data-source-edit", args=[key_result.pk]),
        {
            "kind": "http_json",
            "url": server.url("/metrics"),
            "json_path": "$.total",
            "headers": "X-Api-Key: abc123secret",
            "schedule": "hourly",
            "timeout_seconds": "5",
            "enabled": "on",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    source = DataSource.objects.get()
    assert source.header_dict() == {"X-Api-Key": "abc123secret"}
    ran = owner_client.post(
        reverse("web:data-source-run", args=[key_result.pk]),
        {"next": reverse("web:key-result-detail", args=[key_result.pk])},
        follow=True,
    )
    assert b"recorded 55" in ran.content
    assert CheckIn.objects.get(key_result=key_result).value == Decimal(55)
    detail = owner_client.get(reverse("web:data-source-edit", args=[key_result.pk]))
    assert b"abc123secret" not in detail.content
    assert b"X-Api-Key" in detail.content
    # A viewer sees the status but cannot run or change it.
    viewer_client = client_for(viewer)
    seen = viewer_client.get(reverse("web:key-result-detail", args=[key_result.pk]))
    assert b"data-source-status" in seen.content
    assert b"Run now" not in seen.content
    assert (
        viewer_client.post(reverse("web:data-source-run", args=[key_result.pk])).status_code == 403
    )


def test_failures_are_shown_on_the_key_result(
    kr_owner: Actor, key_result: KeyResult, allowed: AllowedHost, server: LocalServer
) -> None:
    client = client_for(kr_owner)
    server.json("/metrics", {"total": "a lot"})
    client.post(
        reverse("web:data-source-edit", args=[key_result.pk]),
        {
            "kind": "http_json",
            "url": server.url("/metrics"),
            "json_path": "$.total",
            "schedule": "daily",
            "timeout_seconds": "5",
            "enabled": "on",
        },
    )
    client.post(reverse("web:data-source-run", args=[key_result.pk]))
    page = client.get(reverse("web:key-result-detail", args=[key_result.pk]))
    assert b"Failed" in page.content
    assert b"not a number: a lot" in page.content


def test_members_cannot_configure_sql_or_disallowed_hosts(
    kr_owner: Actor, key_result: KeyResult, allowed: AllowedHost
) -> None:
    client = client_for(kr_owner)
    form = client.get(reverse("web:data-source-edit", args=[key_result.pk]))
    assert b"SQL query" not in form.content
    refused = client.post(
        reverse("web:data-source-edit", args=[key_result.pk]),
        {
            "kind": "http_json",
            "url": "http://10.0.0.1/metrics",
            "json_path": "$.x",
            "schedule": "daily",
            "timeout_seconds": "5",
        },
    )
    assert refused.status_code == 422
    assert b"not on the list of allowed hosts" in refused.content
    assert not DataSource.objects.exists()


def test_push_token_for_one_key_result(kr_owner: Actor, key_result: KeyResult) -> None:
    client = client_for(kr_owner)
    page = client.post(reverse("web:data-source-token", args=[key_result.pk]))
    assert page.status_code == 200
    token = ApiToken.objects.get()
    assert token.key_result_id == key_result.pk
    body: Any = page.content.decode()
    assert "curl -fsS -X POST" in body
    assert f"http://testserver/api/v1/key-results/{key_result.pk}/check-ins" in body
