"""Work services: tasks (done_at), time entries (who, how much, where), their constraints
(InvalidInput naming the field, nothing written), audit events and archive/restore."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from milepost.audit.models import AuditEvent
from milepost.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Organization
from milepost.roadmap.models import Initiative
from milepost.work import services
from milepost.work.access import access_task, access_time_entry
from milepost.work.models import Task, TimeEntry
from tests import factories

Counts = Callable[[], dict[str, int]]
DAY = date(2026, 11, 2)


def _refused(counts: Counts, field: str, call: Callable[[], Any]) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert field in caught.value.errors, caught.value.errors
    assert counts() == before


@pytest.fixture
def task(initiative: Initiative) -> Task:
    return factories.make_task(initiative, "Design the form")


# --- tasks ---------------------------------------------------------------------------------


def test_create_task_with_an_audit_event(
    admin: Actor, initiative: Initiative, member: Actor
) -> None:
    task = services.create_task(
        actor=admin,
        initiative=initiative,
        title=" Build API ",
        assignee=member.user,
        estimate_hours=Decimal(16),
        due_date=date(2026, 11, 20),
        key="api",
    )
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.assignee_id, stored.status) == (
        "Build API",
        member.user_id,
        "todo",
    )
    assert stored.organization_id == initiative.organization_id
    [event] = AuditEvent.objects.filter(action="task.create")
    assert event.after is not None
    assert event.after["estimate_hours"] == "16"
    assert event.after["initiative_id"] == initiative.pk


def test_done_sets_done_at_and_leaving_done_clears_it(admin: Actor, task: Task) -> None:
    done = services.update_task(actor=admin, task=task, changes={"status": "done"})
    assert done.done_at is not None
    [event] = AuditEvent.objects.filter(action="task.update")
    assert event.before == {"status": "todo", "done_at": None}
    assert event.after is not None
    assert event.after["status"] == "done"
    again = services.update_task(actor=admin, task=done, changes={"status": "in_progress"})
    assert again.done_at is None


def test_a_task_created_done_has_done_at(admin: Actor, initiative: Initiative) -> None:
    task = services.create_task(actor=admin, initiative=initiative, title="Old", status="done")
    assert task.done_at is not None


def test_update_task_with_a_stale_version(admin: Actor, task: Task, row_counts: Counts) -> None:
    before = row_counts()
    with pytest.raises(StaleVersion):
        services.update_task(
            actor=admin, task=task, changes={"title": "X"}, expected_version=task.version + 1
        )
    assert row_counts() == before


def test_archive_and_restore_task(admin: Actor, task: Task) -> None:
    services.archive_task(actor=admin, task=task)
    with pytest.raises(NotFound):
        access_task(admin, task.pk)
    restored = services.restore_task(
        actor=admin, task=access_task(admin, task.pk, include_archived=True)
    )
    assert restored.archived_at is None
    actions = list(
        AuditEvent.objects.filter(target_type="task", target_id=task.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["task.archive", "task.restore"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"title": ""}, "title", id="title-blank"),
        pytest.param({"estimate_hours": -1}, "estimate_hours", id="estimate-negative"),
        pytest.param({"estimate_hours": "many"}, "estimate_hours", id="estimate-not-number"),
        pytest.param({"status": "blocked"}, "status", id="status-unknown"),
        pytest.param({"due_date": "soon"}, "due_date", id="due-not-a-date"),
        pytest.param({"key": "has space"}, "key", id="key-not-slug"),
    ],
)
def test_create_task_refuses(
    admin: Actor,
    initiative: Initiative,
    row_counts: Counts,
    overrides: dict[str, Any],
    field: str,
) -> None:
    kwargs: dict[str, Any] = {"title": "T"}
    kwargs.update(overrides)
    _refused(
        row_counts,
        field,
        lambda: services.create_task(actor=admin, initiative=initiative, **kwargs),
    )


def test_task_keys_are_unique_within_the_initiative(
    admin: Actor, initiative: Initiative, org: Organization, row_counts: Counts
) -> None:
    services.create_task(actor=admin, initiative=initiative, title="A", key="api")
    _refused(
        row_counts,
        "key",
        lambda: services.create_task(actor=admin, initiative=initiative, title="B", key="api"),
    )
    elsewhere = factories.make_initiative(org, "elsewhere")
    services.create_task(actor=admin, initiative=elsewhere, title="C", key="api")


def test_assignee_must_be_a_member(
    admin: Actor, initiative: Initiative, other_org: Organization, row_counts: Counts
) -> None:
    stranger = factories.make_member(other_org)
    _refused(
        row_counts,
        "assignee",
        lambda: services.create_task(
            actor=admin, initiative=initiative, title="T", assignee=stranger
        ),
    )


def test_no_new_tasks_on_a_cancelled_initiative(
    admin: Actor, org: Organization, row_counts: Counts
) -> None:
    cancelled = factories.make_initiative(org, "stopped", status="cancelled")
    _refused(
        row_counts,
        "initiative",
        lambda: services.create_task(actor=admin, initiative=cancelled, title="T"),
    )


def test_update_task_refuses_moving_it_to_another_initiative(
    admin: Actor, task: Task, org: Organization, row_counts: Counts
) -> None:
    other = factories.make_initiative(org, "other")
    _refused(
        row_counts,
        "initiative",
        lambda: services.update_task(actor=admin, task=task, changes={"initiative": other}),
    )


# --- time ----------------------------------------------------------------------------------


def test_log_time_denormalises_the_initiative_and_defaults_cost(
    team_member: Actor, task: Task, initiative: Initiative
) -> None:
    entry = services.log_time(
        actor=team_member, task=task, date=DAY, hours=Decimal("2.5"), note=" pairing "
    )
    stored = TimeEntry.objects.get(pk=entry.pk)
    assert stored.initiative_id == initiative.pk
    assert stored.user_id == team_member.user_id
    assert (stored.hours, stored.cost, stored.note) == (Decimal("2.5"), Decimal(0), "pairing")
    [event] = AuditEvent.objects.filter(action="timeentry.create")
    assert event.after is not None
    assert event.after["hours"] == "2.5"
    assert event.after["initiative_id"] == initiative.pk


def test_an_admin_logs_time_for_someone_with_a_cost(
    admin: Actor, team_member: Actor, task: Task
) -> None:
    entry = services.log_time(
        actor=admin, task=task, date=DAY, hours=Decimal(8), user=team_member.user, cost=Decimal(640)
    )
    assert (entry.user_id, entry.cost) == (team_member.user_id, Decimal(640))


def test_members_log_only_their_own_time(
    member: Actor, team_member: Actor, task: Task, row_counts: Counts
) -> None:
    before = row_counts()
    with pytest.raises(PermissionDenied):
        services.log_time(
            actor=member, task=task, date=DAY, hours=Decimal(1), user=team_member.user
        )
    assert row_counts() == before
    # Anyone in the organization (a member) may log their own time on any task.
    services.log_time(actor=member, task=task, date=DAY, hours=Decimal(1))


def test_viewers_log_no_time(viewer: Actor, task: Task) -> None:
    with pytest.raises(PermissionDenied):
        services.log_time(actor=viewer, task=task, date=DAY, hours=Decimal(1))


def test_the_system_must_name_the_person(org: Organization, task: Task, row_counts: Counts) -> None:
    _refused(
        row_counts,
        "user",
        lambda: services.log_time(actor=system_actor(org), task=task, date=DAY, hours=Decimal(1)),
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"hours": 0}, "hours", id="hours-zero"),
        pytest.param({"hours": Decimal("-1")}, "hours", id="hours-negative"),
        pytest.param({"hours": Decimal("24.5")}, "hours", id="hours-over-a-day"),
        pytest.param({"hours": None}, "hours", id="hours-missing"),
        pytest.param({"hours": "two"}, "hours", id="hours-not-number"),
        pytest.param({"cost": Decimal(-5)}, "cost", id="cost-negative"),
        pytest.param({"date": None}, "date", id="date-missing"),
        pytest.param({"date": "yesterday"}, "date", id="date-not-a-date"),
        pytest.param(
            {"date": timezone.localdate() + timedelta(days=2)}, "date", id="date-in-the-future"
        ),
        pytest.param({"note": "x" * 301}, "note", id="note-too-long"),
    ],
)
def test_log_time_refuses(
    team_member: Actor,
    task: Task,
    row_counts: Counts,
    overrides: dict[str, Any],
    field: str,
) -> None:
    kwargs: dict[str, Any] = {"date": DAY, "hours": Decimal(1)}
    kwargs.update(overrides)
    _refused(
        row_counts,
        field,
        lambda: services.log_time(actor=team_member, task=task, **kwargs),
    )


def test_a_day_holds_at_most_24_hours_per_person(
    team_member: Actor, task: Task, row_counts: Counts
) -> None:
    services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(20))
    _refused(
        row_counts,
        "hours",
        lambda: services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(5)),
    )
    services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(4))
    services.log_time(actor=team_member, task=task, date=DAY - timedelta(days=1), hours=Decimal(5))


def test_no_time_on_a_cancelled_initiatives_task(
    admin: Actor, team_member: Actor, task: Task, initiative: Initiative, row_counts: Counts
) -> None:
    Initiative.objects.filter(pk=initiative.pk).update(status="cancelled")
    _refused(
        row_counts,
        "task",
        lambda: services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(1)),
    )


def test_no_time_on_an_archived_task(team_member: Actor, task: Task, row_counts: Counts) -> None:
    Task.objects.filter(pk=task.pk).update(archived_at=timezone.now())
    task.refresh_from_db()
    _refused(
        row_counts,
        "task",
        lambda: services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(1)),
    )


def test_the_person_must_be_a_member(
    admin: Actor, task: Task, other_org: Organization, row_counts: Counts
) -> None:
    stranger = factories.make_member(other_org)
    _refused(
        row_counts,
        "user",
        lambda: services.log_time(
            actor=admin, task=task, date=DAY, hours=Decimal(1), user=stranger
        ),
    )


def test_archive_and_restore_time_entry(team_member: Actor, admin: Actor, task: Task) -> None:
    entry = services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(10))
    services.archive_time_entry(actor=team_member, entry=entry)
    with pytest.raises(NotFound):
        access_time_entry(team_member, entry.pk)
    # The freed hours can be logged again …
    services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(20))
    archived = access_time_entry(admin, entry.pk, include_archived=True)
    # … and then the archived entry no longer fits in the day.
    with pytest.raises(InvalidInput) as caught:
        services.restore_time_entry(actor=admin, entry=archived)
    assert "hours" in caught.value.errors
    assert access_time_entry(admin, entry.pk, include_archived=True).archived_at is not None


def test_restore_time_entry(team_member: Actor, task: Task) -> None:
    entry = services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(3))
    services.archive_time_entry(actor=team_member, entry=entry)
    restored = services.restore_time_entry(actor=team_member, entry=entry)
    assert restored.archived_at is None
    actions = list(
        AuditEvent.objects.filter(target_type="timeentry", target_id=entry.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["timeentry.create", "timeentry.archive", "timeentry.restore"]
