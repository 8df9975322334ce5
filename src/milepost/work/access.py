"""Fetch-and-authorise for tasks and time entries.

Scoped to the actor's organization (another organization's row is `NotFound`); archived rows
(and the tasks of an archived initiative) are hidden unless asked. Who may change what:

* a task: whoever may change its initiative (admins; members who own it or are in its team),
  and its assignee;
* a time entry: the person it belongs to, and admins.
"""

from __future__ import annotations

from milepost.errors import NotFound, PermissionDenied
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.roadmap.access import can_edit_initiative
from milepost.work.models import Task, TimeEntry


def can_edit_task(actor: Actor, task: Task) -> bool:
    """Whoever may change the task's initiative, and the task's assignee (a member)."""
    if can_edit_initiative(actor, task.initiative):
        return True
    return (
        actor.has_role(Role.MEMBER)
        and task.assignee_id is not None
        and task.assignee_id == actor.user_id
    )


def can_edit_time_entry(actor: Actor, entry: TimeEntry) -> bool:
    """Time is the person's own: they (as a member) and admins change it."""
    return actor.is_admin or (actor.has_role(Role.MEMBER) and entry.user_id == actor.user_id)


def access_task(
    actor: Actor, task_id: int, *, write: bool = False, include_archived: bool = False
) -> Task:
    """The task, scoped to the actor's organization; NotFound / PermissionDenied."""
    qs = Task.objects.of(actor.organization_id).select_related("initiative", "assignee")
    if not include_archived:
        qs = qs.active().filter(initiative__archived_at__isnull=True)
    task = qs.filter(pk=task_id).first()
    if task is None:
        raise NotFound("Task not found.")
    if write and not can_edit_task(actor, task):
        raise PermissionDenied(
            "You may only change tasks assigned to you or of initiatives that you own "
            "or that belong to your teams."
        )
    return task


def access_time_entry(
    actor: Actor, entry_id: int, *, write: bool = False, include_archived: bool = False
) -> TimeEntry:
    """The time entry, scoped to the actor's organization; NotFound / PermissionDenied."""
    qs = TimeEntry.objects.of(actor.organization_id).select_related("task", "initiative", "user")
    if not include_archived:
        qs = qs.active()
    entry = qs.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("Time entry not found.")
    if write and not can_edit_time_entry(actor, entry):
        raise PermissionDenied("Only the person who logged the time, or an admin, may change it.")
    return entry
