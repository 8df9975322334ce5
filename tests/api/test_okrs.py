"""OKRs over the API: cycles, objectives, alignment, key results, check-ins, the tree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from milepost.okrs.engine_io import organization_today, recompute_organization
from milepost.okrs.models import CheckIn, KeyResult, Objective
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def _cycle(api: Api) -> dict[str, object]:
    today = organization_today(api.org)
    response = api.post(
        "/cycles",
        {
            "key": "q3",
            "name": "Q3",
            "start_date": (today - dt.timedelta(days=30)).isoformat(),
            "end_date": (today + dt.timedelta(days=60)).isoformat(),
        },
    )
    assert response.status_code == 201, response.content
    body: dict[str, object] = response.json()
    return body


def test_objective_key_result_checkin_and_tree(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    created = api_admin.post(
        "/objectives",
        {"cycle": cycle["id"], "key": "seo", "title": "Improve SEO", "state": "active"},
    )
    assert created.status_code == 201, created.content
    objective = created.json()
    assert created["ETag"] == f'W/"{objective["version"]}"'
    kr = api_admin.post(
        "/key-results",
        {
            "objective": objective["id"],
            "key": "pageviews",
            "title": "Page views from 1200 to 2500",
            "kind": "increase",
            "start_value": "1200",
            "target_value": 2500,
            "owner": api_admin.user.pk,
        },
    )
    assert kr.status_code == 201, kr.content
    kr_id = kr.json()["id"]
    checkin = api_admin.post(f"/key-results/{kr_id}/check-ins", {"value": 1400, "confidence": 7})
    assert checkin.status_code == 201, checkin.content
    assert checkin.json()["value"] == "1400"
    assert checkin.json()["source"] == "api"

    detail = api_admin.get(f"/key-results/{kr_id}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["current_value"] == "1400"
    assert Decimal(body["progress"]) == Decimal("0.1538")
    assert body["explanation"]["rule"] == "key_result"
    assert body["explanation"]["terms"]
    assert body["forecast"] is None
    assert body["forecast_reason"]

    objective_detail = api_admin.get(f"/objectives/{objective['id']}").json()
    assert Decimal(objective_detail["progress"]) == Decimal("0.1538")
    assert objective_detail["explanation"]["terms"]

    tree = api_admin.get("/tree", {"cycle": cycle["id"]})
    assert tree.status_code == 200, tree.content
    (root,) = tree.json()["roots"]
    assert root["title"] == "Improve SEO"
    assert root["key_results"][0]["current_value"] == "1400"
    assert Decimal(root["progress"]) == Decimal("0.1538")


def test_patch_objective_with_etags(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    created = api_admin.post("/objectives", {"cycle": cycle["id"], "key": "a", "title": "A"})
    oid = created.json()["id"]
    assert api_admin.patch(f"/objectives/{oid}", {"title": "B"}, if_match=None).status_code == 428
    ok = api_admin.patch(f"/objectives/{oid}", {"title": "B"}, if_match=created["ETag"])
    assert ok.status_code == 200
    assert ok.json()["title"] == "B"
    stale = api_admin.patch(f"/objectives/{oid}", {"title": "C"}, if_match=created["ETag"])
    assert stale.status_code == 412
    assert stale.json()["type"] == "urn:milepost:problem:stale-version"
    assert Objective.objects.get(pk=oid).title == "B"
    # A field that cannot be null, set to null, is a 422 naming it.
    null = api_admin.patch(f"/objectives/{oid}", {"title": None}, if_match=ok["ETag"])
    assert null.status_code == 422
    assert "title" in null.json()["errors"]
    # Deleting archives; the object is gone from reads, then restored.
    assert api_admin.delete(f"/objectives/{oid}", if_match=ok["ETag"]).status_code == 204
    assert api_admin.get(f"/objectives/{oid}").status_code == 404
    assert api_admin.post(f"/objectives/{oid}/restore").status_code == 200
    assert api_admin.get(f"/objectives/{oid}").status_code == 200


def test_alignment_loop_is_a_conflict(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    a = api_admin.post("/objectives", {"cycle": cycle["id"], "key": "a", "title": "A"}).json()
    b = api_admin.post("/objectives", {"cycle": cycle["id"], "key": "b", "title": "B"}).json()
    link = api_admin.post("/alignments", {"child": a["id"], "parent_objective": b["id"]})
    assert link.status_code == 201, link.content
    loop = api_admin.post("/alignments", {"child": b["id"], "parent_objective": a["id"]})
    assert loop.status_code == 409
    assert "loop" in loop.json()["detail"]
    both = api_admin.post("/alignments", {"child": b["id"]})
    assert both.status_code == 422
    listed = api_admin.get("/alignments", {"child": a["id"]}).json()["items"]
    assert [x["id"] for x in listed] == [link.json()["id"]]
    assert (
        api_admin.delete(f"/alignments/{link.json()['id']}", if_match=link["ETag"]).status_code
        == 204
    )


def test_checkin_idempotency_key(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    o = api_admin.post("/objectives", {"cycle": cycle["id"], "key": "o", "title": "O"}).json()
    kr = api_admin.post(
        "/key-results",
        {
            "objective": o["id"],
            "key": "k",
            "title": "K",
            "kind": "increase",
            "start_value": 0,
            "target_value": 10,
        },
    ).json()
    url = f"/key-results/{kr['id']}/check-ins"
    first = api_admin.post(url, {"value": 3}, **{"Idempotency-Key": "run-42"})
    assert first.status_code == 201
    again = api_admin.post(url, {"value": 3}, **{"Idempotency-Key": "run-42"})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert CheckIn.objects.filter(key_result_id=kr["id"]).count() == 1
    different = api_admin.post(url, {"value": 4}, **{"Idempotency-Key": "run-42"})
    assert different.status_code == 409
    assert CheckIn.objects.filter(key_result_id=kr["id"]).count() == 1
    # Without a key, a second request is a second check-in.
    api_admin.post(url, {"value": 5})
    assert CheckIn.objects.filter(key_result_id=kr["id"]).count() == 2
    assert KeyResult.objects.get(pk=kr["id"]).current_value == 5


def test_correction_replaces_the_value(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    o = api_admin.post("/objectives", {"cycle": cycle["id"], "key": "o", "title": "O"}).json()
    kr = api_admin.post(
        "/key-results",
        {
            "objective": o["id"],
            "key": "k",
            "title": "K",
            "kind": "increase",
            "start_value": 0,
            "target_value": 10,
        },
    ).json()
    checkin = api_admin.post(f"/key-results/{kr['id']}/check-ins", {"value": 8}).json()
    corrected = api_admin.post(f"/check-ins/{checkin['id']}/corrections", {"value": 2})
    assert corrected.status_code == 201, corrected.content
    assert corrected.json()["corrects"] == checkin["id"]
    history = api_admin.get(f"/key-results/{kr['id']}/check-ins").json()["items"]
    by_id = {c["id"]: c for c in history}
    assert by_id[checkin["id"]]["corrected"] is True
    assert api_admin.get(f"/key-results/{kr['id']}").json()["current_value"] == "2"
    # The stored columns equal a full recompute.
    before = KeyResult.objects.get(pk=kr["id"]).progress
    recompute_organization(api_admin.org)
    assert KeyResult.objects.get(pk=kr["id"]).progress == before


def test_key_result_patch_cannot_set_current_value(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    o = api_admin.post("/objectives", {"cycle": cycle["id"], "key": "o", "title": "O"}).json()
    created = api_admin.post(
        "/key-results",
        {
            "objective": o["id"],
            "key": "k",
            "title": "K",
            "kind": "increase",
            "start_value": 0,
            "target_value": 10,
        },
    )
    url = f"/key-results/{created.json()['id']}"
    response = api_admin.patch(url, {"current_value": 9}, if_match=created["ETag"])
    # The current value moves only by check-ins: a field PATCH does not take is a 422.
    assert response.status_code == 422
    assert "current_value" in response.json()["errors"]
    assert api_admin.get(url).json()["current_value"] == "0"
    bad = api_admin.patch(url, {"target_value": -5}, if_match=created["ETag"])
    assert bad.status_code == 422
    assert bad.json()["errors"]


def test_lists_filter_and_order(api_admin: Api) -> None:
    cycle = _cycle(api_admin)
    for key in ("b", "a", "c"):
        api_admin.post(
            "/objectives",
            {
                "cycle": cycle["id"],
                "key": key,
                "title": key.upper(),
                "state": "active" if key != "c" else "draft",
            },
        )
    keys = [o["key"] for o in api_admin.get("/objectives").json()["items"]]
    assert keys == ["a", "b", "c"]
    keys = [o["key"] for o in api_admin.get("/objectives", {"ordering": "-key"}).json()["items"]]
    assert keys == ["c", "b", "a"]
    drafts = api_admin.get("/objectives", {"state": "draft"}).json()["items"]
    assert [o["key"] for o in drafts] == ["c"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert api_admin.get("/objectives", {"updated_since": future}).json()["items"] == []
    bad = api_admin.get("/objectives", {"ordering": "password"})
    assert bad.status_code == 422
    assert "ordering" in bad.json()["errors"]


def test_cycle_close_workflow(api_owner: Api) -> None:
    cycle = _cycle(api_owner)
    objective = api_owner.post(
        "/objectives", {"cycle": cycle["id"], "key": "o", "title": "O"}
    ).json()
    kr = api_owner.post(
        "/key-results",
        {
            "objective": objective["id"],
            "key": "k",
            "title": "K",
            "kind": "increase",
            "start_value": 0,
            "target_value": 10,
        },
    ).json()
    planned_retro = api_owner.post(f"/key-results/{kr['id']}/retrospective", {"lessons": "x"})
    assert planned_retro.status_code == 409  # not while the cycle is being planned
    activated = api_owner.post(f"/cycles/{cycle['id']}/activate")
    assert activated.status_code == 200, activated.content
    assert activated.json()["state"] == "active"
    assert api_owner.get(f"/objectives/{objective['id']}").json()["state"] == "active"
    api_owner.post(f"/key-results/{kr['id']}/check-ins", {"value": 7})
    early = api_owner.post(f"/cycles/{cycle['id']}/close")
    assert early.status_code == 409
    assert early.json()["errors"]
    retro = api_owner.post(
        f"/key-results/{kr['id']}/retrospective",
        {"grade_override": "achieved", "reason_code": "target_wrong", "lessons": "Aim higher"},
    )
    assert retro.status_code == 200, retro.content
    assert retro.json()["score"] == "0.7"
    assert retro.json()["final_grade"] == "achieved"
    reflection = api_owner.post(
        f"/objectives/{objective['id']}/retrospective", {"went_well": "Shipped"}
    )
    assert reflection.status_code == 200, reflection.content
    closed = api_owner.post(f"/cycles/{cycle['id']}/close")
    assert closed.status_code == 200, closed.content
    assert closed.json()["state"] == "closed"
    listed = api_owner.get("/retrospectives", {"cycle": cycle["id"]}).json()["items"]
    assert {r["key_result"] for r in listed} >= {kr["id"]}
    # Check-ins on a closed cycle are refused; reopening is for an owner's web session only.
    assert api_owner.post(f"/key-results/{kr['id']}/check-ins", {"value": 8}).status_code == 409
    assert api_owner.post(f"/cycles/{cycle['id']}/reopen").status_code == 403
    session = Client()
    session.force_login(api_owner.user)
    reopened = session.post(f"{api_owner.base}/cycles/{cycle['id']}/reopen")
    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["state"] == "active"


def test_a_checkin_on_a_key_result_you_cannot_reach_is_a_404_and_writes_nothing(
    api_member: Api, api_admin: Api, api_other: Api
) -> None:
    """The check-in endpoint no longer reads the key result before the service does (issue
    9, W2): the service's own locked read answers. A key result under a team objective the
    member is not in, one archived, one under an archived objective, and one of another
    organization all answer exactly as an id that does not exist; nothing is written."""
    from tests import factories

    cycle = factories.make_cycle(api_member.org, "q")
    team = factories.make_team(api_member.org, "growth")
    hidden = factories.make_objective(cycle, "secret", owner_team=team, visibility="team")
    # The member owns this key result (so may check in on it) but cannot see its objective.
    unseen = factories.make_key_result(hidden, "k", owner=api_member.user)
    archived = factories.make_key_result(factories.make_objective(cycle, "o1"), "k")
    assert api_admin.delete(f"/key-results/{archived.pk}").status_code == 204
    under_archived = factories.make_key_result(factories.make_objective(cycle, "o2"), "k")
    assert api_admin.delete(f"/objectives/{under_archived.objective_id}").status_code == 204
    elsewhere = factories.make_key_result(
        factories.make_objective(factories.make_cycle(api_other.org, "q"), "o"), "k"
    )
    missing = api_member.post("/key-results/999999/check-ins", {"value": 1})
    assert missing.status_code == 404
    checkins = CheckIn.objects.count()
    for api, kr in (
        (api_member, unseen),
        (api_admin, archived),
        (api_admin, under_archived),
        (api_member, elsewhere),
    ):
        answer = api.post(f"/key-results/{kr.pk}/check-ins", {"value": 1})
        assert (answer.status_code, answer.json()) == (404, missing.json()), kr
    assert CheckIn.objects.count() == checkins
    # Seen, but not the member's to check in on: 403, as before.
    theirs = factories.make_key_result(factories.make_objective(cycle, "o3"), "k")
    refused = api_member.post(f"/key-results/{theirs.pk}/check-ins", {"value": 1})
    assert refused.status_code == 403, refused.content
    assert CheckIn.objects.count() == checkins
