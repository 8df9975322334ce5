"""Initiatives: list, page (lifecycle, business case, closure, linked key results, milestones,
dependencies, tasks by status, time, hours and budget), side panel, create, edit, status,
links to key results, archive and restore."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from milepost.errors import DomainError, NotFound
from milepost.okrs.access import access_key_result
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.roadmap.access import access_initiative, access_initiative_link, can_edit_initiative
from milepost.roadmap.engine_io import plan_initiatives
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.roadmap.services import (
    archive_initiative,
    change_initiative_status,
    create_initiative,
    link_initiative,
    restore_initiative,
    unlink_initiative,
    update_initiative,
)
from milepost.web.context import member_view
from milepost.web.forms import changes_from
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_roadmap import (
    DependencyForm,
    InitiativeForm,
    LinkForm,
    MilestoneForm,
    StatusForm,
    TaskForm,
    TimeEntryForm,
)
from milepost.web.htmx import render_page
from milepost.web.selection import choose_cycle, default_team_id
from milepost.web.views.common import changed_fields, confirm_then, history
from milepost.web.views.objectives import _version
from milepost.work.models import Task, TimeEntry

LIFECYCLE = ("proposed", "planned", "in_progress", "done")
TASK_COLUMNS = (
    ("todo", "To do"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
)
LIST_LIMIT = 500
TIME_SHOWN = 15
FIELDS = [
    "title", "description", "team", "owner", "cycle", "status", "start_date", "end_date",
    "effort_days", "budget", "planned_hours", "hypothesis", "estimated_cost",
    "estimated_effort_days", "key",
]  # fmt: skip


@member_view
def initiative_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    choice = choose_cycle(request, actor)
    show_archived = request.GET.get("archived") == "1"
    rows: list[Initiative] = []
    if show_archived:
        rows = list(
            Initiative.objects.of(actor.organization_id)
            .archived()
            .select_related("team", "owner")
            .order_by("-archived_at")[:LIST_LIMIT]
        )
    elif choice.cycle is not None:
        rows = list(
            plan_initiatives(actor.organization, choice.cycle)
            .select_related("team", "owner")
            .order_by("start_date", "key")[:LIST_LIMIT]
        )
    context = {
        "cycle": choice.cycle,
        "cycles": choice.cycles,
        "initiatives": rows,
        "show_archived": show_archived,
        "can_create": actor.has_role(Role.MEMBER),
        "limit": LIST_LIMIT,
    }
    return render_page(request, "web/initiative_list.html", context, nav="initiatives")


def _detail_context(actor: Actor, initiative: Initiative) -> dict[str, Any]:
    links = list(
        InitiativeKeyResult.objects.filter(initiative=initiative, archived_at__isnull=True)
        .filter(key_result__archived_at__isnull=True)
        .select_related("key_result", "key_result__objective")
        .order_by("key_result__objective__title", "key_result__key")
    )
    milestones = list(Milestone.objects.filter(initiative=initiative).order_by("date", "key"))
    dependencies = list(
        Dependency.objects.filter(organization_id=actor.organization_id, archived_at__isnull=True)
        .filter(
            Q(predecessor_initiative=initiative)
            | Q(successor_initiative=initiative)
            | Q(predecessor_milestone__initiative=initiative)
            | Q(successor_milestone__initiative=initiative)
        )
        .select_related(
            "predecessor_initiative",
            "predecessor_milestone",
            "successor_initiative",
            "successor_milestone",
        )
        .order_by("pk")
    )
    tasks = list(
        Task.objects.filter(initiative=initiative)
        .select_related("assignee")
        .annotate(
            logged_hours=Sum(
                "time_entries__hours", filter=Q(time_entries__archived_at__isnull=True)
            ),
            time_cost=Sum("time_entries__cost", filter=Q(time_entries__archived_at__isnull=True)),
        )
        .order_by("due_date", "pk")
    )
    live_tasks = [t for t in tasks if t.archived_at is None]
    logged = sum((t.logged_hours or Decimal(0) for t in tasks), Decimal(0))
    time_cost = sum((t.time_cost or Decimal(0) for t in tasks), Decimal(0))
    entries = list(
        TimeEntry.objects.filter(initiative=initiative, archived_at__isnull=True)
        .select_related("user", "task")
        .order_by("-date", "-pk")[:TIME_SHOWN]
    )
    columns = [
        {"status": key, "label": label, "tasks": [t for t in live_tasks if t.status == key]}
        for key, label in TASK_COLUMNS
    ]
    before: list[Dependency] = []
    after: list[Dependency] = []
    own_ms = {m.pk for m in milestones}
    for d in dependencies:
        successor_is_here = (
            d.successor_initiative_id == initiative.pk or d.successor_milestone_id in own_ms
        )
        (before if successor_is_here else after).append(d)
    actual_cost = initiative.actual_cost + time_cost
    punch_list = [t for t in live_tasks if t.status in ("todo", "in_progress")]
    return {
        "initiative": initiative,
        "links": links,
        "milestones": [m for m in milestones if m.archived_at is None],
        "archived_milestones": [m for m in milestones if m.archived_at is not None],
        "depends_on": before,
        "blocks": after,
        "columns": columns,
        "task_count": len(live_tasks),
        "entries": entries,
        "logged_hours": logged,
        "actual_cost": actual_cost,
        "time_cost": time_cost,
        "punch_list": punch_list,
        "lifecycle": LIFECYCLE,
        "lifecycle_index": LIFECYCLE.index(initiative.status)
        if initiative.status in LIFECYCLE
        else -1,
        "can_edit": can_edit_initiative(actor, initiative),
        "is_closed": initiative.status in ("done", "cancelled"),
        "tasks_for_time": [(t.pk, t.title) for t in live_tasks if t.status != "cancelled"],
    }


def _meter(planned: Decimal | None, actual: Decimal) -> dict[str, Any]:
    """Planned vs actual for a small bar: both as shares of the larger (display only)."""
    top = max(planned or Decimal(0), actual, Decimal(1))
    return {
        "planned": planned,
        "actual": actual,
        "planned_width": round((planned or 0) / top * 100, 1),
        "actual_width": round(actual / top * 100, 1),
        "over": planned is not None and actual > planned,
    }


@member_view
def initiative_detail(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id)
    context = _detail_context(actor, initiative)
    context["hours_meter"] = _meter(initiative.planned_hours, context["logged_hours"])
    context["cost_meter"] = _meter(initiative.budget, context["actual_cost"])
    if context["can_edit"]:
        context["status_form"] = StatusForm(initial={"status": initiative.status})
        context["milestone_form"] = MilestoneForm()
        context["task_form"] = TaskForm(actor=actor, initial={"assignee": actor.user_id})
        context["time_form"] = TimeEntryForm(tasks=context["tasks_for_time"])
    elif actor.has_role(Role.MEMBER) and context["tasks_for_time"]:
        context["time_form"] = TimeEntryForm(tasks=context["tasks_for_time"])
    events = history(actor, [("initiative", [initiative.pk])])
    context["events"] = [{"event": e, "changes": changed_fields(e)} for e in events]
    return render_page(request, "web/initiative_detail.html", context, nav="initiatives")


@member_view
def initiative_panel(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    """The initiative in the roadmap's side panel (htmx partial; a full page without htmx)."""
    initiative = access_initiative(actor, initiative_id)
    links = list(
        InitiativeKeyResult.objects.filter(initiative=initiative, archived_at__isnull=True)
        .filter(key_result__archived_at__isnull=True)
        .select_related("key_result")
        .order_by("key_result__key")
    )
    milestones = list(Milestone.objects.filter(initiative=initiative, archived_at__isnull=True))
    context = {
        "initiative": initiative,
        "links": links,
        "milestones": milestones,
        "can_edit": can_edit_initiative(actor, initiative),
    }
    return render_page(
        request, "web/initiative_panel.html", context, partial="panel", nav="roadmap"
    )


