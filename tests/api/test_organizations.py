"""Organization, members and teams over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from milepost.organizations.models import Membership, Organization, Team
from tests import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_read_organization_with_etag_and_role(api_viewer: Api) -> None:
    response = api_viewer.get("")
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "acme"
    assert body["your_role"] == "viewer"
    assert body["on_track_gap"] == "0.1"
    assert response["ETag"] == f'W/"{body["version"]}"'


def test_settings_patch_needs_owner_and_if_match(api_owner: Api, api_admin: Api) -> None:
    assert api_admin.patch("", {"stale_after_days": 7}).status_code == 403
    missing = api_owner.patch("", {"stale_after_days": 7}, if_match=None)
    assert missing.status_code == 428
    version = api_owner.get("").json()["version"]
    ok = api_owner.patch("", {"stale_after_days": 7}, if_match=f'W/"{version}"')
    assert ok.status_code == 200, ok.content
    assert ok.json()["stale_after_days"] == 7
    assert ok["ETag"] == f'W/"{version + 1}"'
    stale = api_owner.patch("", {"stale_after_days": 9}, if_match=f'W/"{version}"')
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"


def test_output_done_share_is_read_and_patched(api_owner: Api) -> None:
    assert api_owner.get("").json()["output_done_share"] == "0.8"
    ok = api_owner.patch("", {"output_done_share": "0.6"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["output_done_share"] == "0.6"
    assert Organization.objects.get(slug="acme").output_done_share == Decimal("0.6")


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", "0.12345", None, True])
def test_an_output_done_share_out_of_range_is_a_422_naming_it(
    api_owner: Api, value: object
) -> None:
    version = api_owner.get("").json()["version"]
    refused = api_owner.patch("", {"output_done_share": value, "name": "Renamed"})
    assert refused.status_code == 422, refused.content
    assert "output_done_share" in refused.content.decode()
    org = Organization.objects.get(slug="acme")
    assert (org.output_done_share, org.name, org.version) == (Decimal("0.8"), "Acme", version)


def test_members_add_list_change_remove(api_owner: Api) -> None:
    created = api_owner.post("/members", {"email": "New@Example.test", "role": "viewer"})
    assert created.status_code == 201, created.content
    member = created.json()
    assert member["email"] == "new@example.test"
    listed = api_owner.get("/members").json()
    assert member["id"] in [m["id"] for m in listed["items"]]
    patched = api_owner.patch(
        f"/members/{member['id']}", {"role": "member"}, if_match=created["ETag"]
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["role"] == "member"
    assert api_owner.delete(f"/members/{member['id']}", if_match=patched["ETag"]).status_code == 204
    assert Membership.objects.get(pk=member["id"]).archived_at is not None
    assert api_owner.get(f"/members/{member['id']}").status_code == 404


def test_teams_crud(api_admin: Api) -> None:
    created = api_admin.post(
        "/teams", {"key": "growth", "name": "Growth", "capacity_days_per_week": 10}
    )
    assert created.status_code == 201, created.content
    team = created.json()
    assert team["capacity_days_per_week"] == "10"
    updated = api_admin.patch(
        f"/teams/{team['id']}", {"name": "Growth team"}, if_match=created["ETag"]
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["name"] == "Growth team"
    added = api_admin.post(f"/teams/{team['id']}/members", {"user": api_admin.user.pk})
    assert added.json()["members"] == [api_admin.user.pk]
    assert api_admin.delete(f"/teams/{team['id']}/members/{api_admin.user.pk}").status_code == 204
    assert api_admin.delete(f"/teams/{team['id']}", if_match=updated["ETag"]).status_code == 204
    assert Team.objects.get(pk=team["id"]).archived_at is not None
    restored = api_admin.post(f"/teams/{team['id']}/restore")
    assert restored.status_code == 200


def test_other_org_team_is_not_found(api_admin: Api, api_other: Api) -> None:
    team = factories.make_team(api_admin.org)
    assert api_other.get(f"/teams/{team.pk}").status_code == 404
    # The other org's token on this org's URL: the organization itself is not found.
    response = api_other.client.get(
        f"/api/v1/orgs/{api_admin.org.slug}/teams/{team.pk}",
        headers={"Authorization": f"Bearer {api_other.secret}"},
    )
    assert response.status_code == 404
