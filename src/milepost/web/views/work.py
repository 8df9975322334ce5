"""An initiative's milestones, dependencies, tasks and time entries (forms posted from the
initiative page; errors come back on a page of their own, beside the field)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from milepost.errors import DomainError, InvalidInput, NotFound
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.roadmap.access import (
    access_dependency,
    access_initiative,
    access_initiative_link,
    access_milestone,
)
from milepost.roadmap.models import Initiative, Milestone
from milepost.roadmap.services import (
    add_dependency,
    archive_milestone,
    complete_milestone,
    create_milestone,
    remove_dependency,
    restore_milestone,
    update_dependency,
    update_initiative_link,
    update_milestone,
)
from milepost.web.context import member_view
from milepost.web.forms import changes_from
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_okrs import unique_key
from milepost.web.forms_roadmap import (
    DependencyEditForm,
    DependencyForm,
    LinkEditForm,
    MilestoneEditForm,
    MilestoneForm,
    TaskForm,
    TaskMoveForm,
    TimeEntryForm,
)
from milepost.web.htmx import render_page
from milepost.web.views.common import confirm_then
from milepost.web.views.objectives import _version
from milepost.work.access import access_task, access_time_entry
from milepost.work.models import Task, TimeEntry
from milepost.work.services import (
    archive_task,
    archive_time_entry,
    create_task,
    log_time,
    update_task,
    update_time_entry,
)


def _detail(initiative_id: int) -> str:
    return reverse("web:initiative-detail", args=[initiative_id])


def _subform(
    request: HttpRequest,
    initiative: Initiative | None,
    form: object,
    title: str,
    submit: str,
    *,
    version: int | None = None,
    cancel_url: str | None = None,
) -> HttpResponse:
    """The form page (422 when a POST comes back to it: the form holds its errors). An edit
    form carries the `version` it was loaded with, so a concurrent change is refused."""
    if cancel_url is None:
        cancel_url = _detail(initiative.pk) if initiative else reverse("web:roadmap")
    context = {
        "form": form,
        "initiative": initiative,
        "title": title,
        "submit": submit,
        "version": version,
        "cancel_url": cancel_url,
    }
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/initiative_subform.html", context, nav="initiatives", status=status
    )


@member_view
def milestone_create(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id, write=True)
    form = MilestoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        taken = set(Milestone.objects.of(actor.organization_id).values_list("key", flat=True))
        taken |= set(Initiative.objects.of(actor.organization_id).values_list("key", flat=True))
        try:
            create_milestone(
                actor=actor,
                key=unique_key(f"{initiative.key}-{form.cleaned_data['name']}", taken, 80),
                name=form.cleaned_data["name"],
                date=form.cleaned_data["date"],
                initiative=initiative,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Milestone added.")
            return HttpResponseRedirect(_detail(initiative.pk))
    return _subform(request, initiative, form, "New milestone", "Add milestone")


@member_view
@require_POST
def milestone_complete(request: HttpRequest, actor: Actor, milestone_id: int) -> HttpResponse:
    milestone = access_milestone(actor, milestone_id, write=True)
    back = _detail(milestone.initiative_id) if milestone.initiative_id else reverse("web:roadmap")
    try:
        complete_milestone(actor=actor, milestone=milestone, done_on=timezone.localdate())
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Milestone “{milestone.name}” done.")
    return HttpResponseRedirect(back)


@member_view
def milestone_archive(request: HttpRequest, actor: Actor, milestone_id: int) -> HttpResponse:
    milestone = access_milestone(actor, milestone_id, write=True)
    back = _detail(milestone.initiative_id) if milestone.initiative_id else reverse("web:roadmap")
    return confirm_then(
        request,
        title=f"Archive the milestone “{milestone.name}”?",
        body="It leaves the roadmap and its dependencies stop counting. You can restore it.",
        confirm_label="Archive milestone",
        cancel_url=back,
        action=lambda: archive_milestone(actor=actor, milestone=milestone),
        done_message="Milestone archived.",
        done_url=back,
        nav="initiatives",
    )


@member_view
def milestone_restore(request: HttpRequest, actor: Actor, milestone_id: int) -> HttpResponse:
    milestone = access_milestone(actor, milestone_id, write=True, include_archived=True)
    back = _detail(milestone.initiative_id) if milestone.initiative_id else reverse("web:roadmap")
    return confirm_then(
        request,
        title=f"Restore the milestone “{milestone.name}”?",
        body="It comes back to the roadmap.",
        confirm_label="Restore milestone",
        cancel_url=back,
        action=lambda: restore_milestone(actor=actor, milestone=milestone),
        done_message="Milestone restored.",
        done_url=back,
        danger=False,
        nav="initiatives",
    )


def _endpoint(actor: Actor, value: str) -> Initiative | Milestone:
    kind, _, raw = value.partition(":")
    try:
        pk = int(raw)
    except ValueError as exc:
        raise InvalidInput.field("other", "choose an initiative or a milestone") from exc
    if kind == "i":
        return access_initiative(actor, pk)
    if kind == "m":
        return access_milestone(actor, pk)
    raise InvalidInput.field("other", "choose an initiative or a milestone")


@member_view
def dependency_create(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id, write=True)
    form = DependencyForm(request.POST or None, actor=actor, initiative=initiative)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            other = _endpoint(actor, data["other"])
            predecessor, successor = (
                (other, initiative) if data["direction"] == "after" else (initiative, other)
            )
            add_dependency(
                actor=actor,
                predecessor=predecessor,
                successor=successor,
                type=data["type"],
                lag_days=data["lag_days"],
            )
        except NotFound:
            form.add_error("other", "Not found.")
        except DomainError as exc:
            if "loop" in exc.errors:
                form.add_error("other", exc.detail)
            else:
                add_domain_error(
                    form,
                    exc,
                    {"predecessor": "other", "successor": "other", "lag_days": "lag_days"},
                )
        else:
            messages.success(request, "Dependency added.")
            return HttpResponseRedirect(_detail(initiative.pk))
    return _subform(request, initiative, form, "New dependency", "Add dependency")


@member_view
def dependency_remove(request: HttpRequest, actor: Actor, dependency_id: int) -> HttpResponse:
    dependency = access_dependency(actor, dependency_id, write=True)
    here = request.GET.get("from") or request.POST.get("from") or ""
    back = _detail(int(here)) if here.isdigit() else reverse("web:roadmap")
    label = f"{dependency.predecessor_key} → {dependency.successor_key}"
    return confirm_then(
        request,
        title=f"Remove the dependency {label}?",
        body="The schedule and the critical path are recomputed without it.",
        confirm_label="Remove dependency",
        cancel_url=back,
        action=lambda: remove_dependency(actor=actor, dependency=dependency),
        done_message="Dependency removed.",
        done_url=back,
        nav="initiatives",
    )


@member_view
def task_create(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id, write=True)
    form = TaskForm(request.POST or None, actor=actor, initial={"assignee": actor.user_id})
    if request.method == "POST" and form.is_valid():
        try:
            create_task(actor=actor, initiative=initiative, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Task added.")
            return HttpResponseRedirect(_detail(initiative.pk) + "#tasks")
    return _subform(request, initiative, form, "New task", "Add task")


@member_view
@require_POST
def task_move(request: HttpRequest, actor: Actor, task_id: int) -> HttpResponse:
    """Move a task to another status column."""
    task = access_task(actor, task_id, write=True)
    form = TaskMoveForm(request.POST)
    if form.is_valid():
        try:
            update_task(actor=actor, task=task, changes={"status": form.cleaned_data["status"]})
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            messages.error(request, exc.detail)
    return HttpResponseRedirect(_detail(task.initiative_id) + "#tasks")


@member_view
def task_archive(request: HttpRequest, actor: Actor, task_id: int) -> HttpResponse:
    task = access_task(actor, task_id, write=True)
    back = _detail(task.initiative_id) + "#tasks"
    return confirm_then(
        request,
        title=f"Archive the task “{task.title}”?",
        body="It leaves the board; the time logged on it still counts until archived too.",
        confirm_label="Archive task",
        cancel_url=back,
        action=lambda: archive_task(actor=actor, task=task),
        done_message="Task archived.",
        done_url=back,
        nav="initiatives",
    )


@member_view
def time_entry_create(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    actor.require(Role.MEMBER, "log time")
    initiative = access_initiative(actor, initiative_id)
    tasks = [
        (pk, title)
        for pk, title in Task.objects.filter(initiative=initiative, archived_at__isnull=True)
        .exclude(status="cancelled")
        .order_by("pk")
        .values_list("pk", "title")
    ]
    form = TimeEntryForm(request.POST or None, tasks=tasks)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = access_task(actor, int(data["task"]))
            log_time(
                actor=actor, task=task, date=data["date"], hours=data["hours"], note=data["note"]
            )
        except NotFound:
            form.add_error("task", "Task not found.")
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{data['hours']} h logged.")
            return HttpResponseRedirect(_detail(initiative.pk) + "#time")
    return _subform(request, initiative, form, "Log time", "Log time")


@member_view
def time_entry_archive(request: HttpRequest, actor: Actor, entry_id: int) -> HttpResponse:
    entry = access_time_entry(actor, entry_id, write=True)
    back = _detail(entry.initiative_id) + "#time"
    return confirm_then(
        request,
        title=f"Remove {entry.hours} h logged on {entry.date:%-d %b}?",
        body="The entry is archived: it stops counting toward the hours and cost.",
        confirm_label="Remove entry",
        cancel_url=back,
        action=lambda: archive_time_entry(actor=actor, entry=entry),
        done_message="Time entry removed.",
        done_url=back,
        nav="initiatives",
    )


# --- editing what was created above ----------------------------------------------------------

MILESTONE_EDIT_FIELDS = ("name", "date", "done_on", "weight")
TASK_EDIT_FIELDS = ["title", "assignee", "estimate_hours", "due_date", "status"]


def _refused(form: Any, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form; a vanished or forbidden object stays an error page."""
    if isinstance(exc, NotFound) and not exc.errors:
        raise exc
    add_domain_error(form, exc, aliases)


