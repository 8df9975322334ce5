"""Objectives: list (with archived ones to restore), page, create, edit, align, archive."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from milepost.errors import DomainError, InvalidInput
from milepost.okrs.access import access_alignment, access_key_result, access_objective
from milepost.okrs.models import Objective
from milepost.okrs.services import (
    align_objective,
    archive_objective,
    create_objective,
    restore_objective,
    unalign_objective,
    update_alignment,
    update_objective,
)
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.web.context import member_view
from milepost.web.forms import changes_from
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_okrs import (
    AlignForm,
    AlignmentWeightForm,
    ObjectiveCreateForm,
    ObjectiveForm,
    parent_choices,
)
from milepost.web.htmx import render_page
from milepost.web.readmodels import objective_view
from milepost.web.selection import choose_cycle, default_team_id
from milepost.web.views import cycle_reports
from milepost.web.views.common import changed_fields, confirm_then, history

LIST_LIMIT = 500


@member_view
def objective_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The cycle's objectives as a table; ``?archived=1`` lists archived ones to restore."""
    choice = choose_cycle(request, actor)
    show_archived = request.GET.get("archived") == "1"
    objectives: list[Objective] = []
    if choice.cycle is not None:
        qs = Objective.objects.visible_to(actor).filter(cycle=choice.cycle)
        qs = qs.archived() if show_archived else qs.active()
        objectives = list(
            qs.select_related("owner_team", "owner_user").order_by("owner_team__name", "title")[
                :LIST_LIMIT
            ]
        )
    context = {
        "cycle": choice.cycle,
        "cycles": choice.cycles,
        "objectives": objectives,
        "show_archived": show_archived,
        "can_create": actor.has_role(Role.MEMBER),
        "limit": LIST_LIMIT,
    }
    return render_page(request, "web/objective_list.html", context, nav="objectives")


