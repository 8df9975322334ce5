from __future__ import annotations

import pytest
from django.test import Client

from milepost.organizations.access import Actor


@pytest.mark.django_db
def test_api_health_answers() -> None:
    response = Client().get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_fixtures_build_an_actor(owner: Actor) -> None:
    assert owner.is_owner
    assert owner.organization.slug == "acme"
