"""PATCH for what could only be created before: a time entry (task, date, hours, note, cost) and
an alignment link's weight. Partial bodies, ETag / If-Match (412 stale, 428 missing), 422
naming the field, 404 for another organization's object — and a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Alignment
from milepost.organizations.models import Organization, Role
from milepost.work.models import TimeEntry
from tests import factories
from tests.api.conftest import Api, api_as

pytestmark = pytest.mark.django_db


def _entry_row(pk: int) -> tuple[object, ...]:
    row = TimeEntry.objects.get(pk=pk)
    return (row.task_id, row.date, row.hours, row.note, row.cost, row.version)


def test_patch_time_entry(api_member: Api, api_admin: Api) -> None:
    org = api_admin.org
    today = organization_today(org)
    initiative = factories.make_initiative(org)
    task = factories.make_task(initiative, "Draft")
    other_task = factories.make_task(factories.make_initiative(org), "Review")
    created = api_member.post(
        "/time-entries", {"task": task.pk, "date": today.isoformat(), "hours": "2"}
    )
    assert created.status_code == 201, created.content
    eid = created.json()["id"]
    url = f"/time-entries/{eid}"

    assert api_member.patch(url, {"hours": 3}, if_match=None).status_code == 428
    patched = api_member.patch(url, {"hours": "3.5", "note": "pairing"}, if_match=created["ETag"])
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert (body["hours"], body["note"], body["version"]) == ("3.5", "pairing", 2)
    assert patched["ETag"] != created["ETag"]
    # Partial: the date and the task were left alone.
    assert (body["date"], body["task"]) == (today.isoformat(), task.pk)

    before = _entry_row(eid)
    stale = api_member.patch(url, {"hours": 1}, if_match=created["ETag"])
    assert stale.status_code == 412
    for bad, field in [
        ({"hours": 0}, "hours"),
        ({"hours": None}, "hours"),
        ({"date": (today + dt.timedelta(days=3)).isoformat()}, "date"),
        ({"task": 999999}, "task"),
        ({"user": api_admin.user.pk}, "user"),
    ]:
        refused = api_member.patch(url, bad, if_match=patched["ETag"])
        assert refused.status_code == 422, (bad, refused.content)
        assert field in refused.json()["errors"], (bad, refused.json())
    assert _entry_row(eid) == before

    moved = api_admin.patch(url, {"task": other_task.pk, "cost": "40"}, if_match=patched["ETag"])
    assert moved.status_code == 200, moved.content
    assert (moved.json()["task"], moved.json()["initiative"], moved.json()["cost"]) == (
        other_task.pk,
        other_task.initiative_id,
        "40",
    )
    assert moved.json()["user"] == api_member.user.pk


def test_only_the_person_or_an_admin_patches_time(api_member: Api) -> None:
    org = api_member.org
    task = factories.make_task(factories.make_initiative(org))
    entry = factories.make_time_entry(task, api_member.user)
    someone = api_as(org, Role.MEMBER, "someone@acme.test")
    refused = someone.patch(f"/time-entries/{entry.pk}", {"hours": 5})
    assert refused.status_code == 403
    assert TimeEntry.objects.get(pk=entry.pk).hours == entry.hours


def test_patch_alignment_weight(api_admin: Api) -> None:
    org = api_admin.org
    cycle = factories.make_cycle(org)
    parent = factories.make_objective(cycle, "company")
    child = factories.make_objective(cycle, "team")
    created = api_admin.post("/alignments", {"child": child.pk, "parent_objective": parent.pk})
    assert created.status_code == 201, created.content
    url = f"/alignments/{created.json()['id']}"

    assert api_admin.patch(url, {"weight": 2}, if_match=None).status_code == 428
    patched = api_admin.patch(url, {"weight": "2.5"}, if_match=created["ETag"])
    assert patched.status_code == 200, patched.content
    assert (patched.json()["weight"], patched.json()["version"]) == ("2.5", 2)
    assert api_admin.get(url)["ETag"] == patched["ETag"]

    assert api_admin.patch(url, {"weight": 3}, if_match=created["ETag"]).status_code == 412
    for bad, field in [
        ({"weight": -1}, "weight"),
        ({"weight": None}, "weight"),
        ({"parent_objective": child.pk}, "parent_objective"),
    ]:
        refused = api_admin.patch(url, bad, if_match=patched["ETag"])
        assert refused.status_code == 422, (bad, refused.content)
        assert field in refused.json()["errors"]
    stored = Alignment.objects.get(pk=created.json()["id"])
    assert (stored.weight, stored.version) == (Decimal("2.5"), 2)


def test_another_organizations_entry_and_alignment_are_not_found(
    api_admin: Api, other_org: Organization
) -> None:
    stranger = api_as(other_org, Role.OWNER, "boss@globex.test")
    task = factories.make_task(factories.make_initiative(api_admin.org))
    entry = factories.make_time_entry(task, api_admin.user)
    cycle = factories.make_cycle(api_admin.org)
    link = Alignment.objects.create(
        organization=api_admin.org,
        child=factories.make_objective(cycle, "child"),
        parent_objective=factories.make_objective(cycle, "parent"),
    )
    for url, body in [
        (f"/time-entries/{entry.pk}", {"hours": 5}),
        (f"/alignments/{link.pk}", {"weight": 5}),
    ]:
        response = stranger.patch(url, body)
        assert response.status_code == 404, (url, response.content)
        assert response.json()["title"]
    assert TimeEntry.objects.get(pk=entry.pk).hours == entry.hours
    assert Alignment.objects.get(pk=link.pk).weight == Decimal(1)