def _initial(actor: Actor, request: HttpRequest) -> dict[str, Any]:
    cycle = choose_cycle(request, actor).cycle
    return {
        "team": default_team_id(actor),
        "owner": actor.user_id,
        "cycle": cycle.pk if cycle is not None else None,
        "status": "proposed",
        "start_date": cycle.start_date if cycle is not None else None,
        "end_date": cycle.end_date if cycle is not None else None,
        "effort_days": Decimal(0),
    }


@member_view
def initiative_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    actor.require(Role.MEMBER, "create initiatives")
    form = InitiativeForm(request.POST or None, actor=actor, initial=_initial(actor, request))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "key"}
            try:
                initiative = create_initiative(actor=actor, key=form.key_or_new(), **data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(
                    request, "Initiative created. Link it to the key results it should move."
                )
                return HttpResponseRedirect(reverse("web:initiative-detail", args=[initiative.pk]))
    context = {
        "form": form,
        "title": "New initiative",
        "cancel_url": reverse("web:initiative-list"),
    }
    return render_page(
        request, "web/initiative_form.html", context, nav="initiatives", status=status
    )


@member_view
def initiative_edit(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id, write=True)
    initial = {name: getattr(initiative, name) for name in FIELDS}
    for name in ("team", "owner", "cycle"):
        initial[name] = getattr(initiative, f"{name}_id")
    form = InitiativeForm(request.POST or None, actor=actor, initial=initial)
    if initiative.status in ("done", "cancelled") or request.method == "GET":
        form.fields[
            "status"
        ].help_text = "Closing (done, cancelled) asks for a summary: use “Change status”."
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            changes = changes_from(form, initiative, FIELDS)
            if not changes.get("key"):
                changes.pop("key", None)
            try:
                update_initiative(
                    actor=actor,
                    initiative=initiative,
                    changes=changes,
                    expected_version=_version(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Initiative saved.")
                return HttpResponseRedirect(reverse("web:initiative-detail", args=[initiative.pk]))
    context = {
        "form": form,
        "initiative": initiative,
        "version": initiative.version,
        "title": f"Edit “{initiative.title}”",
        "cancel_url": reverse("web:initiative-detail", args=[initiative.pk]),
    }
    return render_page(
        request, "web/initiative_form.html", context, nav="initiatives", status=status
    )


@member_view
def initiative_status(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    """Move the initiative through its lifecycle (closing records the closure summary)."""
    initiative = access_initiative(actor, initiative_id, write=True)
    form = StatusForm(
        request.POST or None,
        initial={
            "status": initiative.status,
            "delivered_summary": initiative.delivered_summary,
            "outcome_summary": initiative.outcome_summary,
        },
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                change_initiative_status(
                    actor=actor,
                    initiative=initiative,
                    status=data["status"],
                    delivered_summary=data["delivered_summary"],
                    outcome_summary=data["outcome_summary"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Status changed to {data['status'].replace('_', ' ')}.")
                return HttpResponseRedirect(reverse("web:initiative-detail", args=[initiative.pk]))
    context = {
        "form": form,
        "initiative": initiative,
        "title": f"Status of “{initiative.title}”",
        "cancel_url": reverse("web:initiative-detail", args=[initiative.pk]),
    }
    return render_page(
        request, "web/initiative_status.html", context, nav="initiatives", status=status
    )


@member_view
def initiative_link(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    """Link the initiative to a key result it should move."""
    initiative = access_initiative(actor, initiative_id, write=True)
    linked = set(
        InitiativeKeyResult.objects.filter(
            initiative=initiative, archived_at__isnull=True
        ).values_list("key_result_id", flat=True)
    )
    form = LinkForm(request.POST or None, actor=actor, exclude=linked)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                key_result = access_key_result(actor, int(data["key_result"]))
                link_initiative(
                    actor=actor,
                    initiative=initiative,
                    key_result=key_result,
                    weight=data["weight"],
                    expected_impact=data["expected_impact"],
                )
            except NotFound:
                form.add_error("key_result", "Key result not found.")
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Linked to “{key_result.title}”.")
                return HttpResponseRedirect(reverse("web:initiative-detail", args=[initiative.pk]))
    context = {
        "form": form,
        "initiative": initiative,
        "title": "Link to a key result",
        "cancel_url": reverse("web:initiative-detail", args=[initiative.pk]),
        "submit": "Link key result",
    }
    return render_page(
        request, "web/initiative_subform.html", context, nav="initiatives", status=status
    )


@member_view
def initiative_unlink(request: HttpRequest, actor: Actor, link_id: int) -> HttpResponse:
    link = access_initiative_link(actor, link_id, write=True)
    url = reverse("web:initiative-detail", args=[link.initiative_id])
    return confirm_then(
        request,
        title="Remove this link?",
        body=f"“{link.initiative.title}” will no longer count as work on "
        f"“{link.key_result.title}”.",
        confirm_label="Remove link",
        cancel_url=url,
        action=lambda: unlink_initiative(actor=actor, link=link),
        done_message="Link removed.",
        done_url=url,
        nav="initiatives",
    )


@member_view
def initiative_archive(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id, write=True)
    return confirm_then(
        request,
        title=f"Archive “{initiative.title}”?",
        body="It leaves the roadmap, plan health and priorities, with its milestones, tasks and "
        "links. Nothing is deleted: restore it from the archived initiatives.",
        confirm_label="Archive initiative",
        cancel_url=reverse("web:initiative-detail", args=[initiative.pk]),
        action=lambda: archive_initiative(actor=actor, initiative=initiative),
        done_message=f"“{initiative.title}” archived.",
        done_url=reverse("web:initiative-list") + "?archived=1",
        nav="initiatives",
    )


@member_view
def initiative_restore(request: HttpRequest, actor: Actor, initiative_id: int) -> HttpResponse:
    initiative = access_initiative(actor, initiative_id, write=True, include_archived=True)
    return confirm_then(
        request,
        title=f"Restore “{initiative.title}”?",
        body="It comes back to the roadmap with its milestones, tasks and links.",
        confirm_label="Restore initiative",
        cancel_url=reverse("web:initiative-list") + "?archived=1",
        action=lambda: restore_initiative(actor=actor, initiative=initiative),
        done_message=f"“{initiative.title}” restored.",
        done_url=reverse("web:initiative-detail", args=[initiative.pk]),
        danger=False,
        nav="initiatives",
    )


__all__ = ["DependencyForm", "MilestoneForm", "TaskForm", "TimeEntryForm"]