@member_view
def initiative_link_edit(request: HttpRequest, actor: Actor, link_id: int) -> HttpResponse:
    """Change how much an initiative is expected to move a key result."""
    link = access_initiative_link(actor, link_id, write=True)
    back = _detail(link.initiative_id)
    initial = {"weight": link.weight, "expected_impact": link.expected_impact}
    form = LinkEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_initiative_link(
                actor=actor,
                link=link,
                changes=changes_from(form, link, ["weight", "expected_impact"]),
                expected_version=_version(request),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, "Link saved.")
            return HttpResponseRedirect(back)
    return _subform(
        request,
        link.initiative,
        form,
        f"Edit the link to “{link.key_result.title}”",
        "Save link",
        version=link.version,
        cancel_url=back,
    )


@member_view
def milestone_edit(request: HttpRequest, actor: Actor, milestone_id: int) -> HttpResponse:
    milestone = access_milestone(actor, milestone_id, write=True)
    back = _detail(milestone.initiative_id) if milestone.initiative_id else reverse("web:roadmap")
    initial = {name: getattr(milestone, name) for name in MILESTONE_EDIT_FIELDS}
    form = MilestoneEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_milestone(
                actor=actor,
                milestone=milestone,
                changes=changes_from(form, milestone, list(MILESTONE_EDIT_FIELDS)),
                expected_version=_version(request),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, f"Milestone “{form.cleaned_data['name']}” saved.")
            return HttpResponseRedirect(back)
    return _subform(
        request,
        milestone.initiative,
        form,
        f"Edit milestone “{milestone.name}”",
        "Save milestone",
        version=milestone.version,
        cancel_url=back,
    )


