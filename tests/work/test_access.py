"""Who sees and changes tasks and time entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from milepost.errors import NotFound, PermissionDenied
from milepost.organizations.access import Actor
from milepost.roadmap.models import Initiative
from milepost.roadmap.services import archive_initiative
from milepost.work import services
from milepost.work.access import access_task, access_time_entry
from milepost.work.models import Task, TimeEntry
from tests import factories


@pytest.fixture
def task(initiative: Initiative) -> Task:
    return factories.make_task(initiative, "Design the form")


@pytest.fixture
def entry(task: Task, team_member: Actor) -> TimeEntry:
    assert team_member.user is not None
    return factories.make_time_entry(task, team_member.user, Decimal(2))


@pytest.mark.parametrize("write", [False, True])
def test_another_organizations_rows_are_not_found(
    outsider: Actor, task: Task, entry: TimeEntry, write: bool
) -> None:
    with pytest.raises(NotFound):
        access_task(outsider, task.pk, write=write)
    with pytest.raises(NotFound):
        access_time_entry(outsider, entry.pk, write=write)


def test_services_refuse_foreign_rows_as_not_found(outsider: Actor, task: Task) -> None:
    with pytest.raises(NotFound):
        services.update_task(actor=outsider, task=task, changes={"title": "X"})
    with pytest.raises(NotFound):
        services.log_time(actor=outsider, task=task, date=date(2026, 11, 2), hours=Decimal(1))


def test_task_writers(
    viewer: Actor, member: Actor, team_member: Actor, admin: Actor, task: Task
) -> None:
    for reader in (viewer, member, team_member, admin):
        assert access_task(reader, task.pk).pk == task.pk
    for denied in (viewer, member):
        with pytest.raises(PermissionDenied):
            access_task(denied, task.pk, write=True)
    assert access_task(team_member, task.pk, write=True).pk == task.pk
    assert access_task(admin, task.pk, write=True).pk == task.pk


def test_the_assignee_updates_their_task(member: Actor, task: Task) -> None:
    with pytest.raises(PermissionDenied):
        services.update_task(actor=member, task=task, changes={"status": "done"})
    Task.objects.filter(pk=task.pk).update(assignee=member.user)
    task.refresh_from_db()
    assert services.update_task(actor=member, task=task, changes={"status": "done"}).done_at
    # …but structure (archiving) stays with the initiative's editors.
    with pytest.raises(PermissionDenied):
        services.archive_task(actor=member, task=task)


def test_members_outside_the_team_add_no_tasks(member: Actor, initiative: Initiative) -> None:
    with pytest.raises(PermissionDenied):
        services.create_task(actor=member, initiative=initiative, title="T")


def test_time_entries_are_changed_by_their_person_or_an_admin(
    viewer: Actor, member: Actor, team_member: Actor, admin: Actor, entry: TimeEntry
) -> None:
    assert access_time_entry(viewer, entry.pk).pk == entry.pk
    for denied in (viewer, member):
        with pytest.raises(PermissionDenied):
            access_time_entry(denied, entry.pk, write=True)
        with pytest.raises(PermissionDenied):
            services.archive_time_entry(actor=denied, entry=entry)
    assert access_time_entry(team_member, entry.pk, write=True).pk == entry.pk
    services.archive_time_entry(actor=admin, entry=entry)


def test_tasks_of_an_archived_initiative_are_hidden(
    admin: Actor, task: Task, initiative: Initiative
) -> None:
    archive_initiative(actor=admin, initiative=initiative)
    with pytest.raises(NotFound):
        access_task(admin, task.pk)
    assert access_task(admin, task.pk, include_archived=True).pk == task.pk
