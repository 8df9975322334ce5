"""The bulk path of a plan import (into an organization with no plan data) against the item
path (through the services, one item at a time): same rows, same export, same result, same
errors at the same paths; merging into an organization with data stays on the item path."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from datetime import date
from typing import Any

import pytest
from django.db import connection

from milepost.accounts.models import User
from milepost.audit.models import AuditEvent
from milepost.okrs.engine_io import recompute_organization
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.models import Membership, Organization, Team
from milepost.plans.bulk_import import NewRows
from milepost.plans.document import format_path
from milepost.plans.exporter import export_text
from milepost.plans.import_support import ImportResult
from milepost.plans.importer import import_plan_text
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task
from tests import factories
from tests.plans.plan_texts import SMALL_PLAN

pytestmark = pytest.mark.django_db

_slugs = itertools.count(1)
PLAN_TABLES: tuple[type[Any], ...] = (
    Team,
    Cycle,
    Objective,
    KeyResult,
    CheckIn,
    Alignment,
    Initiative,
    InitiativeKeyResult,
    Milestone,
    Dependency,
    Task,
)
# What differs between two imports of one file whatever the path: ids, the tenant, times.
SKIPPED = {"id", "organization", "created_at", "updated_at", "closed_at", "done_at"}
SKIPPED |= {"recorded_at", "last_checkin_at"}


def run(text: str, slug: str, *, bulk: bool = True, **kwargs: Any) -> ImportResult:
    kwargs.setdefault("actor_or_none", None)
    return import_plan_text(text=text, organization_slug=slug, bulk=bulk, **kwargs)


def issues(result: ImportResult) -> list[str]:
    return [f"{format_path(i.path)}: {i.message}" for i in result.errors]


def counts() -> dict[str, int]:
    tables: tuple[type[Any], ...] = (*PLAN_TABLES, Organization, Membership, AuditEvent)
    return {model.__name__: model.objects.count() for model in tables}


def _natural(value: Any) -> Any:
    """A referenced row by its key (or title), so two organizations' rows compare."""
    if value is None:
        return None
    for name in ("key", "email"):
        if hasattr(value, name):
            return getattr(value, name)
    return str(value)


