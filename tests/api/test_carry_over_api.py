"""POST /orgs/{slug}/cycles/{id}/carry-over: the service's copies over HTTP, its refusals as
problem JSON (who may carry over, and across organizations: tests/api/test_role_matrix.py and
tests/api/test_cross_org_sweep.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from milepost.okrs.models import KeyResult
from tests.api.conftest import Api
from tests.api.world import World

pytestmark = pytest.mark.django_db


def _api(world: World, role: str = "admin") -> Api:
    return Api(Client(), world.org, world.users[role], world.tokens[role])


def _url(world: World, cycle: str = "cycle") -> str:
    return f"/cycles/{world.ids[cycle]}/carry-over"


def test_carry_over_copies_from_the_last_value_and_links_back(world: World) -> None:
    api = _api(world)
    body = {"key_results": [world.ids["key_result"]], "target_cycle": world.ids["cycle_planning"]}
    response = api.post(_url(world), body)
    assert response.status_code == 200, response.content
    (copy,) = response.json()["key_results"]
    origin = KeyResult.objects.get(pk=world.ids["key_result"])
    stored = KeyResult.objects.select_related("objective").get(pk=copy["id"])
    assert stored.carried_from_id == origin.pk
    assert stored.objective.cycle_id == world.ids["cycle_planning"]
    assert Decimal(copy["start_value"]) == origin.current_value == Decimal(20)
    assert Decimal(copy["target_value"]) == origin.target_value
    # Asking again gives the copy made the first time; nothing new is written.
    again = api.post(_url(world), body)
    assert again.status_code == 200
    assert [k["id"] for k in again.json()["key_results"]] == [copy["id"]]
    assert KeyResult.objects.filter(carried_from=origin).count() == 1


def test_refusals_are_problems_naming_the_field(world: World) -> None:
    api = _api(world)
    target = world.ids["cycle_planning"]
    not_here = api.post(
        _url(world, "cycle_active"),
        {"key_results": [world.ids["key_result"]], "target_cycle": target},
    )
    assert not_here.status_code == 422
    assert "key_results" in not_here.json()["errors"]
    missing = api.post(_url(world), {"key_results": [10**9], "target_cycle": target})
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"key_results": ["not found"]}
    no_cycle = api.post(
        _url(world), {"key_results": [world.ids["key_result"]], "target_cycle": 10**9}
    )
    assert no_cycle.json()["errors"] == {"target_cycle": ["not found"]}
    empty = api.post(_url(world), {"key_results": [], "target_cycle": target})
    assert empty.status_code == 422
    closed = api.post(
        _url(world),
        {"key_results": [world.ids["key_result"]], "target_cycle": world.ids["cycle_closed"]},
    )
    assert closed.status_code == 409
    assert closed["Content-Type"] == "application/problem+json"
    assert not KeyResult.objects.filter(carried_from_id=world.ids["key_result"]).exists()
