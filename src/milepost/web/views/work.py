"""An initiative's milestones, dependencies, tasks and time entries (forms posted from the
initiative page; errors come back on a page of their own, beside the field)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from milepost.errors import DomainError, InvalidInput, NotFound
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.roadmap.access import access_dependency, access_initiative, access_milestone
from milepost.roadmap.models import Initiative, Milestone
from milepost.roadmap.services import (
    add_dependency,
    archive_milestone,
    complete_milestone,
    create_milestone,
    remove_dependency,
    restore_milestone,
)
from milepost.web.context import member_view
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_okrs import unique_key
from milepost.web.forms_roadmap import (
    DependencyForm,
    MilestoneForm,
    TaskForm,
    TaskMoveForm,
    TimeEntryForm,
)
from milepost.web.htmx import render_page
from milepost.web.views.common import confirm_then
from milepost.work.access import access_task, access_time_entry
from milepost.work.models import Task
from milepost.work.services import (
    archive_task,
    archive_time_entry,
    create_task,
    log_time,
    update_task,
)


def _detail(initiative_id: int) -> str:
    return reverse("web:initiative-detail", args=[initiative_id])


def _subform(
    request: HttpRequest, initiative: Initiative, form: object, title: str, submit: str
) -> HttpResponse:
    context = {
        "form": form,
        "initiative": initiative,
        "title": title,
        "submit": submit,
        "cancel_url": _detail(initiative.pk),
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
