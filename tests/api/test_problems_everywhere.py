"""Every answer under /api/ is JSON, also those Django makes before the API's own handlers
run: an unknown path, a trailing slash, a method a resource does not take (405 with Allow)
and an exception outside an operation (500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals /etc/passwd")


# This module is also the URL configuration of the 500 test: a view outside the NinjaAPI.
urlpatterns = [
    path("api/v1/", include("milepost.api.urls")),
    path("api/boom", _boom),
]


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json", response.content
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"].startswith("urn:milepost:problem:")
    return body


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/orgs/{slug}/"),  # a trailing slash
        ("GET", "/api/v1/orgs/{slug}/objectives/"),
        ("GET", "/api/v1/health/"),
        ("GET", "/api/v1/"),
        ("GET", "/api/v1/no-such-thing"),
        ("POST", "/api/v1/orgs/{slug}/no/such/thing"),
        ("GET", "/api/v2/orgs"),
        ("DELETE", "/api/"),
    ],
)
def test_unknown_paths_are_a_404_problem(api_admin: Api, method: str, url: str) -> None:
    response = api_admin.request(method, url.format(slug=api_admin.org.slug))
    body = _assert_problem(response, 404)
    assert "trailing slash" in body["detail"] or body["detail"] == "Not found."


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("PUT", "/api/v1/orgs/{slug}/objectives", {"GET", "POST"}),
        ("DELETE", "/api/v1/orgs/{slug}/objectives", {"GET", "POST"}),
        ("PATCH", "/api/v1/orgs/{slug}/cycles", {"GET", "POST"}),
        ("POST", "/api/v1/health", {"GET"}),
    ],
)
def test_a_method_the_resource_does_not_take_is_a_405_problem_with_allow(
    api_admin: Api, method: str, url: str, allowed: set[str]
) -> None:
    response = api_admin.request(method, url.format(slug=api_admin.org.slug), {})
    body = _assert_problem(response, 405)
    assert {m.strip() for m in response["Allow"].split(",")} == allowed
    assert all(m in body["detail"] for m in allowed)


def test_an_exception_outside_the_api_operations_is_a_500_problem(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client = Client(raise_request_exception=False)
    response = client.get("/api/boom")
    body = _assert_problem(response, 500)
    assert "secret" not in response.content.decode()
    assert "internals" not in body["detail"]


def test_the_docs_page_and_other_successes_are_left_alone(api_admin: Api) -> None:
    assert api_admin.get("/api/v1/health").json() == {"status": "ok"}
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")
