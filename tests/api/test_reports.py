"""Read models: the alignment tree (locked private nodes, two parents), schedule, findings,
priorities, and the audit log."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from milepost.engine.explain import Explanation, Term
from milepost.okrs import services as okrs
from milepost.organizations.access import system_actor
from milepost.reports.queries import hidden_objective_keys, redact_explanation
from tests import factories
from tests.api.world import World

pytestmark = pytest.mark.django_db


def _get(world: World, role: str, path: str, params: dict[str, Any] | None = None) -> Any:
    response = Client().get(
        f"/api/v1/orgs/{world.slug}{path}",
        params or {},
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
    )
    assert response.status_code == 200, response.content
    return response.json()


def _nodes(roots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        found.append(node)
        stack += node["children"]
        for kr in node["key_results"]:
            stack += kr["children"]
    return found


def test_the_tree_is_exactly_what_its_schema_writes(world: World) -> None:
    """The tree endpoint writes its JSON without validating it on the way out (speed): it
    must be what `TreeOut` would have written from the same nodes, for every role."""
    from milepost.api.renderers import dumps
    from milepost.okrs.models import Cycle
    from milepost.organizations.access import actor_for
    from milepost.reports.queries import alignment_tree
    from milepost.reports.schemas import TreeOut

    cycle = Cycle.objects.get(pk=world.ids["cycle"])
    for role in ("viewer", "member", "admin"):
        served = _get(world, role, "/tree", {"cycle": cycle.pk})
        roots = alignment_tree(actor_for(world.users[role], world.org), cycle)
        validated = TreeOut.model_validate({"cycle": cycle.pk, "roots": roots}).model_dump()
        assert served == json.loads(dumps(validated)), role
        assert _nodes(served["roots"]), role


def test_the_schedule_is_exactly_what_its_schema_writes(world: World) -> None:
    """The schedule endpoint writes its JSON without validating it on the way out (speed): it
    must be what `ScheduleOut` would have written from the same schedule."""
    import dataclasses

    from milepost.api.renderers import dumps
    from milepost.okrs.models import Cycle
    from milepost.organizations.access import actor_for
    from milepost.reports.queries import roadmap_schedule
    from milepost.reports.schemas import ScheduleOut

    cycle = Cycle.objects.get(pk=world.ids["cycle"])
    served = _get(world, "viewer", "/schedule", {"cycle": cycle.pk})
    schedule = roadmap_schedule(actor_for(world.users["viewer"], world.org), cycle)
    validated = ScheduleOut.model_validate(dataclasses.asdict(schedule)).model_dump()
    assert served == json.loads(dumps(validated))
    assert served["items"]
    assert set(served) == set(ScheduleOut.model_fields)


def test_tree_locks_private_objectives_but_counts_them(world: World) -> None:
    tree = _get(world, "viewer", "/tree", {"cycle": world.ids["cycle"]})
    nodes = _nodes(tree["roots"])
    locked = [n for n in nodes if n["locked"]]
    assert len(locked) == 1
    node = locked[0]
    assert node["title"] is None
    assert node["key"] is None
    assert node["id"] is None
    assert node["key_results"] == []
    assert "Secret plan" not in str(tree)
    assert node["status"]
    assert node["progress"] is not None
    # The owner of the private objective (and any admin) sees it in full.
    admin_tree = _get(world, "admin", "/tree", {"cycle": world.ids["cycle"]})
    assert "Secret plan" in str(admin_tree)
    assert not any(n["locked"] for n in _nodes(admin_tree["roots"]))


def test_tree_shows_an_objective_under_each_of_its_parents(world: World) -> None:
    system = system_actor(world.org)
    from milepost.okrs.models import KeyResult, Objective

    child = Objective.objects.get(pk=world.ids["objective_spare"])
    okrs.align_objective(
        actor=system,
        child=child,
        parent_objective=Objective.objects.get(pk=world.ids["objective_parent"]),
    )
    okrs.align_objective(
        actor=system,
        child=child,
        parent_key_result=KeyResult.objects.get(pk=world.ids["key_result"]),
    )
    tree = _get(world, "member", "/tree", {"cycle": world.ids["cycle"]})
    appearances = [n for n in _nodes(tree["roots"]) if n["id"] == child.pk]
    assert len(appearances) == 2
    assert all(r["id"] != child.pk for r in tree["roots"])


def test_schedule_findings_and_priorities(world: World) -> None:
    params = {"cycle": world.ids["cycle"]}
    schedule = _get(world, "viewer", "/schedule", params)
    keys = {item["key"] for item in schedule["items"]}
    assert {"launch", "followup"} <= keys
    launch = next(i for i in schedule["items"] if i["key"] == "launch")
    assert launch["kind"] == "initiative"
    assert launch["id"] == world.ids["initiative"]
    assert schedule["error"] is None

    findings = _get(world, "viewer", "/findings", params)["items"]
    codes = {f["code"] for f in findings}
    assert "initiative-unaligned" in codes  # "followup" serves no key result
    assert all(f["severity"] in {"error", "warning", "info"} for f in findings)

    ranked = _get(world, "viewer", "/priorities", params)["items"]
    assert [r["rank"] for r in ranked] == sorted(r["rank"] for r in ranked)
    first = ranked[0]
    assert first["key"] == "launch"
    assert first["aligned"] is True
    assert first["explanation"]["terms"]
    assert ranked[-1]["aligned"] is False


def test_findings_about_hidden_objectives_are_left_out(world: World) -> None:
    # The private objective has no key results: an admin sees that finding, a viewer does not.
    admin = _get(world, "admin", "/findings", {"cycle": world.ids["cycle"]})["items"]
    viewer = _get(world, "viewer", "/findings", {"cycle": world.ids["cycle"]})["items"]
    about_secret = [f for f in admin if "objective:secret" in f["objects"]]
    assert about_secret
    assert not [f for f in viewer if "objective:secret" in f["objects"]]
    assert "Secret plan" not in str(viewer)


def test_redact_explanation_hides_keys_and_titles() -> None:
    explanation = Explanation(
        rule="r",
        summary="mean of secret/kr and open/kr",
        terms=(Term("key result secret/kr", "0.5", '"Secret title"'), Term("open/kr", "0.2", "d")),
        notes=("secret/kr was not evaluated", "secretive stays"),
    )
    redacted = redact_explanation(explanation, {"secret"})
    assert redacted.terms[0].label == "key result (private)"
    assert redacted.terms[0].detail == ""
    assert redacted.terms[1] == explanation.terms[1]
    assert redacted.notes == ("(private) was not evaluated", "secretive stays")
    assert "secret/" not in redacted.summary


def test_hidden_objective_keys(world: World) -> None:
    from milepost.organizations.access import actor_for

    viewer = actor_for(world.users["viewer"], world.org)
    admin = actor_for(world.users["admin"], world.org)
    assert hidden_objective_keys(viewer) == {"secret"}
    assert hidden_objective_keys(admin) == set()


def test_audit_log_is_for_admins(world: World) -> None:
    events = _get(world, "admin", "/audit-events", {"action": "checkin."})["items"]
    assert events
    assert all(e["action"].startswith("checkin.") for e in events)
    assert [e["created_at"] for e in events] == sorted(
        (e["created_at"] for e in events), reverse=True
    )
    refused = Client().get(
        f"/api/v1/orgs/{world.slug}/audit-events",
        headers={"Authorization": f"Bearer {world.tokens['member']}"},
    )
    assert refused.status_code == 403


def test_tree_needs_a_cycle_of_this_organization(world: World) -> None:
    response = Client().get(
        f"/api/v1/orgs/{world.slug}/tree",
        headers={"Authorization": f"Bearer {world.tokens['viewer']}"},
    )
    assert response.status_code == 422
    assert "cycle" in response.json()["errors"]


def test_priorities_follow_check_ins(world: World) -> None:
    """A check-in moves the numbers the read models show (they are live from the engine)."""
    from milepost.okrs.models import KeyResult

    system = system_actor(world.org)
    before = _get(world, "viewer", "/priorities", {"cycle": world.ids["cycle"]})["items"][0][
        "score"
    ]
    kr = KeyResult.objects.get(pk=world.ids["key_result"])
    okrs.record_checkin(actor=system, key_result=kr, value=Decimal(99))
    after = _get(world, "viewer", "/priorities", {"cycle": world.ids["cycle"]})["items"][0]["score"]
    assert Decimal(after) < Decimal(before)  # less gap left: less urgent


def _find(roots: list[dict[str, Any]], objective_id: int) -> dict[str, Any]:
    return next(n for n in _nodes(roots) if n["id"] == objective_id)


def test_the_subtree_below_an_objective_is_that_node_of_the_whole_tree(world: World) -> None:
    cycle, parent = world.ids["cycle"], world.ids["objective_parent"]
    for role in ("viewer", "admin"):
        whole = _get(world, role, "/tree", {"cycle": cycle})
        sub = _get(world, role, "/tree", {"cycle": cycle, "root": parent})
        assert sub["cycle"] == cycle
        assert sub["roots"] == [_find(whole["roots"], parent)], role
        assert len(_nodes(sub["roots"])) == 3  # the parent, the core goal, the private one
    # Below a leaf: the leaf alone.
    leaf = _get(world, "admin", "/tree", {"cycle": cycle, "root": world.ids["objective_spare"]})
    assert [n["id"] for n in _nodes(leaf["roots"])] == [world.ids["objective_spare"]]


def test_a_subtree_root_you_may_not_see_is_not_found(world: World) -> None:
    cycle = world.ids["cycle"]
    elsewhere = factories.make_org("Globex", "globex")
    theirs = factories.make_objective(factories.make_cycle(elsewhere))
    client = Client(headers={"Authorization": f"Bearer {world.tokens['viewer']}"})
    url = f"/api/v1/orgs/{world.slug}/tree"
    for root in (
        world.ids["objective_private"],  # private, not the viewer's
        world.ids["objective_archived"],
        theirs.pk,  # another organization's
        987_654_321,
    ):
        response = client.get(url, {"cycle": cycle, "root": root})
        assert response.status_code == 404, root
        assert response["Content-Type"].startswith("application/problem+json")
    assert "Secret plan" not in client.get(url, {"cycle": cycle}).content.decode()
