"""Organization settings: the `output-without-outcome` threshold (`output_done_share`) is
changed like the other plan-health thresholds, and a share outside (0, 1] is refused with the
constraint's message, changing nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from milepost.audit.models import AuditEvent
from milepost.errors import InvalidInput
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.organizations.services import update_organization_settings

pytestmark = pytest.mark.django_db

MESSAGE = "output_done_share must be more than 0 and at most 1."


def _form(**changes: str) -> dict[str, Any]:
    return {
        "name": "Acme",
        "timezone": "UTC",
        "on_track_gap": "0.1",
        "at_risk_gap": "0.25",
        "over_achievement_cap": "1.5",
        "rollup_mode": "key_results",
        "objective_status_mode": "worst",
        "stale_after_days": "14",
        "max_key_results_per_objective": "5",
        "max_objectives_per_team": "5",
        "output_done_share": "0.8",
        **changes,
    }


def test_the_default_share_is_the_engines(org: Organization) -> None:
    assert org.output_done_share == Decimal("0.8")
    assert org.engine_settings().output_done_share == Decimal("0.8")


def test_the_service_changes_the_share_with_an_audit_event(owner: Actor) -> None:
    org = update_organization_settings(actor=owner, changes={"output_done_share": Decimal("0.65")})
    org.refresh_from_db()
    assert org.output_done_share == Decimal("0.65")
    assert org.engine_settings().output_done_share == Decimal("0.65")
    assert AuditEvent.objects.filter(organization=org, action="organization.update").exists()


@pytest.mark.parametrize("value", ["0", "1.001", "-0.5"])
def test_the_service_refuses_a_share_outside_the_range(owner: Actor, value: str) -> None:
    before = Organization.objects.get(pk=owner.organization_id)
    with pytest.raises(InvalidInput) as refused:
        update_organization_settings(actor=owner, changes={"output_done_share": Decimal(value)})
    assert MESSAGE in refused.value.detail
    after = Organization.objects.get(pk=owner.organization_id)
    assert (after.output_done_share, after.version) == (Decimal("0.8"), before.version)
    assert not AuditEvent.objects.filter(action="organization.update").exists()


def test_the_page_shows_and_saves_the_share(owner_client: Client, owner: Actor) -> None:
    url = reverse("web:organization-edit")
    page = owner_client.get(url).content.decode()
    assert 'name="output_done_share"' in page
    assert "Output counts as done at" in page
    response = owner_client.post(url, _form(output_done_share="0.6"))
    assert response.status_code == 302
    assert Organization.objects.get(pk=owner.organization_id).output_done_share == Decimal("0.6")


@pytest.mark.parametrize("value", ["0", "1.5"])
def test_the_page_refuses_a_share_outside_the_range(
    owner_client: Client, owner: Actor, value: str
) -> None:
    response = owner_client.post(
        reverse("web:organization-edit"), _form(name="Renamed", output_done_share=value)
    )
    assert response.status_code == 422
    assert MESSAGE in response.content.decode()
    org = Organization.objects.get(pk=owner.organization_id)
    assert (org.name, org.output_done_share) == ("Acme", Decimal("0.8"))