def rows(org: Organization) -> dict[str, list[tuple[Any, ...]]]:
    """Every plan row of the organization, field by field (references by key), sorted."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in PLAN_TABLES:
        fields = [f for f in model._meta.concrete_fields if f.name not in SKIPPED]
        table = []
        for row in model.objects.filter(organization=org):
            table.append(
                tuple(
                    (
                        f.name,
                        _natural(getattr(row, f.name))
                        if f.is_relation
                        else getattr(row, f.attname),
                    )
                    for f in fields
                )
            )
        out[model.__name__] = sorted(table, key=repr)
    return out


def stamped(org: Organization, model: type[Any], name: str) -> int:
    """How many rows of the organization have the timestamp `name` set."""
    return int(model.objects.filter(organization=org, **{f"{name}__isnull": False}).count())


def actions(org: Organization) -> Counter[str]:
    return Counter(
        AuditEvent.objects.filter(organization=org)
        .exclude(action="plan.import")
        .values_list("action", flat=True)
    )


def assert_same_import(text: str) -> tuple[Organization, Organization, ImportResult]:
    """Import `text` into two new organizations, one per path; both give the same."""
    slug = next(_slugs)
    bulk = run(text, f"bulk-{slug}")
    item = run(text, f"item-{slug}", bulk=False)
    assert bulk.applied, issues(bulk)
    assert item.applied, issues(item)
    fast = Organization.objects.get(slug=f"bulk-{slug}")
    slow = Organization.objects.get(slug=f"item-{slug}")
    # The bulk path took the bulk route (its summary event) and the item path did not.
    assert AuditEvent.objects.filter(organization=fast, action="plan.import").count() == 1
    assert not AuditEvent.objects.filter(organization=slow, action="plan.import").exists()
    # What the CLI and the web page show.
    assert bulk.summary_lines() == item.summary_lines()
    assert [str(c).replace("bulk-", "item-") for c in bulk.changes] == [
        str(c) for c in item.changes
    ]
    assert [c.path for c in bulk.changes] == [c.path for c in item.changes]
    assert bulk.warnings == item.warnings
    # The same rows (versions, states, stored progress included) and the same export.
    assert rows(fast) == rows(slow)
    for model, name in (
        (Initiative, "closed_at"),
        (Task, "done_at"),
        (KeyResult, "last_checkin_at"),
    ):
        assert stamped(fast, model, name) == stamped(slow, model, name)
    assert export_text(fast) == export_text(slow)
    assert export_text(fast, fmt="json") == export_text(slow, fmt="json")
    # The same audit events (per row, with the follow-up updates the services write).
    assert actions(fast) == actions(slow)
    # The stored numbers are what a full recompute gives.
    assert recompute_organization(fast) == (0, 0)
    return fast, slow, bulk


def test_the_bulk_path_and_the_item_path_give_the_same_rows_result_and_export() -> None:
    factories.make_user("boss@initech.test")  # added as a member by both paths

    fast, _, result = assert_same_import(SMALL_PLAN)

    assert result.counts["checkin"].created == 4
    assert result.counts["member"].created == 1
    summary = AuditEvent.objects.get(organization=fast, action="plan.import")
    assert summary.actor_label == "plan import"
    assert summary.after == {
        "path": "bulk",
        "created": {
            "teams": 2,
            "cycles": 2,
            "objectives": 2,
            "key results": 3,
            "alignment links": 1,
            "initiatives": 2,
            "initiative links to key results": 2,
            "milestones": 2,
            "dependencies": 1,
            "tasks": 4,
            "check-ins": 4,
        },
    }
    # Rows created in their final state, with the version the item path leaves.
    assert Team.objects.get(organization=fast, key="web").version == 2  # given its parent
    assert Cycle.objects.get(organization=fast, key="q3").state == "closed"
    redesign = Initiative.objects.get(organization=fast, key="redesign")
    assert (redesign.status, redesign.version) == ("cancelled", 2)
    cdn = Initiative.objects.get(organization=fast, key="cdn")
    assert (cdn.status, cdn.version, cdn.closed_at is not None) == ("done", 2, True)


def test_the_demo_organization_imports_the_same_through_both_paths(settings: Any) -> None:
    from milepost.demo.loader import load_demo

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo = load_demo(date(2026, 11, 20))
    text = export_text(demo)

    fast, _, result = assert_same_import(text)

    assert result.counts["task"].created > 50
    assert export_text(fast) == text  # the round trip through the bulk path


def test_a_file_with_errors_imports_nothing_and_lists_the_same_errors_as_the_item_path() -> None:
    factories.make_user("sleepy@initech.test", is_active=False)
    broken = (
        SMALL_PLAN.replace("2025-06-30, value: 1250000", "2099-06-30, value: 1250000")
        .replace("{key: mock,", "{key: mock.up,")  # keys in the database are slugs
        .replace("teams:\n", "teams:\n  - key: extra\n    name: " + "W" * 201 + "\n")
        .replace(
            "initiatives:\n",
            "  - key: extra-goal\n    title: Extra\n    cycle: fy2025\n    team: extra\n"
            "    key_results:\n      - {key: x, title: X, kind: binary, start: 0, target: 2}\n"
            "initiatives:\n",
        )
        .replace(
            "      - key: arr\n",
            "      - key: done\n        title: Done\n"
            "        kind: binary\n        start: 0\n        target: 2\n"
            "      - key: arr\n",
        )
        .replace(
            "    actual_cost: 4200.50\n",
            "    actual_cost: 4200.50\n    owner: sleepy@initech.test\n",
        )
        .replace(
            "{key: beta, name: Beta, date: 2025-08-20, done_on: 2025-08-22}",
            "{key: beta, name: Beta, date: 2025-08-20, done_on: 2099-08-22}",
        )
    )
    factories.make_org("Initech", "bulk-errors")  # exists and is empty: the bulk path
    factories.make_org("Initech", "item-errors")
    before = counts()

    bulk = run(broken, "bulk-errors")
    item = run(broken, "item-errors", bulk=False)

    assert not bulk.applied
    assert issues(bulk) == issues(item)
    assert bulk.warnings == item.warnings
    assert bulk.summary_lines() == item.summary_lines()
    found = issues(bulk)
    assert any(e.startswith("objectives[0].key_results[0].target") for e in found), found
    assert any(e.startswith("objectives[0].key_results[1].checkins[1].date") for e in found)
    assert any(e.startswith("initiatives[1].tasks[0].key:") for e in found), found
    assert any(e.startswith("teams[0].name: Ensure this value") for e in found), found
    assert "initiatives[0].owner: is not a member of this organization" in found
    assert any(e.startswith("initiatives[1].milestones[0].done_on: cannot be") for e in found)
    # The extra team failed: its objective is skipped, its key result not reported.
    assert not any(e.startswith("objectives[2]") for e in found), found
    assert counts() == before  # nothing written, not even an audit event


def test_a_dependency_loop_is_left_to_the_item_path_which_reports_it() -> None:
    looped = SMALL_PLAN.replace(
        "    key_results:\n      - {key_result: site/speed}\n",
        "    key_results:\n      - {key_result: site/speed}\n"
        "    depends_on:\n      - {initiative: redesign}\n",
    )
    before = counts()

    bulk = run(looped, "loop-bulk")
    item = run(looped, "loop-item", bulk=False)

    assert not bulk.applied
    assert issues(bulk) == issues(item)
    assert any("would close the loop" in e or "loop" in e for e in issues(bulk)), issues(bulk)
    assert counts() == before


def test_an_organization_with_data_is_merged_item_by_item() -> None:
    run(SMALL_PLAN, "merge")
    org = Organization.objects.get(slug="merge")
    assert AuditEvent.objects.filter(organization=org, action="plan.import").count() == 1
    changed = SMALL_PLAN.replace("target: 1500000", "target: 1600000").replace(
        "  - key: q3\n", "  - key: q4\n    start: 2025-10-01\n    end: 2025-12-31\n  - key: q3\n"
    )

    result = run(changed, "merge")

    assert result.applied, issues(result)
    assert "updated key result grow/arr (target: 1500000 → 1600000)" in [
        str(c) for c in result.changes
    ]
    assert result.counts["cycle"].created == 1
    assert result.counts["checkin"].unchanged == 4  # the history is matched, not re-added
    assert CheckIn.objects.filter(organization=org).count() == 4
    # Still one summary event: the second import went through the services.
    assert AuditEvent.objects.filter(organization=org, action="plan.import").count() == 1
    assert AuditEvent.objects.filter(organization=org, action="keyresult.update").exists()


def test_a_dry_run_through_the_bulk_path_writes_nothing_and_reports_the_same_counts() -> None:
    before = counts()

    dry = run(SMALL_PLAN, "dry", dry_run=True)

    assert dry.ok
    assert not dry.applied
    assert counts() == before
    real = run(SMALL_PLAN, "dry")
    assert real.applied
    assert dry.summary_lines() == real.summary_lines()
    assert [str(c) for c in dry.changes] == [str(c) for c in real.changes]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_postgresql_knows_the_imported_tables_sizes_after_a_bulk_import() -> None:
    def estimated(model: type[Any]) -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
            )
            return float(cursor.fetchone()[0])

    before = {model: estimated(model) for model in PLAN_TABLES}
    result = run(SMALL_PLAN, f"stats-{next(_slugs)}")

    assert result.applied
    for model in PLAN_TABLES:  # analysed: the estimate is the table's size, not what it was
        assert estimated(model) == model.objects.count(), (model.__name__, before[model])


def _columns(row: Any) -> dict[str, Any]:
    return {name: value for name, value in row.__dict__.items() if name != "_state"}


@pytest.mark.django_db
def test_new_rows_are_what_the_models_constructor_makes() -> None:
    org = factories.make_org()
    initiative = Initiative(organization=org, key="launch", title="Launch")  # not saved yet
    assignee = factories.make_member(org)
    values: dict[str, Any] = {
        "organization_id": org.pk,
        "initiative": initiative,
        "key": "t-1",
        "title": "Write the announcement",
        "assignee": assignee,
        "status": "doing",
        "due_date": date(2026, 9, 1),
    }
    made, constructed = NewRows(Task).make(**values), Task(**values)
    assert _columns(made) == _columns(constructed)
    assert made._state.fields_cache == constructed._state.fields_cache
    # As small as a constructed row: its attribute names are shared with the model's other rows.
    assert sys.getsizeof(made.__dict__) == sys.getsizeof(constructed.__dict__)
    assert (made._state.adding, made._state.db) == (True, None)
    assert made.initiative is initiative
    assert made.assignee_id == assignee.pk
    # Saved once what it refers to is saved, as a constructed row is.
    initiative.save()
    made.save()
    stored = Task.objects.get(pk=made.pk)
    assert (stored.initiative_id, stored.assignee_id, stored.version) == (
        initiative.pk,
        assignee.pk,
        1,
    )
    without_author = {"organization_id": org.pk, "key_result": None, "author": None}
    assert _columns(NewRows(CheckIn).make(**without_author)) == _columns(CheckIn(**without_author))


def test_new_rows_refuse_a_model_whose_constructor_does_more() -> None:
    from django.db.models.signals import post_init

    def listener(**_: Any) -> None:
        pass

    post_init.connect(listener, sender=Task)
    try:
        with pytest.raises(TypeError, match="init listeners"):
            NewRows(Task)
    finally:
        post_init.disconnect(listener, sender=Task)
    with pytest.raises(TypeError, match="Task has no field owner"):
        NewRows(Task).make(title="A task", owner=None)
    with pytest.raises(TypeError, match="callable default"):
        NewRows(User)  # date_joined defaults to the time of the call
