"""Roadmap and work over the API: initiatives, links, milestones, dependencies, tasks, time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from milepost.okrs.engine_io import organization_today
from milepost.roadmap.models import Initiative
from milepost.work.models import TimeEntry
from tests import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_initiative_lifecycle(api_admin: Api) -> None:
    today = organization_today(api_admin.org)
    created = api_admin.post(
        "/initiatives",
        {
            "key": "blog",
            "title": "Publish 10 posts",
            "start_date": today.isoformat(),
            "end_date": (today + dt.timedelta(days=30)).isoformat(),
            "effort_days": "12.5",
            "budget": 1000,
            "hypothesis": "Posts bring page views",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["effort_days"] == "12.5"
    assert body["budget"] == "1000"
    iid = body["id"]
    bad_dates = api_admin.patch(
        f"/initiatives/{iid}",
        {"end_date": (today - dt.timedelta(days=1)).isoformat()},
        if_match=created["ETag"],
    )
    assert bad_dates.status_code == 422
    assert "end_date" in bad_dates.json()["errors"]
    no_summary = api_admin.patch(
        f"/initiatives/{iid}", {"status": "done"}, if_match=created["ETag"]
    )
    assert no_summary.status_code == 422
    assert "delivered_summary" in no_summary.json()["errors"]
    done = api_admin.patch(
        f"/initiatives/{iid}",
        {"status": "done", "delivered_summary": "Ten posts"},
        if_match=created["ETag"],
    )
    assert done.status_code == 200, done.content
    assert done.json()["closed_at"] is not None
    assert Initiative.objects.get(pk=iid).status == "done"
    listed = api_admin.get("/initiatives", {"status": "done"}).json()["items"]
    assert [i["id"] for i in listed] == [iid]


def test_links_milestones_and_dependencies(api_admin: Api) -> None:
    today = organization_today(api_admin.org)
    cycle = factories.make_cycle(
        api_admin.org,
        start_date=today - dt.timedelta(days=5),
        end_date=today + dt.timedelta(days=80),
    )
    kr = factories.make_key_result(factories.make_objective(cycle))
    a = api_admin.post("/initiatives", {"key": "a", "title": "A"}).json()
    b = api_admin.post("/initiatives", {"key": "b", "title": "B"}).json()

    link = api_admin.post(
        "/initiative-links", {"initiative": a["id"], "key_result": kr.pk, "weight": 2}
    )
    assert link.status_code == 201, link.content
    again = api_admin.post("/initiative-links", {"initiative": a["id"], "key_result": kr.pk})
    assert again.status_code == 409
    patched = api_admin.patch(
        f"/initiative-links/{link.json()['id']}", {"weight": "0.5"}, if_match=link["ETag"]
    )
    assert patched.json()["weight"] == "0.5"

    milestone = api_admin.post(
        "/milestones",
        {
            "key": "beta",
            "name": "Beta",
            "date": (today + dt.timedelta(days=3)).isoformat(),
            "initiative": a["id"],
        },
    )
    assert milestone.status_code == 201, milestone.content
    mid = milestone.json()["id"]
    future = api_admin.post(
        f"/milestones/{mid}/complete", {"done_on": (today + dt.timedelta(days=1)).isoformat()}
    )
    assert future.status_code == 422
    done = api_admin.post(f"/milestones/{mid}/complete", {"done_on": today.isoformat()})
    assert done.json()["done_on"] == today.isoformat()

    dep = api_admin.post(
        "/dependencies",
        {
            "predecessor_initiative": a["id"],
            "successor_initiative": b["id"],
            "type": "SS",
            "lag_days": -2,
        },
    )
    assert dep.status_code == 201, dep.content
    assert dep.json()["lag_days"] == -2
    loop = api_admin.post(
        "/dependencies", {"predecessor_initiative": b["id"], "successor_initiative": a["id"]}
    )
    assert loop.status_code == 409
    assert "loop" in loop.json()["detail"]
    two_ends = api_admin.post(
        "/dependencies",
        {
            "predecessor_initiative": a["id"],
            "predecessor_milestone": mid,
            "successor_initiative": b["id"],
        },
    )
    assert two_ends.status_code == 422
    listed = api_admin.get("/dependencies", {"initiative": b["id"]}).json()["items"]
    assert [d["id"] for d in listed] == [dep.json()["id"]]
    assert (
        api_admin.delete(f"/dependencies/{dep.json()['id']}", if_match=dep["ETag"]).status_code
        == 204
    )
    assert (
        api_admin.delete(
            f"/initiative-links/{link.json()['id']}", if_match=patched["ETag"]
        ).status_code
        == 204
    )


def test_tasks_and_time(api_member: Api, api_admin: Api) -> None:
    today = organization_today(api_admin.org)
    team = factories.make_team(api_admin.org)
    factories.add_to_team(team, api_member.user)
    initiative = factories.make_initiative(api_admin.org, team=team)
    task = api_member.post(
        "/tasks", {"initiative": initiative.pk, "title": "Draft", "estimate_hours": 4}
    )
    assert task.status_code == 201, task.content
    tid = task.json()["id"]
    done = api_member.patch(f"/tasks/{tid}", {"status": "done"}, if_match=task["ETag"])
    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    entry = api_member.post(
        "/time-entries", {"task": tid, "date": today.isoformat(), "hours": "2.5"}
    )
    assert entry.status_code == 201, entry.content
    assert entry.json()["user"] == api_member.user.pk
    too_much = api_member.post(
        "/time-entries", {"task": tid, "date": today.isoformat(), "hours": 22}
    )
    assert too_much.status_code == 422
    assert "hours" in too_much.json()["errors"]
    for_other = api_member.post(
        "/time-entries",
        {"task": tid, "date": today.isoformat(), "hours": 1, "user": api_admin.user.pk},
    )
    assert for_other.status_code == 403
    listed = api_admin.get("/time-entries", {"task": tid}).json()["items"]
    assert [e["hours"] for e in listed] == ["2.5"]
    assert (
        api_member.delete(f"/time-entries/{entry.json()['id']}", if_match=entry["ETag"]).status_code
        == 204
    )
    assert TimeEntry.objects.get(pk=entry.json()["id"]).archived_at is not None
    assert TimeEntry.objects.get(pk=entry.json()["id"]).hours == Decimal("2.5")
    assert (
        api_admin.get("/tasks", {"status": "done", "team": team.pk}).json()["items"][0]["id"] == tid
    )
