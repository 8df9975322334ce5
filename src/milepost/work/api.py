"""REST endpoints for work: tasks under initiatives, and the time logged on them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from milepost.api.auth import org_actor
from milepost.api.common import PathId, Slug, changes_of, member_user, reference, responses
from milepost.api.etag import required_version, set_etag
from milepost.api.pagination import PreparedList, page_of, paginate_rows
from milepost.okrs.access import access_cycle
from milepost.organizations.access import access_team
from milepost.organizations.querysets import TenantQuerySet
from milepost.roadmap.access import access_initiative
from milepost.work import services
from milepost.work.access import access_task, access_time_entry
from milepost.work.models import Task, TimeEntry
from milepost.work.schemas import (
    TaskIn,
    TaskOut,
    TaskPatch,
    TaskQuery,
    TimeEntryIn,
    TimeEntryOut,
    TimeEntryPatch,
    TimeEntryQuery,
)

router = Router(tags=["work"])

ORG = "/orgs/{slug}"


def _etagged(response: HttpResponse, instance: Any) -> Any:
    set_etag(response, instance)
    return instance


# Tasks ---------------------------------------------------------------------------------


def _task_rows(
    organization: int,
    archived: bool = False,
    initiative: int | None = None,
    assignee: int | None = None,
    cycle: int | None = None,
    team: int | None = None,
    status: str | None = None,
    updated_since: Any = None,
) -> TenantQuerySet[Task]:
    """The tasks a list shows for these filters (the ones given, and only those)."""
    qs: TenantQuerySet[Task] = Task.objects.of(organization)
    qs = qs.archived() if archived else qs.active().filter(initiative__archived_at__isnull=True)
    if initiative is not None:
        qs = qs.filter(initiative_id=initiative)
    if assignee is not None:
        qs = qs.filter(assignee_id=assignee)
    if cycle is not None:
        qs = qs.filter(initiative__cycle_id=cycle)
    if team is not None:
        qs = qs.filter(initiative__team_id=team)
    if status is not None:
        qs = qs.filter(status=status)
    if updated_since is not None:
        qs = qs.filter(updated_at__gte=updated_since)
    return qs


# The task list runs on every board refresh and sync (issue 9, W4): its page query is
# compiled once per shape. Each placeholder is a value no row holds.
_TASK_PAGES = PreparedList(
    _task_rows,
    model=Task,
    item=TaskOut,
    placeholders={
        "organization": -(2**62) + 10,
        "archived": "unused",
        "initiative": -(2**62) + 11,
        "assignee": -(2**62) + 12,
        "cycle": -(2**62) + 13,
        "team": -(2**62) + 14,
        "status": "placeholder: no task has this status",
        "updated_since": "unused",
    },
)


@router.get(f"{ORG}/tasks", response=responses({200: page_of(TaskOut)}), tags=["tasks"])
def list_tasks(request: HttpRequest, slug: Slug, params: Query[TaskQuery]) -> Any:
    """Tasks, filtered by initiative, assignee, cycle, team, status, update time."""
    actor = org_actor(request, slug)
    filters: dict[str, Any] = {"organization": actor.organization_id}
    if params.initiative is not None:
        initiative = reference(access_initiative, actor, params.initiative, "initiative")
        filters["initiative"] = initiative.pk
    if (assignee := member_user(actor, params.assignee, "assignee")) is not None:
        filters["assignee"] = assignee.pk
    if params.cycle is not None:
        filters["cycle"] = reference(access_cycle, actor, params.cycle, "cycle").pk
    if params.team is not None:
        filters["team"] = reference(access_team, actor, params.team, "team").pk
    if params.status:
        filters["status"] = params.status
    if params.archived or params.updated_since:
        # Not prepared: a flag that changes the query's shape, a time bound per backend.
        qs = _task_rows(
            **filters, archived=params.archived, updated_since=params.updated_since or None
        )
        return paginate_rows(request, qs, page=params, ordering=params.ordering, item=TaskOut)
    return _TASK_PAGES.page(request, filters=filters, page=params, ordering=params.ordering)


@router.post(f"{ORG}/tasks", response=responses({201: TaskOut}), tags=["tasks"])
def create_task(request: HttpRequest, slug: Slug, payload: TaskIn, response: HttpResponse) -> Any:
    """Add a task to an initiative (whoever may change the initiative)."""
    actor = org_actor(request, slug)
    initiative = reference(access_initiative, actor, payload.initiative, "initiative")
    task = services.create_task(
        actor=actor,
        initiative=initiative,
        title=payload.title,
        key=payload.key,
        assignee=member_user(actor, payload.assignee, "assignee"),
        status=payload.status,
        estimate_hours=payload.estimate_hours,
        due_date=payload.due_date,
    )
    return Status(201, _etagged(response, task))


@router.get(f"{ORG}/tasks/{{task_id}}", response=responses({200: TaskOut}), tags=["tasks"])
def get_task(request: HttpRequest, slug: Slug, task_id: PathId, response: HttpResponse) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_task(actor, task_id))


@router.patch(f"{ORG}/tasks/{{task_id}}", response=responses({200: TaskOut}), tags=["tasks"])
def update_task(
    request: HttpRequest, slug: Slug, task_id: PathId, payload: TaskPatch, response: HttpResponse
) -> Any:
    """Change a task (its initiative's editors and its assignee)."""
    actor = org_actor(request, slug)
    task = access_task(actor, task_id, write=True)
    version = required_version(request)
    refs = {"assignee": member_user(actor, payload.assignee, "assignee")}
    task = services.update_task(
        actor=actor, task=task, changes=changes_of(payload, refs=refs), expected_version=version
    )
    return _etagged(response, task)


@router.delete(f"{ORG}/tasks/{{task_id}}", response=responses({204: None}), tags=["tasks"])
def archive_task(request: HttpRequest, slug: Slug, task_id: PathId) -> Any:
    actor = org_actor(request, slug)
    task = access_task(actor, task_id, write=True)
    version = required_version(request)
    services.archive_task(actor=actor, task=task, expected_version=version)
    return Status(204, None)


@router.post(f"{ORG}/tasks/{{task_id}}/restore", response=responses({200: TaskOut}), tags=["tasks"])
def restore_task(request: HttpRequest, slug: Slug, task_id: PathId, response: HttpResponse) -> Any:
    actor = org_actor(request, slug)
    task = access_task(actor, task_id, write=True, include_archived=True)
    return _etagged(response, services.restore_task(actor=actor, task=task))


# Time entries --------------------------------------------------------------------------


@router.get(
    f"{ORG}/time-entries", response=responses({200: page_of(TimeEntryOut)}), tags=["time entries"]
)
def list_time_entries(request: HttpRequest, slug: Slug, params: Query[TimeEntryQuery]) -> Any:
    """Logged time, filtered by task, initiative, person, dates, update time."""
    actor = org_actor(request, slug)
    qs: TenantQuerySet[TimeEntry] = TimeEntry.objects.of(actor.organization_id)
    qs = qs.archived() if params.archived else qs.active()
    if params.task is not None:
        qs = qs.filter(task=reference(access_task, actor, params.task, "task"))
    if params.initiative is not None:
        qs = qs.filter(
            initiative=reference(access_initiative, actor, params.initiative, "initiative")
        )
    if params.user is not None:
        qs = qs.filter(user=member_user(actor, params.user, "user"))
    if params.date_from is not None:
        qs = qs.filter(date__gte=params.date_from)
    if params.date_to is not None:
        qs = qs.filter(date__lte=params.date_to)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate_rows(request, qs, page=params, ordering=params.ordering, item=TimeEntryOut)


@router.post(f"{ORG}/time-entries", response=responses({201: TimeEntryOut}), tags=["time entries"])
def log_time(request: HttpRequest, slug: Slug, payload: TimeEntryIn, response: HttpResponse) -> Any:
    """Log hours on a task (your own; admins may log for someone)."""
    actor = org_actor(request, slug)
    task = reference(access_task, actor, payload.task, "task")
    entry = services.log_time(
        actor=actor,
        task=task,
        date=payload.date,
        hours=payload.hours,
        user=member_user(actor, payload.user, "user"),
        note=payload.note,
        cost=payload.cost,
    )
    return Status(201, _etagged(response, entry))


@router.get(
    f"{ORG}/time-entries/{{entry_id}}",
    response=responses({200: TimeEntryOut}),
    tags=["time entries"],
)
def get_time_entry(
    request: HttpRequest, slug: Slug, entry_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_time_entry(actor, entry_id))


@router.patch(
    f"{ORG}/time-entries/{{entry_id}}",
    response=responses({200: TimeEntryOut}),
    tags=["time entries"],
)
def update_time_entry(
    request: HttpRequest,
    slug: Slug,
    entry_id: PathId,
    payload: TimeEntryPatch,
    response: HttpResponse,
) -> Any:
    """Correct a time entry's task, date, hours, note or cost (the person or an admin)."""
    actor = org_actor(request, slug)
    entry = access_time_entry(actor, entry_id, write=True)
    version = required_version(request)
    refs = {"task": reference(access_task, actor, payload.task, "task")}
    entry = services.update_time_entry(
        actor=actor, entry=entry, changes=changes_of(payload, refs=refs), expected_version=version
    )
    return _etagged(response, entry)


@router.delete(
    f"{ORG}/time-entries/{{entry_id}}", response=responses({204: None}), tags=["time entries"]
)
def archive_time_entry(request: HttpRequest, slug: Slug, entry_id: PathId) -> Any:
    """Archive a time entry (it stops counting); the person or an admin."""
    actor = org_actor(request, slug)
    entry = access_time_entry(actor, entry_id, write=True)
    version = required_version(request)
    services.archive_time_entry(actor=actor, entry=entry, expected_version=version)
    return Status(204, None)


@router.post(
    f"{ORG}/time-entries/{{entry_id}}/restore",
    response=responses({200: TimeEntryOut}),
    tags=["time entries"],
)
def restore_time_entry(
    request: HttpRequest, slug: Slug, entry_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    entry = access_time_entry(actor, entry_id, write=True, include_archived=True)
    return _etagged(response, services.restore_time_entry(actor=actor, entry=entry))
