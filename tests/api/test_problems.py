"""One error format everywhere, and the HTTP rules around it (401, 404, 422, 428, 429, 500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"].startswith("urn:milepost:problem:")
    return body


def test_missing_and_bad_credentials_are_401(api_viewer: Api) -> None:
    client = Client()
    body = _assert_problem(client.get("/api/v1/orgs/acme/objectives"), 401)
    assert "token" in body["detail"]
    bad = client.get(
        "/api/v1/orgs/acme", headers={"Authorization": "Bearer mp_notavalidtokenatall"}
    )
    assert _assert_problem(bad, 401)
    assert bad["WWW-Authenticate"].startswith("Bearer")
    basic = client.get("/api/v1/orgs/acme", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    _assert_problem(basic, 401)


def test_unknown_org_and_ids_are_404(api_viewer: Api) -> None:
    _assert_problem(api_viewer.get("/api/v1/orgs/nope/objectives"), 404)
    _assert_problem(api_viewer.get("/objectives/424242"), 404)
    # Out-of-range ids and malformed slugs name nothing: also 404, never a crash.
    _assert_problem(api_viewer.get(f"/objectives/{2**63}"), 404)
    _assert_problem(api_viewer.get("/api/v1/orgs/%00bad/objectives"), 404)


def test_invalid_input_names_each_field(api_admin: Api) -> None:
    body = _assert_problem(
        api_admin.post("/teams", {"key": "not a slug!", "name": "", "capacity_days_per_week": -1}),
        422,
    )
    assert {"key", "name", "capacity_days_per_week"} <= set(body["errors"])
    nul = _assert_problem(api_admin.post("/teams", {"key": "ok", "name": "a\x00b"}), 422)
    assert "name" in nul["errors"]
    query = _assert_problem(api_admin.get("/objectives", {"limit": 500}), 422)
    assert "limit" in query["errors"]
    # A rule the service checks (not the schema) is reported the same way.
    factories.make_cycle(api_admin.org, "taken")
    dup = api_admin.post(
        "/cycles",
        {"key": "taken", "name": "Again", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    )
    assert "key" in _assert_problem(dup, 422)["errors"]


def test_malformed_json_is_400(api_admin: Api) -> None:
    response = api_admin.client.generic(
        "POST",
        api_admin.url("/teams"),
        b"{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_admin.secret}"},
    )
    _assert_problem(response, 400)


def test_if_match_missing_is_428_and_garbage_is_412(api_admin: Api) -> None:
    team = factories.make_team(api_admin.org)
    _assert_problem(api_admin.patch(f"/teams/{team.pk}", {"name": "X"}, if_match=None), 428)
    _assert_problem(api_admin.delete(f"/teams/{team.pk}", if_match=None), 428)
    _assert_problem(api_admin.patch(f"/teams/{team.pk}", {"name": "X"}, if_match="nonsense"), 412)
    _assert_problem(api_admin.patch(f"/teams/{team.pk}", {"name": "X"}, if_match='W/"99"'), 412)
    ok = api_admin.patch(f"/teams/{team.pk}", {"name": "X"}, if_match='"1"')
    assert ok.status_code == 200


def test_role_refusal_is_403_when_visible(api_viewer: Api) -> None:
    team = factories.make_team(api_viewer.org)
    body = _assert_problem(api_viewer.patch(f"/teams/{team.pk}", {"name": "X"}), 403)
    assert "role" in body["detail"] or "admin" in body["detail"].lower()


def test_rate_limit_answers_429_with_retry_after(api_viewer: Api, settings: Any) -> None:
    settings.MILEPOST_API_RATE_LIMIT = "3/60"
    for _ in range(3):
        assert api_viewer.get("").status_code == 200
    limited = api_viewer.get("")
    _assert_problem(limited, 429)
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_repeated_bad_tokens_are_rate_limited(settings: Any, db: None) -> None:
    settings.MILEPOST_API_AUTH_FAILURE_LIMIT = "2/60"
    client = Client()
    headers = {"Authorization": "Bearer mp_wrongwrongwrongwrong"}
    assert client.get("/api/v1/orgs/acme", headers=headers).status_code == 401
    assert client.get("/api/v1/orgs/acme", headers=headers).status_code == 401
    limited = client.get("/api/v1/orgs/acme", headers=headers)
    _assert_problem(limited, 429)
    assert int(limited["Retry-After"]) >= 1


def test_unexpected_errors_are_a_500_problem_without_internals(
    api_admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from milepost.okrs import api as okrs_api

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    cycle = factories.make_cycle(api_admin.org)
    objective = factories.make_objective(cycle)
    monkeypatch.setattr(okrs_api, "evaluate_cycle", boom)
    response = api_admin.get(f"/objectives/{objective.pk}")
    body = _assert_problem(response, 500)
    assert "secret" not in response.content.decode()
    assert "Traceback" not in body["detail"]


def test_openapi_document_and_docs_are_served(api_viewer: Api) -> None:
    client = Client()
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/orgs/{slug}/objectives" in paths
    patch = paths["/api/v1/orgs/{slug}/objectives/{objective_id}"]["patch"]
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    assert "application/problem+json" in patch["responses"]["412"]["content"]
    assert client.get("/api/v1/docs").status_code == 200
