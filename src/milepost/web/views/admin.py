"""Settings for admins: teams (tree, capacity, lead, members) and cycles."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from milepost.accounts.models import User
from milepost.errors import DomainError, NotFound
from milepost.okrs.access import access_cycle, can_edit_cycle
from milepost.okrs.models import Cycle
from milepost.okrs.services import archive_cycle, create_cycle, restore_cycle, update_cycle
from milepost.organizations.access import Actor, access_team
from milepost.organizations.models import Role, Team, TeamMember
from milepost.organizations.services import (
    add_team_member,
    archive_team,
    create_team,
    remove_team_member,
    restore_team,
    update_team,
)
from milepost.web.context import member_view
from milepost.web.forms import TeamForm, TeamMemberForm, changes_from
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_okrs import CycleForm, unique_key
from milepost.web.htmx import render_page
from milepost.web.views.common import confirm_then


@member_view
def team_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    teams = list(
        Team.objects.of(actor.organization_id)
        .select_related("parent", "lead")
        .order_by(F("archived_at").asc(nulls_first=True), "name")
    )
    counts: dict[int, int] = {}
    for team_id in TeamMember.objects.filter(organization_id=actor.organization_id).values_list(
        "team_id", flat=True
    ):
        counts[team_id] = counts.get(team_id, 0) + 1
    context = {
        "teams": [t for t in teams if t.archived_at is None],
        "archived": [t for t in teams if t.archived_at is not None],
        "counts": counts,
        "section": "teams",
        "can_edit": actor.is_admin,
    }
    return render_page(request, "web/team_list.html", context, nav="settings")


@member_view
def team_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    actor.require(Role.ADMIN, "create teams")
    form = TeamForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        taken = set(Team.objects.of(actor.organization_id).values_list("key", flat=True))
        try:
            team = create_team(
                actor=actor,
                key=data["key"] or unique_key(data["name"], taken),
                name=data["name"],
                parent=data["parent"],
                capacity_days_per_week=data["capacity_days_per_week"],
                lead=data["lead"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Team “{team.name}” created. Add its members.")
            return HttpResponseRedirect(reverse("web:team-edit", args=[team.pk]))
    context = {"form": form, "title": "New team", "section": "teams"}
    status = 422 if request.method == "POST" else 200
    return render_page(request, "web/team_form.html", context, nav="settings", status=status)


@member_view
def team_edit(request: HttpRequest, actor: Actor, team_id: int) -> HttpResponse:
    team = access_team(actor, team_id)
    if not (actor.is_admin or team.lead_id == actor.user_id):
        actor.require(Role.ADMIN, "edit this team")
    form = TeamForm(request.POST or None, actor=actor, instance=team)
    if request.method == "POST" and form.is_valid():
        changes = changes_from(form, team)
        if not changes.get("key"):
            changes.pop("key", None)
        try:
            update_team(actor=actor, team=team, changes=changes)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Team saved.")
            return HttpResponseRedirect(reverse("web:team-edit", args=[team.pk]))
    members = list(User.objects.filter(team_memberships__team=team).order_by("full_name", "email"))
    context = {
        "form": form,
        "team": team,
        "title": team.name,
        "members": members,
        "member_form": TeamMemberForm(actor=actor, exclude={u.pk for u in members})
        if actor.is_admin
        else None,
        "section": "teams",
    }
    status = 422 if request.method == "POST" else 200
    return render_page(request, "web/team_form.html", context, nav="settings", status=status)


@member_view
@require_POST
def team_member_add(request: HttpRequest, actor: Actor, team_id: int) -> HttpResponse:
    team = access_team(actor, team_id)
    form = TeamMemberForm(request.POST, actor=actor, exclude=set())
    if form.is_valid():
        try:
            add_team_member(actor=actor, team=team, user=form.cleaned_data["user"])
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{form.cleaned_data['user'].email} joined {team.name}.")
    return HttpResponseRedirect(reverse("web:team-edit", args=[team.pk]))


@member_view
@require_POST
def team_member_remove(
    request: HttpRequest, actor: Actor, team_id: int, user_id: int
) -> HttpResponse:
    team = access_team(actor, team_id)
    user = User.objects.filter(pk=user_id, team_memberships__team=team).first()
    if user is None:
        raise NotFound("Member not found.")
    remove_team_member(actor=actor, team=team, user=user)
    messages.success(request, f"{user.email} left {team.name}.")
    return HttpResponseRedirect(reverse("web:team-edit", args=[team.pk]))


@member_view
def team_archive(request: HttpRequest, actor: Actor, team_id: int) -> HttpResponse:
    team = access_team(actor, team_id)
    actor.require(Role.ADMIN, "archive teams")
    return confirm_then(
        request,
        title=f"Archive the team “{team.name}”?",
        body="It disappears from the lists and filters; its objectives and initiatives stay. "
        "You can restore it.",
        confirm_label="Archive team",
        cancel_url=reverse("web:team-edit", args=[team.pk]),
        action=lambda: archive_team(actor=actor, team=team),
        done_message=f"“{team.name}” archived.",
        done_url=reverse("web:team-list"),
        nav="settings",
    )


@member_view
def team_restore(request: HttpRequest, actor: Actor, team_id: int) -> HttpResponse:
    team = access_team(actor, team_id, include_archived=True)
    actor.require(Role.ADMIN, "restore teams")
    return confirm_then(
        request,
        title=f"Restore the team “{team.name}”?",
        body="It comes back in the lists and filters.",
        confirm_label="Restore team",
        cancel_url=reverse("web:team-list"),
        action=lambda: restore_team(actor=actor, team=team),
        done_message=f"“{team.name}” restored.",
        done_url=reverse("web:team-list"),
        danger=False,
        nav="settings",
    )


@member_view
def cycle_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    cycles = list(
        Cycle.objects.of(actor.organization_id).select_related("parent").order_by("-start_date")
    )
    context = {
        "cycles": [c for c in cycles if c.archived_at is None],
        "archived": [c for c in cycles if c.archived_at is not None],
        "can_edit": can_edit_cycle(actor),
        "section": "cycles",
    }
    return render_page(request, "web/cycle_list.html", context, nav="settings")


@member_view
def cycle_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    actor.require(Role.ADMIN, "create cycles")
    form = CycleForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        taken = set(Cycle.objects.of(actor.organization_id).values_list("key", flat=True))
        try:
            cycle = create_cycle(
                actor=actor,
                key=data["key"] or unique_key(data["name"], taken),
                name=data["name"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                parent=data["parent"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Cycle “{cycle.name}” created. Now add its objectives.")
            return HttpResponseRedirect(reverse("web:objective-list") + f"?cycle={cycle.pk}")
    context = {"form": form, "title": "New cycle", "section": "cycles"}
    status = 422 if request.method == "POST" else 200
    return render_page(request, "web/cycle_form.html", context, nav="settings", status=status)


@member_view
def cycle_edit(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id, write=True)
    form = CycleForm(request.POST or None, actor=actor, instance=cycle)
    if request.method == "POST" and form.is_valid():
        changes = changes_from(form, cycle)
        if not changes.get("key"):
            changes.pop("key", None)
        try:
            update_cycle(actor=actor, cycle=cycle, changes=changes)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Cycle saved.")
            return HttpResponseRedirect(reverse("web:cycle-list"))
    context = {"form": form, "cycle": cycle, "title": f"Edit “{cycle.name}”", "section": "cycles"}
    status = 422 if request.method == "POST" else 200
    return render_page(request, "web/cycle_form.html", context, nav="settings", status=status)


@member_view
def cycle_archive(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id, write=True)
    return confirm_then(
        request,
        title=f"Archive the cycle “{cycle.name}”?",
        body="Its objectives and key results are hidden with it. Nothing is deleted: you can "
        "restore it.",
        confirm_label="Archive cycle",
        cancel_url=reverse("web:cycle-list"),
        action=lambda: archive_cycle(actor=actor, cycle=cycle),
        done_message=f"“{cycle.name}” archived.",
        done_url=reverse("web:cycle-list"),
        nav="settings",
    )


@member_view
def cycle_restore(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id, write=True, include_archived=True)
    return confirm_then(
        request,
        title=f"Restore the cycle “{cycle.name}”?",
        body="It comes back with its objectives and key results.",
        confirm_label="Restore cycle",
        cancel_url=reverse("web:cycle-list"),
        action=lambda: restore_cycle(actor=actor, cycle=cycle),
        done_message=f"“{cycle.name}” restored.",
        done_url=reverse("web:cycle-list"),
        danger=False,
        nav="settings",
    )
