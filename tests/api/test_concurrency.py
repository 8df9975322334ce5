"""Concurrent writers on one key result, on PostgreSQL: 20 threads, each with its own database
connection, edit the key result (read, change, write with If-Match, retry on 412) and record
check-ins at the same moment.

Expected: every stale write is answered 412 (never silently applied), no accepted write is
lost (every edit's marker is in the final text, every check-in is stored), the stored
progress equals a full engine recompute, and nothing deadlocks (every thread finishes).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import Client

from milepost.okrs import services as okrs
from milepost.okrs.engine_io import organization_today, recompute_organization
from milepost.okrs.models import CheckIn, KeyResult, Objective
from milepost.organizations.access import system_actor
from milepost.organizations.models import Role
from tests import factories
from tests.api.conftest import token_for

THREADS = 20
EDITORS = THREADS // 2
MAX_ATTEMPTS = 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_and_checkins_on_one_key_result() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite allows one writer at a time, so there is no concurrent "
            "write to test (run with DATABASE_URL=postgres://…)"
        )
    org = factories.make_org("Acme", "acme")
    admin = factories.make_member(org, Role.ADMIN, "admin@acme.test")
    system = system_actor(org)
    today = organization_today(org)
    cycle = okrs.create_cycle(
        actor=system,
        key="q",
        name="Q",
        start_date=today - dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=60),
    )
    parent = okrs.create_objective(
        actor=system, cycle=cycle, key="top", title="Top", state="active"
    )
    objective = okrs.create_objective(actor=system, cycle=cycle, key="o", title="O", state="active")
    okrs.align_objective(actor=system, child=objective, parent_objective=parent)
    kr = okrs.create_key_result(
        actor=system,
        objective=objective,
        key="k",
        title="K",
        kind="increase",
        start_value=Decimal(0),
        target_value=Decimal(1000),
        owner=admin,
    )
    tokens = [token_for(org, admin) for _ in range(4)]
    url = f"/api/v1/orgs/acme/key-results/{kr.pk}"
    barrier = threading.Barrier(THREADS)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def editor(i: int) -> None:
        client = Client()
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
        statuses: list[int] = []
        barrier.wait(timeout=30)
        for _ in range(MAX_ATTEMPTS):
            current = client.get(url, headers=headers)
            statuses.append(current.status_code)
            description = current.json()["description"]
            response = client.patch(
                url,
                orjson.dumps({"description": f"{description}[{i}]"}),
                content_type="application/json",
                headers={**headers, "If-Match": current["ETag"]},
            )
            statuses.append(response.status_code)
            if response.status_code != 412:
                break
        with lock:
            results.append({"kind": "edit", "i": i, "statuses": statuses})

    def checker(i: int) -> None:
        client = Client()
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}", "Idempotency-Key": f"c{i}"}
        barrier.wait(timeout=30)
        response = client.post(
            f"{url}/check-ins",
            orjson.dumps({"value": i * 10, "confidence": 5}),
            content_type="application/json",
            headers=headers,
        )
        with lock:
            results.append({"kind": "checkin", "i": i, "statuses": [response.status_code]})

    def run(target: Any, i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # reported below, in the main thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [
        threading.Thread(target=run, args=(editor if i < EDITORS else checker, i), daemon=True)
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer never finished (deadlock?)"
    assert not errors, errors
    assert len(results) == THREADS

    statuses = Counter(s for r in results for s in r["statuses"])
    assert set(statuses) <= {200, 201, 412}, statuses  # no 5xx, no 409 from a lock error
    edits = [r for r in results if r["kind"] == "edit"]
    assert all(r["statuses"][-1] == 200 for r in edits), edits  # every editor got through
    # Stale writes were refused, not applied: with this many writers some were stale.
    assert statuses[412] >= 1

    kr.refresh_from_db()
    for i in range(EDITORS):  # no accepted edit was lost
        assert f"[{i}]" in kr.description
    assert kr.description.count("[") == EDITORS
    stored = CheckIn.objects.filter(key_result=kr)
    assert stored.count() == THREADS - EDITORS  # every check-in, once
    latest = stored.order_by("effective_date", "recorded_at", "id").last()
    assert latest is not None
    assert kr.current_value == latest.value
    # Every accepted write bumped the version exactly once.
    assert kr.version == 1 + EDITORS + (THREADS - EDITORS)

    progress = {
        "kr": (kr.progress, kr.status),
        "objectives": sorted(
            Objective.objects.filter(organization=org).values_list("key", "progress", "status")
        ),
    }
    changed = recompute_organization(org)
    assert changed.key_results == 0
    assert changed.objectives == 0
    kr_after = KeyResult.objects.get(pk=kr.pk)
    assert (kr_after.progress, kr_after.status) == progress["kr"]
    assert (
        sorted(Objective.objects.filter(organization=org).values_list("key", "progress", "status"))
        == progress["objectives"]
    )
