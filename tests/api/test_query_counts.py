"""Every list (and read model) runs the same number of SQL queries for one row as for many.

The list operations are found in the OpenAPI document; each has a way to add rows here, so a
new list without one fails. Rows are inserted directly (fast); the numbers are what the API
reads, not what the services would compute.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from milepost.accounts.models import User
from milepost.audit.models import AuditEvent
from milepost.integrations.models import WebhookDelivery, WebhookSubscription
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective, Retrospective
from milepost.organizations.models import Membership, Team
from milepost.reports import snapshot
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TimeEntry
from tests.api.operations import OPS, openapi, operations, url_for
from tests.api.test_cross_org_sweep import _send
from tests.api.world import World

pytestmark = pytest.mark.django_db

MORE = 25


def _objectives(w: World, n: int, prefix: str) -> list[Objective]:
    return Objective.objects.bulk_create(
        Objective(
            organization=w.org,
            cycle_id=w.ids["cycle"],
            key=f"{prefix}{i}",
            title=f"O{i}",
            owner_team_id=w.ids["team"],
            state="active",
        )
        for i in range(n)
    )


def _key_results(w: World, n: int) -> list[KeyResult]:
    return KeyResult.objects.bulk_create(
        KeyResult(
            organization=w.org,
            objective_id=w.ids["objective"],
            key=f"more{i}",
            title=f"K{i}",
            start_value=0,
            target_value=10,
            owner_id=w.ids["user_member"],
        )
        for i in range(n)
    )


def _initiatives(w: World, n: int) -> list[Initiative]:
    return Initiative.objects.bulk_create(
        Initiative(
            organization=w.org,
            key=f"more{i}",
            title=f"I{i}",
            team_id=w.ids["team"],
            cycle_id=w.ids["cycle"],
            status="planned",
            start_date=w.today,
            end_date=w.today + dt.timedelta(days=5),
            effort_days=Decimal(2),
        )
        for i in range(n)
    )


def _members(w: World, n: int) -> None:
    users = User.objects.bulk_create(User(email=f"more{i}@x.test") for i in range(n))
    Membership.objects.bulk_create(
        Membership(organization=w.org, user=u, role="member") for u in users
    )


def _checkins(w: World, n: int) -> None:
    now = timezone.now()
    CheckIn.objects.bulk_create(
        CheckIn(
            organization=w.org,
            key_result_id=w.ids["key_result"],
            value=i,
            recorded_at=now,
            effective_date=w.today,
            author_id=w.ids["user_member"],
        )
        for i in range(n)
    )


def _alignments(w: World, n: int) -> None:
    parents = _objectives(w, n, "parent")
    Alignment.objects.bulk_create(
        Alignment(organization=w.org, child_id=w.ids["objective"], parent_objective=p)
        for p in parents
    )


def _retrospectives(w: World, n: int) -> None:
    Retrospective.objects.bulk_create(
        Retrospective(organization=w.org, cycle_id=w.ids["cycle"], objective=o, grade="partial")
        for o in _objectives(w, n, "retro")
    )


def _links(w: World, n: int) -> None:
    InitiativeKeyResult.objects.bulk_create(
        InitiativeKeyResult(organization=w.org, initiative_id=w.ids["initiative"], key_result=k)
        for k in _key_results(w, n)
    )


def _dependencies(w: World, n: int) -> None:
    Dependency.objects.bulk_create(
        Dependency(
            organization=w.org,
            predecessor_initiative_id=w.ids["initiative"],
            successor_initiative=i,
        )
        for i in _initiatives(w, n)
    )


def _time_entries(w: World, n: int) -> None:
    TimeEntry.objects.bulk_create(
        TimeEntry(
            organization=w.org,
            task_id=w.ids["task"],
            initiative_id=w.ids["initiative"],
            user_id=w.ids["user_member"],
            date=w.today - dt.timedelta(days=i + 1),
            hours=1,
        )
        for i in range(n)
    )


def _audit(w: World, n: int) -> None:
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=w.org,
            actor_id=w.ids["user_member"],
            actor_label="m",
            action="x.y",
            target_type="x",
            created_at=now,
        )
        for _ in range(n)
    )


GROW: dict[str, Callable[[World, int], object]] = {
    "list_members": _members,
    "list_teams": lambda w, n: Team.objects.bulk_create(
        Team(organization=w.org, key=f"more{i}", name=f"T{i}", parent_id=w.ids["team"])
        for i in range(n)
    ),
    "list_cycles": lambda w, n: Cycle.objects.bulk_create(
        Cycle(
            organization=w.org, key=f"more{i}", name=f"C{i}", start_date=w.today, end_date=w.today
        )
        for i in range(n)
    ),
    "list_objectives": lambda w, n: _objectives(w, n, "more"),
    "list_alignments": _alignments,
    "list_key_results": _key_results,
    "list_key_result_checkins": _checkins,
    "list_checkins": _checkins,
    "list_retrospectives": _retrospectives,
    "list_initiatives": _initiatives,
    "list_initiative_links": _links,
    "list_milestones": lambda w, n: Milestone.objects.bulk_create(
        Milestone(
            organization=w.org,
            key=f"more{i}",
            name=f"M{i}",
            date=w.today,
            initiative_id=w.ids["initiative"],
        )
        for i in range(n)
    ),
    "list_dependencies": _dependencies,
    "list_tasks": lambda w, n: Task.objects.bulk_create(
        Task(organization=w.org, initiative_id=w.ids["initiative"], title=f"T{i}") for i in range(n)
    ),
    "list_time_entries": _time_entries,
    "list_audit_events": _audit,
    # read models
    "alignment_tree": lambda w, n: _objectives(w, n, "tree"),
    "roadmap_schedule": _initiatives,
    "plan_findings": _initiatives,
    "priority_ranking": _initiatives,
}


def _list_operations() -> list[tuple[str, str, str]]:
    schema = openapi()
    return [
        op
        for op in operations(schema)
        if op[0] == "GET" and (op[2].startswith("list_") or op[2] in GROW)
    ]


def test_every_list_has_a_query_count_check() -> None:
    missing = {op_id for _, _, op_id in _list_operations()} - set(GROW)
    assert not missing, f"lists without a query-count check: {sorted(missing)}"


@pytest.mark.parametrize("op_id", sorted(GROW))
def test_query_count_does_not_grow_with_rows(op_id: str, world: World) -> None:
    template = next(path for _, path, name in _list_operations() if name == op_id)
    call = OPS[op_id].build(world.ids, world.today)
    call.query["limit"] = 200 if op_id.startswith("list_") else None
    call.query = {k: v for k, v in call.query.items() if v is not None}
    client = Client()
    url = url_for(template, world.slug, call)
    token = world.tokens["owner"]
    assert _send(client, token, "GET", url, call).status_code == 200  # warm-up (token use)

    def count() -> tuple[int, int]:
        # Each count with the plan read afresh (a kept evaluation needs fewer queries), also
        # because the rows below are written directly, not through the services whose audit
        # events tell a kept evaluation that the plan changed.
        snapshot.clear()
        with CaptureQueriesContext(connection) as ctx:
            response = _send(client, token, "GET", url, call)
        assert response.status_code == 200, response.content
        body = response.json()
        rows = len(body.get("items", body.get("roots", [])))
        return len(ctx.captured_queries), rows

    few, few_rows = count()
    GROW[op_id](world, MORE)
    many, many_rows = count()
    assert many_rows > few_rows >= 1 or op_id in {"roadmap_schedule"}
    assert many == few, f"{op_id}: {few} queries for {few_rows} rows, {many} for {many_rows}"


def _statement(sql: str) -> str:
    """ "SELECT accounts_apitoken" for a query: its verb and the first name it quotes (the
    table of its first column, or the table it writes). A statement PostgreSQL ran prepared
    (`milepost.prepared`) is logged by Django as ``QUERY = '<sql>' - PARAMS = (...)``."""
    sql = sql.removeprefix("QUERY = '")
    verb = sql.split(None, 1)[0].upper()
    name = re.search(r'"(\w+)"', sql)
    return f"{verb} {name.group(1) if name else ''}".strip()


def test_one_api_checkin_runs_a_fixed_list_of_queries(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """Issue 9, W2: what one check-in through the API costs in SQL, query by query. The key
    result is read once, with its objective, cycle and owner, locked, and written once; the audit
    event is written before the objective is locked (objectives are locked last, just
    before the commit); the webhook subscriptions are read once after the commit for both
    events (it was once per event)."""
    WebhookSubscription.objects.create(
        organization=world.org,
        url="https://hooks.example.com/milepost",
        events=["checkin.recorded", "status.changed"],
        secret="not-a-real-secret",
    )
    client = Client()
    url = f"/api/v1/orgs/{world.slug}/key-results/{world.ids['key_result']}/check-ins"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens['owner']}"}

    def post(value: str) -> Any:
        return client.post(
            url,
            data={"value": value, "confidence": 7},
            content_type="application/json",
            **auth,
        )

    assert post("1").status_code == 201  # warm-up (the token's last use is written once)
    deliveries = WebhookDelivery.objects.count()
    with (
        CaptureQueriesContext(connection) as ctx,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post("10")
    assert response.status_code == 201, response.content
    assert response.json()["value"].startswith("10")
    statements = [
        _statement(q["sql"])
        for q in ctx.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    assert statements == [
        "SELECT accounts_apitoken",  # the token, its user, organization and membership
        # Locked, with its objective, cycle and owner; the service checks there that the
        # actor sees it and may check in (the API no longer reads it beforehand).
        "SELECT okrs_keyresult",
        "INSERT okrs_checkin",
        "SELECT okrs_checkin",  # its history, for the engine
        "UPDATE okrs_keyresult",  # stored numbers and version, one statement
        "INSERT audit_auditevent",
        "SELECT okrs_objective",  # locked last
        "SELECT okrs_keyresult",  # the objective's key results, for the roll-up
        "UPDATE okrs_objective",
        "SELECT integrations_webhooksubscription",  # after the commit, once for both events
        "INSERT integrations_webhookdelivery",
    ]
    # Both events reached the subscription: the value moved the status too.
    events = set(
        WebhookDelivery.objects.order_by("-pk").values_list("event", flat=True)[
            : WebhookDelivery.objects.count() - deliveries
        ]
    )
    assert events == {"checkin.recorded", "status.changed"}