@member_view
def dependency_edit(request: HttpRequest, actor: Actor, dependency_id: int) -> HttpResponse:
    dependency = access_dependency(actor, dependency_id, write=True)
    here = request.GET.get("from") or ""
    initiative = access_initiative(actor, int(here)) if here.isdigit() else None
    back = _detail(initiative.pk) if initiative else reverse("web:roadmap")
    form = DependencyEditForm(
        request.POST or None,
        initial={"type": dependency.type, "lag_days": dependency.lag_days},
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_dependency(
                actor=actor,
                dependency=dependency,
                changes=changes_from(form, dependency, ["type", "lag_days"]),
                expected_version=_version(request),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, "Dependency saved.")
            return HttpResponseRedirect(back)
    label = f"{dependency.predecessor_key} → {dependency.successor_key}"
    return _subform(
        request,
        initiative,
        form,
        f"Edit the dependency {label}",
        "Save dependency",
        version=dependency.version,
        cancel_url=back,
    )


@member_view
def task_edit(request: HttpRequest, actor: Actor, task_id: int) -> HttpResponse:
    """Change a task (its initiative's editors and its assignee)."""
    task = access_task(actor, task_id, write=True)
    back = _detail(task.initiative_id) + "#tasks"
    initial = {name: getattr(task, name) for name in TASK_EDIT_FIELDS}
    initial["assignee"] = task.assignee_id
    form = TaskForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_task(
                actor=actor,
                task=task,
                changes=changes_from(form, task, TASK_EDIT_FIELDS),
                expected_version=_version(request),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, f"Task “{form.cleaned_data['title']}” saved.")
            return HttpResponseRedirect(back)
    return _subform(
        request,
        task.initiative,
        form,
        f"Edit task “{task.title}”",
        "Save task",
        version=task.version,
        cancel_url=back,
    )


def _entry_changes(actor: Actor, form: TimeEntryForm, entry: TimeEntry) -> dict[str, Any] | None:
    """The fields the form changes (None, with the error on the form, if its task is gone)."""
    data = form.cleaned_data
    changes: dict[str, Any] = {
        name: data[name] for name in ("date", "hours", "note") if data[name] != getattr(entry, name)
    }
    if int(data["task"]) != entry.task_id:
        try:
            changes["task"] = access_task(actor, int(data["task"]))
        except NotFound:
            form.add_error("task", "Task not found.")
            return None
    return changes


@member_view
def time_entry_edit(request: HttpRequest, actor: Actor, entry_id: int) -> HttpResponse:
    """Correct a time entry (the person who logged it, or an admin)."""
    entry = access_time_entry(actor, entry_id, write=True)
    back = _detail(entry.initiative_id) + "#time"
    tasks = list(
        Task.objects.filter(initiative_id=entry.initiative_id, archived_at__isnull=True)
        .exclude(status="cancelled")
        .order_by("pk")
        .values_list("pk", "title")
    )
    if entry.task_id not in {pk for pk, _ in tasks}:
        tasks.insert(0, (entry.task_id, entry.task.title))
    initial = {
        "task": str(entry.task_id),
        "date": entry.date,
        "hours": entry.hours,
        "note": entry.note,
    }
    form = TimeEntryForm(request.POST or None, tasks=tasks, initial=initial)
    changes = None
    if request.method == "POST" and form.is_valid():
        changes = _entry_changes(actor, form, entry)
    if changes is not None:
        try:
            update_time_entry(
                actor=actor, entry=entry, changes=changes, expected_version=_version(request)
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, "Time entry saved.")
            return HttpResponseRedirect(back)
    initiative = Initiative.objects.get(pk=entry.initiative_id)
    return _subform(
        request,
        initiative,
        form,
        f"Edit {entry.hours} h logged on {entry.date:%-d %b}",
        "Save time entry",
        version=entry.version,
        cancel_url=back,
    )
