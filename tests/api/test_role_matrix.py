"""THE role matrix: every mutating operation of the OpenAPI document by every role.

Roles (see tests/api/world.py): viewer; member — in the team that owns the objective,
key result, initiative and task the calls name, and owner of the key result and the time
entry; other — a member of no team who owns nothing; admin; owner. Issue 5's table:

* viewer reads and changes nothing;
* a member checks in on key results they own and edits items of their teams (and logs their
  own time);
* an admin does everything in the organization;
* an owner also manages members and settings.

Each call runs in a savepoint that is rolled back, so every role meets the same state. An
allowed call succeeds (2xx); a refused one is exactly 403 (the object is visible).
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from tests.api.operations import OPS, openapi, operations, url_for
from tests.api.test_cross_org_sweep import _send
from tests.api.world import ROLES, build_world

pytestmark = pytest.mark.django_db

MUTATING = {"POST", "PATCH", "PUT", "DELETE"}


def test_every_mutating_operation_for_every_role() -> None:
    world = build_world("Acme", "acme")
    client = Client()
    schema = openapi()
    failures: list[str] = []
    calls = 0
    for method, template, op_id in operations(schema):
        if method not in MUTATING:
            continue
        assert op_id in OPS, f"{op_id} has no entry in tests/api/operations.py"
        spec = OPS[op_id]
        call = spec.build(world.ids, world.today)
        url = url_for(template, world.slug, call)
        for role in ROLES:
            savepoint = transaction.savepoint_create()
            try:
                response = _send(client, world.tokens[role], method, url, call)
            finally:
                transaction.savepoint_rollback(savepoint)
            calls += 1
            allowed = role in spec.allowed
            ok = 200 <= response.status_code < 300 if allowed else response.status_code == 403
            if not ok:
                failures.append(
                    f"{op_id} as {role}: {response.status_code} (expected "
                    f"{'2xx' if allowed else '403'}) {response.content[:160]!r}"
                )
    assert calls >= 5 * 40
    assert not failures, "\n".join(failures)
