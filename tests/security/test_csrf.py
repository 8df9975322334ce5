"""CSRF: every URL of the web app, and every mutating operation of the API when called with the
web session, refuses a POST (PUT, PATCH, DELETE) that carries no CSRF token — and changes
nothing. A request with the token gets through (so the refusals are CSRF's, not something
else's)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from milepost.okrs.models import CheckIn
from tests.api.operations import openapi, operations
from tests.api.world import dump_organization
from tests.security.webmap import build_tenant, web_routes

pytestmark = pytest.mark.django_db


def _signed_in(tenant: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.owner)
    return client


def _csrf_token(client: Client) -> str:
    client.get("/")  # any page with a form sets the cookie
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_no_web_view_is_exempt_from_csrf() -> None:
    exempt = [r.name for r in web_routes() if getattr(r.callback, "csrf_exempt", False)]
    assert exempt == []


def test_every_web_url_refuses_a_post_without_a_token() -> None:
    tenant = build_tenant("Acme", "acme")
    before = dump_organization(tenant.org)
    signed_in = _signed_in(tenant)
    anonymous = Client(enforce_csrf_checks=True)
    failures = []
    routes = web_routes()
    for route in routes:
        url = route.url(tenant.ids)
        for who, client in (("signed in", signed_in), ("anonymous", anonymous)):
            response = client.post(url, {"title": "forged", "value": "1", "role": "owner"})
            body = response.content.decode(errors="replace")
            if response.status_code != 403 or "CSRF" not in body:
                failures.append(f"POST {url} ({who}): {response.status_code}")
    assert not failures, "\n".join(failures)
    assert len(routes) > 50
    assert dump_organization(tenant.org) == before


def test_a_post_with_the_token_gets_through() -> None:
    tenant = build_tenant("Acme", "acme")
    client = _signed_in(tenant)
    kr = tenant.plan.key_result
    url = f"/key-results/{kr.pk}/check-in/"
    assert client.post(url, {"value": "42"}).status_code == 403
    response = client.post(url, {"value": "42", "csrfmiddlewaretoken": _csrf_token(client)})
    assert response.status_code in (200, 302)
    assert CheckIn.objects.filter(key_result=kr, value=42).exists()


def _api_url(template: str, slug: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template.replace("{slug}", slug))


def _session_allowed(schema: dict[str, Any], template: str, method: str) -> bool:
    """Whether the operation accepts the web session (its security lists more than a bearer)."""
    security = schema["paths"][template][method.lower()].get("security", [])
    schemes = schema["components"]["securitySchemes"]
    return any(schemes[name]["type"] != "http" for option in security for name in option)


def test_the_api_with_the_session_refuses_writes_without_a_token() -> None:
    tenant = build_tenant("Acme", "acme")
    before = dump_organization(tenant.org)
    client = _signed_in(tenant)
    failures = []
    schema = openapi()
    writes = [
        (method, template, _session_allowed(schema, template, method))
        for method, template, _ in operations(schema)
        if method in {"POST", "PUT", "PATCH", "DELETE"}
    ]
    for method, template, session_allowed in writes:
        url = _api_url(template, tenant.org.slug)
        response = client.generic(
            method, url, b"{}", content_type="application/json", headers={"If-Match": "*"}
        )
        # A token-only operation does not take the session at all: 401, not a CSRF 403.
        if response.status_code != (403 if session_allowed else 401):
            failures.append(f"{method} {template}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert len(writes) > 20
    assert dump_organization(tenant.org) == before


def test_the_api_with_the_session_and_the_token_gets_through() -> None:
    tenant = build_tenant("Acme", "acme")
    client = _signed_in(tenant)
    kr = tenant.plan.key_result
    url = f"/api/v1/orgs/{tenant.org.slug}/key-results/{kr.pk}/check-ins"
    body = b'{"value": "43"}'
    assert client.post(url, body, content_type="application/json").status_code == 403
    response = client.post(
        url, body, content_type="application/json", headers={"X-CSRFToken": _csrf_token(client)}
    )
    assert response.status_code == 201, response.content
    assert CheckIn.objects.filter(key_result=kr, value=43).exists()
