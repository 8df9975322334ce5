"""Pinned SQL query counts of the endpoints the benchmarks load (issue 9): the task list,
the objective list with progress, the initiative list, the alignment tree (API and page) and
the roadmap page. A count that changes is a conscious decision: update the pin and say why.

The counts include every query of the request (token or session, user, membership).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.reports import snapshot
from tests.api.operations import OPS, openapi, operations, url_for
from tests.api.test_cross_org_sweep import _send
from tests.api.test_query_counts import GROW, MORE
from tests.api.world import build_world
from tests.web.builders import build_plan
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db

# A token request reads the token with its user, organization, membership role and team ids
# in one query (three before issue 9's W4 work).
PINNED_API: dict[str, int] = {
    "list_tasks": 3,
    "list_objectives": 4,
    "list_initiatives": 4,
    "alignment_tree": 5,
}
# Warm (the page's plan evaluation kept between requests, as in production; its change token
# read with the membership).
# The roadmap reads the teams of its team filter (one query) since it has one.
PINNED_PAGES: dict[str, int] = {"roadmap": 6, "alignment": 8, "objectives": 5}


@pytest.mark.parametrize("op_id", sorted(PINNED_API))
def test_api_query_count_is_pinned(op_id: str) -> None:
    world = build_world("Acme", "acme")
    template = next(path for _, path, name in operations(openapi()) if name == op_id)
    call = OPS[op_id].build(world.ids, world.today)
    if op_id.startswith("list_"):
        call.query["limit"] = 50
    call.query = {k: v for k, v in call.query.items() if v is not None}
    client = Client()
    url = url_for(template, world.slug, call)
    token = world.tokens["owner"]
    GROW[op_id](world, MORE)  # many rows: an N+1 would show as many more queries
    assert _send(client, token, "GET", url, call).status_code == 200  # warm-up (token use)
    with CaptureQueriesContext(connection) as ctx:
        response = _send(client, token, "GET", url, call)
    assert response.status_code == 200, response.content
    assert len(ctx.captured_queries) == PINNED_API[op_id], [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("page", sorted(PINNED_PAGES))
def test_page_query_count_is_pinned(page: str, org: Organization, member: Actor) -> None:
    assert member.user is not None
    build_plan(org, member.user, size=6)
    client = client_for(member)
    client.get("/")  # the first visit of a session records it
    url = {"roadmap": "/roadmap/", "alignment": "/alignment/", "objectives": "/objectives/"}[page]
    snapshot.clear()
    assert client.get(url).status_code == 200  # computes and keeps the plan's evaluation
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    assert len(ctx.captured_queries) == PINNED_PAGES[page], [q["sql"] for q in ctx.captured_queries]
