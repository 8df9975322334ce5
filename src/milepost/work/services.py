"""Writes for tasks and time entries.

Keyword-only, an explicit `actor`, one transaction, an audit event each; bad input raises
`InvalidInput` naming every field at fault and writes nothing.

Rules worth knowing:

* A task's ``done_at`` is set when it becomes done and cleared when it leaves done.
* Time is logged by the person themselves, or by an admin for someone; never in the future,
  more than 0 and at most 24 hours per entry and per person and day; never on a task whose
  initiative is cancelled. The entry carries the task's initiative (denormalised so
  investment reports aggregate without a join) and a cost (0 unless given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from milepost.audit.services import record_event, snapshot
from milepost.engine.model import InitiativeStatus
from milepost.errors import PermissionDenied
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.roadmap.access import can_edit_initiative
from milepost.roadmap.models import Initiative
from milepost.roadmap.validation import (
    FieldErrors,
    clean_date,
    clean_decimal,
    deny_unless,
    is_active_member,
    organization_today,
    reject_unknown,
    require_in_organization,
)
from milepost.servicekit import apply_update, archive, check_version, restore, save_validated
from milepost.work.access import can_edit_task, can_edit_time_entry
from milepost.work.models import Task, TaskStatus, TimeEntry

if TYPE_CHECKING:
    from milepost.accounts.models import User

TASK_FIELDS = ("key", "title", "assignee", "status", "estimate_hours", "due_date")
TIME_ENTRY_FIELDS = ("task", "date", "hours", "cost", "note")
MAX_HOURS_PER_DAY = Decimal(24)

_NOT_YOURS = "of initiatives that you own or that belong to your teams."


def _clean_task(actor: Actor, values: dict[str, Any], current: Task | None) -> dict[str, Any]:
    """Validate the given task fields; return them normalised (plus ``done_at``)."""
    errors = FieldErrors()
    cleaned = dict(values)
    if "title" in values:
        cleaned["title"] = str(values["title"] or "").strip()
        if not cleaned["title"]:
            errors.add("title", "is required")
    if "key" in values:
        cleaned["key"] = key = str(values["key"] or "").strip()
        initiative_id = current.initiative_id if current is not None else values["initiative"].pk
        clash = Task.objects.filter(initiative_id=initiative_id, key=key).exclude(
            pk=current.pk if current is not None else 0
        )
        if key and clash.exists():
            errors.add("key", f"another task of this initiative has the key {key!r}")
    assignee = values.get("assignee")
    if (
        assignee is not None
        and (current is None or assignee.pk != current.assignee_id)
        and not is_active_member(actor.organization_id, assignee)
    ):
        errors.add("assignee", "is not a member of this organization")
    if "estimate_hours" in values:
        cleaned["estimate_hours"] = clean_decimal(
            errors, "estimate_hours", values["estimate_hours"]
        )
    if "due_date" in values:
        cleaned["due_date"] = clean_date(errors, "due_date", values["due_date"])
    if "status" in values:
        try:
            status = TaskStatus(values["status"])
        except ValueError:
            errors.add("status", f"must be one of {', '.join(s.value for s in TaskStatus)}")
        else:
            cleaned["status"] = status
            was = current.status if current is not None else None
            if status == TaskStatus.DONE and was != TaskStatus.DONE:
                cleaned["done_at"] = timezone.now()
            elif status != TaskStatus.DONE and was == TaskStatus.DONE:
                cleaned["done_at"] = None
    errors.raise_if_any()
    return cleaned


@transaction.atomic
def create_task(
    *,
    actor: Actor,
    initiative: Initiative,
    title: str,
    assignee: User | None = None,
    estimate_hours: Decimal | None = None,
    due_date: dt.date | None = None,
    status: str = TaskStatus.TODO,
    key: str = "",
) -> Task:
    """Add a task to an initiative (whoever may change the initiative). Not on an archived
    or cancelled initiative."""
    require_in_organization(actor, initiative, "Initiative")
    errors = FieldErrors()
    if initiative.archived_at is not None:
        errors.add("initiative", "initiative not found")
    elif initiative.status == InitiativeStatus.CANCELLED:
        errors.add("initiative", "the initiative is cancelled; it takes no new tasks")
    errors.raise_if_any()
    deny_unless(can_edit_initiative(actor, initiative), f"You may only add tasks {_NOT_YOURS}")
    values = {
        "initiative": initiative,
        "title": title,
        "assignee": assignee,
        "estimate_hours": estimate_hours,
        "due_date": due_date,
        "status": status,
        "key": key,
    }
    task = Task(organization_id=actor.organization_id, **_clean_task(actor, values, None))
    save_validated(task)
    record_event(actor=actor, action="task.create", target=task, after=snapshot(task))
    return task


def _lock_task(actor: Actor, task: Task) -> Task:
    require_in_organization(actor, task, "Task")
    return Task.objects.select_for_update(of=("self",)).select_related("initiative").get(pk=task.pk)


@transaction.atomic
def update_task(
    *, actor: Actor, task: Task, changes: Mapping[str, Any], expected_version: int | None = None
) -> Task:
    """Change a task (its initiative's editors and its assignee). Becoming done sets
    ``done_at``; leaving done clears it."""
    locked = _lock_task(actor, task)
    deny_unless(
        can_edit_task(actor, locked), f"You may only change tasks assigned to you or {_NOT_YOURS}"
    )
    reject_unknown(changes, TASK_FIELDS)
    check_version(locked, expected_version)
    cleaned = _clean_task(actor, dict(changes), locked)
    return apply_update(
        actor=actor,
        instance=locked,
        changes=cleaned,
        allowed=(*TASK_FIELDS, "done_at"),
        expected_version=expected_version,
    )


@transaction.atomic
def archive_task(*, actor: Actor, task: Task, expected_version: int | None = None) -> Task:
    locked = _lock_task(actor, task)
    deny_unless(
        can_edit_initiative(actor, locked.initiative), f"You may only archive tasks {_NOT_YOURS}"
    )
    return archive(actor=actor, instance=locked, expected_version=expected_version)


@transaction.atomic
def restore_task(*, actor: Actor, task: Task, expected_version: int | None = None) -> Task:
    locked = _lock_task(actor, task)
    deny_unless(
        can_edit_initiative(actor, locked.initiative), f"You may only restore tasks {_NOT_YOURS}"
    )
    check_version(locked, expected_version)
    return restore(actor=actor, instance=locked)


# --- time ----------------------------------------------------------------------------------


def _day_total(organization_id: int, user_id: int, on: dt.date) -> Decimal:
    total = (
        TimeEntry.objects.of(organization_id)
        .active()
        .filter(user_id=user_id, date=on)
        .aggregate(total=Sum("hours"))["total"]
    )
    return total or Decimal(0)


@transaction.atomic
def log_time(
    *,
    actor: Actor,
    task: Task,
    date: dt.date,
    hours: Decimal,
    user: User | None = None,
    note: str = "",
    cost: Decimal | None = None,
) -> TimeEntry:
    """Log `hours` on `task` for `user` (default: the actor) on `date`. Only the person or
    an admin logs time; see the module docstring for the rules."""
    actor.require(Role.MEMBER, "log time")
    require_in_organization(actor, task, "Task")
    person = user if user is not None else actor.user
    errors = FieldErrors()
    if person is None:
        errors.add("user", "is required (the system logs time only for a named person)")
    elif person.pk != actor.user_id and not actor.is_admin:
        raise PermissionDenied("You may only log your own time.")
    elif not is_active_member(actor.organization_id, person):
        errors.add("user", "is not a member of this organization")
    initiative = Initiative.objects.get(pk=task.initiative_id)
    if task.archived_at is not None or initiative.archived_at is not None:
        errors.add("task", "task not found")
    elif initiative.status == InitiativeStatus.CANCELLED:
        errors.add("task", f"its initiative {initiative.key!r} is cancelled; time cannot be logged")
    on = clean_date(errors, "date", date, required=True)
    today = organization_today(actor.organization)
    if on is not None and on > today:
        errors.add("date", f"cannot be in the future (today is {today.isoformat()})")
    amount = clean_decimal(
        errors, "hours", hours, above_minimum=True, maximum=MAX_HOURS_PER_DAY, required=True
    )
    if person is not None and on is not None and amount is not None and "hours" not in errors:
        logged = _day_total(actor.organization_id, person.pk, on)
        if logged + amount > MAX_HOURS_PER_DAY:
            errors.add(
                "hours",
                f"{person} already has {logged} h on {on.isoformat()}; "
                f"a day holds at most {MAX_HOURS_PER_DAY} h",
            )
    spent = clean_decimal(errors, "cost", cost)
    errors.raise_if_any()
    entry = TimeEntry(
        organization_id=actor.organization_id,
        task=task,
        initiative=initiative,
        user=person,
        date=cast("dt.date", on),  # both checked above: raise_if_any refused None
        hours=cast("Decimal", amount),
        cost=spent if spent is not None else Decimal(0),
        note=note.strip(),
    )
    save_validated(entry)
    record_event(actor=actor, action="timeentry.create", target=entry, after=snapshot(entry))
    return entry


def _lock_entry(actor: Actor, entry: TimeEntry) -> TimeEntry:
    require_in_organization(actor, entry, "Time entry")
    locked = TimeEntry.objects.select_for_update().get(pk=entry.pk)
    deny_unless(
        can_edit_time_entry(actor, locked),
        "Only the person who logged the time, or an admin, may change it.",
    )
    return locked


def _clean_entry(actor: Actor, values: dict[str, Any], current: TimeEntry) -> dict[str, Any]:
    """Validate the given time-entry fields against the rules of `log_time`; return them
    normalised (a new task brings its initiative along)."""
    errors = FieldErrors()
    cleaned = dict(values)
    if "task" in values:
        task = values["task"]
        if task is None or getattr(task, "organization_id", None) != actor.organization_id:
            errors.add("task", "task not found")
        elif task.pk != current.task_id:
            initiative = Initiative.objects.get(pk=task.initiative_id)
            if task.archived_at is not None or initiative.archived_at is not None:
                errors.add("task", "task not found")
            elif initiative.status == InitiativeStatus.CANCELLED:
                errors.add(
                    "task", f"its initiative {initiative.key!r} is cancelled; time cannot be logged"
                )
            else:
                cleaned["initiative"] = initiative
    if "date" in values:
        cleaned["date"] = on = clean_date(errors, "date", values["date"], required=True)
        today = organization_today(actor.organization)
        if on is not None and on > today:
            errors.add("date", f"cannot be in the future (today is {today.isoformat()})")
    if "hours" in values:
        cleaned["hours"] = clean_decimal(
            errors,
            "hours",
            values["hours"],
            above_minimum=True,
            maximum=MAX_HOURS_PER_DAY,
            required=True,
        )
    if "cost" in values:
        cleaned["cost"] = clean_decimal(errors, "cost", values["cost"], required=True)
    if "note" in values:
        cleaned["note"] = str(values["note"] or "").strip()
    on = cleaned.get("date", current.date)
    amount = cleaned.get("hours", current.hours)
    counted = ("date" in values or "hours" in values) and current.archived_at is None
    valid = "date" not in errors and "hours" not in errors
    if counted and on is not None and amount is not None and valid:
        others = _day_total(actor.organization_id, current.user_id, on)
        if on == current.date:
            others -= current.hours  # the entry's own hours are being replaced
        if others + amount > MAX_HOURS_PER_DAY:
            errors.add(
                "hours",
                f"{current.user} already has {others} h on {on.isoformat()} in other entries; "
                f"a day holds at most {MAX_HOURS_PER_DAY} h",
            )
    errors.raise_if_any()
    return cleaned


@transaction.atomic
def update_time_entry(
    *,
    actor: Actor,
    entry: TimeEntry,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> TimeEntry:
    """Correct a time entry's task, date, hours, cost or note (the person or an admin), under
    the rules of `log_time`: not in the future, more than 0 and at most 24 hours, a day's
    total at most 24 hours, not onto a task of a cancelled initiative. Whose time it is does
    not change. Bad input raises `InvalidInput` naming each field and changes nothing."""
    locked = _lock_entry(actor, entry)
    reject_unknown(changes, TIME_ENTRY_FIELDS)
    check_version(locked, expected_version)
    cleaned = _clean_entry(actor, dict(changes), locked)
    return apply_update(
        actor=actor,
        instance=locked,
        changes=cleaned,
        allowed=(*TIME_ENTRY_FIELDS, "initiative"),
        expected_version=expected_version,
    )


@transaction.atomic
def archive_time_entry(
    *, actor: Actor, entry: TimeEntry, expected_version: int | None = None
) -> TimeEntry:
    """Archive a time entry (it stops counting); the person or an admin."""
    locked = _lock_entry(actor, entry)
    return archive(actor=actor, instance=locked, expected_version=expected_version)


@transaction.atomic
def restore_time_entry(
    *, actor: Actor, entry: TimeEntry, expected_version: int | None = None
) -> TimeEntry:
    """Bring an archived time entry back, if the day still has room for it."""
    locked = _lock_entry(actor, entry)
    check_version(locked, expected_version)
    if locked.archived_at is not None:
        logged = _day_total(actor.organization_id, locked.user_id, locked.date)
        if logged + locked.hours > MAX_HOURS_PER_DAY:
            errors = FieldErrors()
            errors.add("hours", f"the day would hold more than {MAX_HOURS_PER_DAY} h")
            errors.raise_if_any()
    return restore(actor=actor, instance=locked)
