"""THE cross-organization sweep, built from the OpenAPI document itself.

For every operation: a token of organization B is used with organization A's ids in the path,
the query and the body. Every call answers 404 — or 422 where the id is only a reference in a
body or a filter — exactly as it answers for an id that exists nowhere (so nothing reveals
that A's object exists), and organization A is unchanged row for row. An operation missing
from tests/api/operations.py fails the test. An operation outside ``/orgs/{slug}/`` (the push
endpoint ``POST /key-results/{id}/check-ins``, whose organization is the token's) gets B's
token with A's ids: the same 404 as an id that exists nowhere.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import Client

from tests.api.operations import OPS, UNSCOPED, Call, openapi, operations, url_for
from tests.api.world import World, build_world, dump_organization, missing_ids

pytestmark = pytest.mark.django_db


def _send(client: Client, token: str, method: str, url: str, call: Call) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if method in {"PATCH", "PUT", "DELETE"}:
        headers["If-Match"] = "*"
    if method == "GET":
        return client.get(url, call.query, headers=headers)
    query = "&".join(f"{k}={v}" for k, v in call.query.items())
    return client.generic(
        method,
        f"{url}?{query}" if query else url,
        orjson.dumps(call.body if call.body is not None else {}),
        content_type="application/json",
        headers=headers,
    )


def _problem(response: Any) -> dict[str, Any]:
    body = response.json()
    return {k: body.get(k) for k in ("type", "title", "status", "detail", "errors")}


def test_every_operation_is_covered_by_the_sweep() -> None:
    schema = openapi()
    names = {op_id for _, _, op_id in operations(schema)}
    missing = names - set(OPS) - UNSCOPED
    assert not missing, f"operations with no entry in tests/api/operations.py: {sorted(missing)}"
    stale = set(OPS) - names
    assert not stale, f"entries for operations that no longer exist: {sorted(stale)}"


def test_organization_b_cannot_reach_organization_a() -> None:
    a: World = build_world("Acme", "acme")
    b: World = build_world("Globex", "globex")
    token_b = b.tokens["owner"]
    client = Client()
    before = dump_organization(a.org)
    schema = openapi()
    failures: list[str] = []
    checked = 0
    for method, template, op_id in operations(schema):
        if op_id in UNSCOPED:
            continue
        call = OPS[op_id].build(a.ids, a.today)
        # 1. B's token on A's URL: A's organization itself is not found.
        response = _send(client, token_b, method, url_for(template, a.slug, call), call)
        if response.status_code != 404:
            failures.append(f"{method} {template} on A's slug: {response.status_code}")
        checked += 1
        ghost = OPS[op_id].build(missing_ids(a), a.today)
        if not call.names_ids_unlike(ghost):
            continue  # nothing of A's to name under B's own URL
        # 2. B's own URL naming A's ids: 404 for an object in the path, 422 for a reference.
        response = _send(client, token_b, method, url_for(template, b.slug, call), call)
        expected = 404 if call.path else 422
        if response.status_code != expected:
            failures.append(
                f"{method} {template} with A's ids: {response.status_code} (expected {expected}) "
                f"{response.content[:200]!r}"
            )
            continue
        # ...and exactly what an id that exists nowhere gets: A's objects are not revealed.
        ghost_response = _send(client, token_b, method, url_for(template, b.slug, ghost), ghost)
        if _problem(ghost_response) != _problem(response):
            failures.append(
                f"{method} {template}: A's id answers {_problem(response)} but a missing id "
                f"answers {_problem(ghost_response)}"
            )
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked > len(OPS)
    assert dump_organization(a.org) == before