@member_view
def objective_detail(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    objective = access_objective(actor, objective_id)
    if (day := cycle_reports.as_of_day(request, actor)) is not None:
        return cycle_reports.objective_as_of_page(request, actor, objective, day)
    view = objective_view(actor, objective)
    events = history(
        actor,
        [
            ("objective", [objective.pk]),
            ("keyresult", [kr.row.pk for kr in view.key_results]),
            ("alignment", [link.alignment.pk for link in view.parents]),
        ],
    )
    context = {
        "view": view,
        "objective": objective,
        "events": [{"event": e, "changes": changed_fields(e)} for e in events],
        **cycle_reports.objective_extras(actor, objective, [kr.row for kr in view.key_results]),
        **cycle_reports.as_of_picker(request, actor),
    }
    return render_page(request, "web/objective_detail.html", context, nav="objectives")


def _objective_initial(actor: Actor, request: HttpRequest) -> dict[str, Any]:
    choice = choose_cycle(request, actor)
    cycle = choice.cycle
    return {
        "cycle": cycle.pk if cycle is not None else None,
        "owner_team": default_team_id(actor),
        "owner_user": actor.user_id,
        "state": "draft" if cycle is not None and cycle.state == "planning" else "active",
        "visibility": "organization",
        "weight": Decimal(1),
    }


def _parent(actor: Actor, value: str) -> dict[str, Any]:
    """The parent chosen in a form (``o:<id>`` or ``k:<id>``) as service arguments."""
    kind, _, raw = value.partition(":")
    try:
        pk = int(raw)
    except ValueError as exc:
        raise InvalidInput.field("parent", "choose an objective or a key result") from exc
    if kind == "o":
        return {"parent_objective": access_objective(actor, pk)}
    if kind == "k":
        return {"parent_key_result": access_key_result(actor, pk)}
    raise InvalidInput.field("parent", "choose an objective or a key result")


_ALIGN_ALIASES = {"parent_objective": "parent", "parent_key_result": "parent"}


@member_view
def objective_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    actor.require(Role.MEMBER, "create objectives")
    if request.method == "POST":
        form = ObjectiveCreateForm(request.POST, actor=actor)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    objective = create_objective(
                        actor=actor,
                        cycle=data["cycle"],
                        key=form.key_or_new(),
                        title=data["title"],
                        description=data["description"],
                        owner_team=data["owner_team"],
                        owner_user=data["owner_user"],
                        visibility=data["visibility"],
                        state=data["state"],
                        weight=data["weight"],
                    )
                    if data.get("parent"):
                        align_objective(
                            actor=actor, child=objective, **_parent(actor, data["parent"])
                        )
            except DomainError as exc:
                if exc.http_status == 404 and not exc.errors:
                    exc = InvalidInput.field("parent", "not found")
                add_domain_error(form, exc, _ALIGN_ALIASES)
            else:
                messages.success(request, "Objective created. Now add its key results.")
                return HttpResponseRedirect(reverse("web:objective-detail", args=[objective.pk]))
        status = 422
    else:
        form = ObjectiveCreateForm(actor=actor, initial=_objective_initial(actor, request))
        status = 200
    context = {"form": form, "title": "New objective", "cancel_url": reverse("web:objective-list")}
    return render_page(request, "web/objective_form.html", context, nav="objectives", status=status)


@member_view
def objective_edit(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    objective = access_objective(actor, objective_id, write=True)
    initial = {
        "title": objective.title,
        "description": objective.description,
        "cycle": objective.cycle_id,
        "owner_team": objective.owner_team_id,
        "owner_user": objective.owner_user_id,
        "visibility": objective.visibility,
        "state": objective.state,
        "weight": objective.weight,
        "key": objective.key,
    }
    form = ObjectiveForm(request.POST or None, actor=actor, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            changes = changes_from(form, objective)
            if not changes.get("key"):
                changes.pop("key", None)
            try:
                update_objective(
                    actor=actor,
                    objective=objective,
                    changes=changes,
                    expected_version=_version(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Objective saved.")
                return HttpResponseRedirect(reverse("web:objective-detail", args=[objective.pk]))
    context = {
        "form": form,
        "title": f"Edit “{objective.title}”",
        "objective": objective,
        "version": objective.version,
        "cancel_url": reverse("web:objective-detail", args=[objective.pk]),
    }
    return render_page(request, "web/objective_form.html", context, nav="objectives", status=status)


def _version(request: HttpRequest) -> int | None:
    """The version the form was loaded with: a concurrent edit is refused, not overwritten."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@member_view
def objective_align(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    """Make the objective contribute to a parent objective or key result."""
    objective = access_objective(actor, objective_id, write=True)
    form = AlignForm(request.POST or None, choices=parent_choices(actor, objective))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                align_objective(
                    actor=actor,
                    child=objective,
                    weight=form.cleaned_data["weight"],
                    **_parent(actor, form.cleaned_data["parent"]),
                )
            except DomainError as exc:
                if exc.http_status == 404 and not exc.errors:
                    exc = InvalidInput.field("parent", "not found")
                add_domain_error(form, exc, _ALIGN_ALIASES)
            else:
                messages.success(request, "Alignment added.")
                return HttpResponseRedirect(reverse("web:objective-detail", args=[objective.pk]))
    context = {
        "form": form,
        "objective": objective,
        "title": f"Align “{objective.title}”",
        "cancel_url": reverse("web:objective-detail", args=[objective.pk]),
    }
    return render_page(
        request, "web/objective_align.html", context, nav="objectives", status=status
    )


@member_view
def alignment_edit(request: HttpRequest, actor: Actor, alignment_id: int) -> HttpResponse:
    """Change an alignment link's weight (whoever may change the child objective)."""
    alignment = access_alignment(actor, alignment_id, write=True)
    child = alignment.child
    url = reverse("web:objective-detail", args=[child.pk])
    form = AlignmentWeightForm(request.POST or None, initial={"weight": alignment.weight})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                update_alignment(
                    actor=actor,
                    alignment=alignment,
                    changes=changes_from(form, alignment, ["weight"]),
                    expected_version=_version(request),
                )
            except DomainError as exc:
                if exc.http_status == 404 and not exc.errors:
                    raise
                add_domain_error(form, exc)
            else:
                messages.success(request, "Alignment saved.")
                return HttpResponseRedirect(url)
    parent = alignment.parent_objective or alignment.parent_key_result
    context = {
        "form": form,
        "objective": child,
        "parent": parent,
        "version": alignment.version,
        "title": f"Edit the alignment of “{child.title}”",
        "cancel_url": url,
    }
    return render_page(request, "web/alignment_edit.html", context, nav="objectives", status=status)


@member_view
def alignment_remove(request: HttpRequest, actor: Actor, alignment_id: int) -> HttpResponse:
    alignment = access_alignment(actor, alignment_id, write=True)
    child = alignment.child
    parent = alignment.parent_objective or alignment.parent_key_result
    url = reverse("web:objective-detail", args=[child.pk])
    return confirm_then(
        request,
        title="Remove this alignment?",
        body=f"“{child.title}” will no longer contribute to “{parent}”. You can align it again.",
        confirm_label="Remove alignment",
        cancel_url=url,
        action=lambda: unalign_objective(actor=actor, alignment=alignment),
        done_message="Alignment removed.",
        done_url=url,
        nav="objectives",
    )


@member_view
def objective_archive(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    objective = access_objective(actor, objective_id, write=True)
    return confirm_then(
        request,
        title=f"Archive “{objective.title}”?",
        body="It disappears from the dashboard, the alignment tree and plan health, with its "
        "key results. Nothing is deleted: you can restore it from the archived objectives.",
        confirm_label="Archive objective",
        cancel_url=reverse("web:objective-detail", args=[objective.pk]),
        action=lambda: archive_objective(actor=actor, objective=objective),
        done_message=f"“{objective.title}” archived.",
        done_url=reverse("web:objective-list") + "?archived=1",
        nav="objectives",
    )


@member_view
def objective_restore(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    objective = access_objective(actor, objective_id, write=True, include_archived=True)
    return confirm_then(
        request,
        title=f"Restore “{objective.title}”?",
        body="It comes back with its key results, check-ins and links.",
        confirm_label="Restore objective",
        cancel_url=reverse("web:objective-list") + "?archived=1",
        action=lambda: restore_objective(actor=actor, objective=objective),
        done_message=f"“{objective.title}” restored.",
        done_url=reverse("web:objective-detail", args=[objective.pk]),
        danger=False,
        nav="objectives",
    )
