"""Request bodies are read strictly: a field the API does not know is a 422 naming it (never
silently ignored), and ``true`` is not an id, a count or a number. ISO dates and decimal
strings, as documented, still work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import CheckIn, KeyResult, Objective
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def _problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _objective_and_key_result(api: Api) -> tuple[dict[str, Any], Any]:
    today = organization_today(api.org)
    cycle = api.post(
        "/cycles",
        {
            "key": "q",
            "name": "Q",
            "start_date": (today - dt.timedelta(days=30)).isoformat(),
            "end_date": (today + dt.timedelta(days=60)).isoformat(),
        },
    ).json()
    objective = api.post("/objectives", {"cycle": cycle["id"], "key": "o", "title": "O"}).json()
    kr = api.post(
        "/key-results",
        {
            "objective": objective["id"],
            "key": "k",
            "title": "K",
            "kind": "increase",
            "start_value": "0.5",  # decimal strings are documented and accepted
            "target_value": 10,
        },
    )
    assert kr.status_code == 201, kr.content
    return objective, kr


def test_an_unknown_field_in_a_patch_is_a_422_naming_it_and_changes_nothing(
    api_admin: Api,
) -> None:
    _, created = _objective_and_key_result(api_admin)
    url = f"/key-results/{created.json()['id']}"

    response = api_admin.patch(url, {"target": 20}, if_match=created["ETag"])

    body = _problem(response)
    assert "target" in body["errors"]
    assert "target" in body["detail"]
    kr = KeyResult.objects.get(pk=created.json()["id"])
    assert (kr.target_value, kr.version) == (10, 1)
    ok = api_admin.patch(url, {"target_value": 20}, if_match=created["ETag"])
    assert ok.status_code == 200, ok.content


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/objectives", {"key": "x", "title": "X", "colour": "red"}, "colour"),
        ("/cycles", {"key": "c", "name": "C", "start": "2026-01-01"}, "start"),
        ("/teams", {"key": "t", "name": "T", "leader": 1}, "leader"),
        ("/initiatives", {"key": "i", "title": "I", "cost": 3}, "cost"),
    ],
)
def test_an_unknown_field_in_a_post_is_a_422_naming_it(
    api_admin: Api, path: str, body: dict[str, Any], field: str
) -> None:
    problem = _problem(api_admin.post(path, body))
    assert field in problem["errors"], problem


def test_a_checkin_with_an_unknown_field_records_nothing(api_admin: Api) -> None:
    _, created = _objective_and_key_result(api_admin)
    url = f"/key-results/{created.json()['id']}/check-ins"
    problem = _problem(api_admin.post(url, {"value": 3, "date": "2026-01-01"}))
    assert "date" in problem["errors"]
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_not_an_id(api_admin: Api, flag: bool) -> None:
    objective, _ = _objective_and_key_result(api_admin)
    before = Objective.objects.count()

    problem = _problem(api_admin.post("/objectives", {"cycle": flag, "key": "b", "title": "B"}))

    assert "cycle" in problem["errors"]
    assert Objective.objects.count() == before
    patched = api_admin.patch(f"/objectives/{objective['id']}", {"owner_user": True})
    assert "owner_user" in _problem(patched)["errors"]


def test_a_boolean_is_not_a_number_or_a_confidence(api_admin: Api) -> None:
    _, created = _objective_and_key_result(api_admin)
    url = f"/key-results/{created.json()['id']}/check-ins"
    for body, field in (
        ({"value": True}, "value"),
        ({"value": 3, "confidence": True}, "confidence"),
    ):
        assert field in _problem(api_admin.post(url, body))["errors"]
    assert not CheckIn.objects.exists()
    accepted = api_admin.post(url, {"value": "3.25", "confidence": 7})
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["value"] == "3.25"


def test_booleans_must_be_booleans_and_counts_whole_numbers(api_owner: Api) -> None:
    for body, field in (
        ({"allow_over_achievement": 1}, "allow_over_achievement"),
        ({"allow_over_achievement": "yes"}, "allow_over_achievement"),
        ({"stale_after_days": True}, "stale_after_days"),
        ({"stale_after_days": "14"}, "stale_after_days"),
    ):
        response = api_owner.patch("", body)
        assert field in _problem(response)["errors"], body
    assert api_owner.patch("", {"allow_over_achievement": True}).status_code == 200


def test_every_request_body_in_the_openapi_document_forbids_unknown_fields(
    api_viewer: Api,
) -> None:
    document = api_viewer.client.get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    bodies = []
    for url, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media["schema"].get("$ref", "")
                name = ref.rsplit("/", 1)[-1]
                bodies.append((method, url, name))
                assert components[name].get("additionalProperties") is False, (method, url)
    assert len(bodies) > 25
