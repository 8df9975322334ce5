"""The cycle's rhythm in the web app: the cycle page (state, actions, baseline changes,
retrospectives to write), activation and re-opening (with confirmation), the close wizard
(retrospectives, admin skips, carry-over), the retrospective forms, a new cycle from a
template. Every rule is in `milepost.okrs.services`; the pages parse input and render."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from milepost.engine.model import CycleState, ObjectiveState
from milepost.errors import DomainError, PermissionDenied
from milepost.okrs.access import (
    access_cycle,
    access_key_result,
    access_objective,
    can_edit_cycle,
    can_edit_key_result,
    can_edit_objective,
)
from milepost.okrs.carry_over import reached_target
from milepost.okrs.models import Cycle, KeyResult, Objective, Retrospective
from milepost.okrs.retrospectives import cycle_scores, has_reflection
from milepost.okrs.services import (
    activate_cycle,
    baseline_changes,
    carry_over_key_results,
    close_cycle,
    create_cycle_from_template,
    record_key_result_retrospective,
    record_objective_reflection,
    reopen_cycle,
    skip_objective_retrospective,
    update_objective,
)
from milepost.organizations.access import Actor
from milepost.reports.queries import hidden_objective_keys
from milepost.web.context import member_view
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_cycles import (
    CarryOverForm,
    CycleFromTemplateForm,
    KeyResultRetrospectiveForm,
    ObjectiveReflectionForm,
)
from milepost.web.forms_okrs import unique_key
from milepost.web.htmx import render_page, safe_next
from milepost.web.views.common import confirm_then

LIFECYCLE = ("planning", "active", "closed")
_QUARTER = re.compile(r"^(\d{4}) Q([1-4])$")


def _cycle_url(cycle: Cycle) -> str:
    return reverse("web:cycle-detail", args=[cycle.pk])


def _wizard_url(cycle: Cycle) -> str:
    return reverse("web:cycle-close", args=[cycle.pk])


@member_view
def cycle_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Every cycle, newest first, with its state and the way to its page and report."""
    cycles = list(Cycle.objects.of(actor.organization_id).active().order_by("-start_date", "key"))
    context = {"cycles": cycles, "can_edit": can_edit_cycle(actor)}
    return render_page(request, "web/cycle_index.html", context, nav="cycles")


@dataclass
class ObjectiveRow:
    objective: Objective
    retrospective: Retrospective | None
    can_edit: bool

    @property
    def state(self) -> str:
        retro = self.retrospective
        if retro is not None and retro.skipped:
            return "skipped"
        if retro is not None and has_reflection(retro):
            return "written"
        if self.objective.state == ObjectiveState.CANCELLED:
            return "not needed"
        return "missing"


def _objective_rows(actor: Actor, cycle: Cycle) -> list[ObjectiveRow]:
    objectives = list(
        Objective.objects.visible_to(actor)
        .filter(cycle=cycle, archived_at__isnull=True)
        .select_related("owner_team", "owner_user")
        .order_by("key", "pk")
    )
    retros = {
        r.objective_id: r
        for r in Retrospective.objects.filter(objective__in=[o.pk for o in objectives])
    }
    return [ObjectiveRow(o, retros.get(o.pk), can_edit_objective(actor, o)) for o in objectives]


@member_view
def cycle_detail(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id)
    rows = _objective_rows(actor, cycle)
    hidden = hidden_objective_keys(actor)
    changes = [c for c in baseline_changes(cycle) if c.key.split("/", 1)[0] not in hidden]
    context = {
        "cycle": cycle,
        "lifecycle": LIFECYCLE,
        "lifecycle_index": LIFECYCLE.index(cycle.state),
        "rows": rows,
        "missing": sum(1 for r in rows if r.state == "missing"),
        "changes": changes,
        "can_edit": can_edit_cycle(actor),
        "can_reopen": actor.is_owner and cycle.state == CycleState.CLOSED,
    }
    return render_page(request, "web/cycle_detail.html", context, nav="cycles")


@member_view
def cycle_activate(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id, write=True)
    return confirm_then(
        request,
        title=f"Activate {cycle.name}?",
        body="Its draft objectives become active and today's plan — every objective's and key "
        "result's target, due date, weight and owner — is recorded as the baseline. Targets "
        "and due dates can still change; each change is shown as a change from the baseline.",
        confirm_label="Activate the cycle",
        cancel_url=_cycle_url(cycle),
        action=lambda: activate_cycle(actor=actor, cycle=cycle),
        done_message=f"{cycle.name} is active; its baseline is recorded.",
        done_url=_cycle_url(cycle),
        danger=False,
        nav="cycles",
    )


@member_view
def cycle_reopen(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    cycle = access_cycle(actor, cycle_id)
    if not actor.is_owner:
        raise PermissionDenied("Only an owner of the organization can reopen a closed cycle.")
    return confirm_then(
        request,
        title=f"Reopen {cycle.name}?",
        body="It becomes active again: check-ins and edits are accepted and its objectives are "
        "active. Its retrospectives are kept. The reopening is recorded in the audit log.",
        confirm_label="Reopen the cycle",
        cancel_url=_cycle_url(cycle),
        action=lambda: reopen_cycle(actor=actor, cycle=cycle),
        done_message=f"{cycle.name} is open again.",
        done_url=_cycle_url(cycle),
        nav="cycles",
    )


@dataclass
class KeyResultRow:
    kr: KeyResult
    score: Any  # engine Score or None
    retrospective: Retrospective | None
    carried_to: list[KeyResult]
    unfinished: bool
    can_edit: bool


def _target_cycles(actor: Actor, cycle: Cycle) -> list[Cycle]:
    """Cycles a key result of ``cycle`` can be carried into: open ones other than it, the
    next ones first."""
    others = (
        Cycle.objects.of(actor.organization_id)
        .active()
        .exclude(pk=cycle.pk)
        .exclude(state=CycleState.CLOSED)
    )
    return sorted(others, key=lambda c: (c.start_date < cycle.start_date, c.start_date, c.pk))


@member_view
def cycle_close(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    """The close wizard (admins): objectives that still need a retrospective (write or skip),
    the key results' scores and retrospectives, carrying unfinished ones over, and closing."""
    cycle = access_cycle(actor, cycle_id, write=True)
    if request.method == "POST":
        try:
            close_cycle(actor=actor, cycle=cycle)
        except DomainError as exc:
            if exc.http_status in (403, 404):
                raise
            messages.error(request, exc.detail)
            return HttpResponseRedirect(_wizard_url(cycle))
        messages.success(request, f"{cycle.name} is closed. Here is how it went.")
        return HttpResponseRedirect(reverse("web:cycle-report", args=[cycle.pk]))
    rows = _objective_rows(actor, cycle)
    scores = cycle_scores(cycle, actor.organization) if cycle.state != "planning" else None
    key_results = list(
        KeyResult.objects.filter(
            objective__in=[r.objective.pk for r in rows], archived_at__isnull=True
        )
        .select_related("objective", "owner")
        .order_by("objective__key", "key", "pk")
    )
    retros = {
        r.key_result_id: r
        for r in Retrospective.objects.filter(key_result__in=[k.pk for k in key_results])
    }
    carried: dict[int, list[KeyResult]] = {}
    for copy in KeyResult.objects.filter(
        carried_from__in=[k.pk for k in key_results], archived_at__isnull=True
    ).select_related("objective__cycle"):
        carried.setdefault(copy.carried_from_id or 0, []).append(copy)
    kr_rows = [
        KeyResultRow(
            kr=k,
            score=scores.key_results.get(k.pk) if scores else None,
            retrospective=retros.get(k.pk),
            carried_to=carried.get(k.pk, []),
            unfinished=not reached_target(k),
            can_edit=can_edit_key_result(actor, k),
        )
        for k in key_results
    ]
    targets = _target_cycles(actor, cycle)
    context = {
        "cycle": cycle,
        "rows": rows,
        "missing": [r for r in rows if r.state == "missing"],
        "kr_rows": kr_rows,
        "unfinished": [r for r in kr_rows if r.unfinished and not r.carried_to],
        "targets": targets,
        "scores": scores,
        "can_close": cycle.state == CycleState.ACTIVE,
        "next": _wizard_url(cycle),
    }
    return render_page(request, "web/cycle_close.html", context, nav="cycles")


@member_view
@require_POST
def objective_retrospective_skip(
    request: HttpRequest, actor: Actor, objective_id: int
) -> HttpResponse:
    objective = access_objective(actor, objective_id)
    fallback = _cycle_url(objective.cycle)
    try:
        skip_objective_retrospective(actor=actor, objective=objective)
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Retrospective of “{objective.title}” skipped.")
    return HttpResponseRedirect(safe_next(request, fallback))


@member_view
@require_POST
def cycle_carry_over(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    """Carry the checked key results of this cycle into the chosen cycle."""
    cycle = access_cycle(actor, cycle_id)
    visible = list(
        KeyResult.objects.visible_to(actor).filter(
            objective__cycle=cycle, archived_at__isnull=True, objective__archived_at__isnull=True
        )
    )
    targets = _target_cycles(actor, cycle)
    form = CarryOverForm(
        request.POST,
        key_results=[(k.pk, k.title) for k in visible],
        cycles=[(c.pk, c.name) for c in targets],
    )
    back = safe_next(request, _wizard_url(cycle))
    if not form.is_valid():
        messages.error(
            request, "Choose the key results to carry over and the cycle to carry them into."
        )
        return HttpResponseRedirect(back)
    chosen = set(form.cleaned_data["key_results"])
    target = next(c for c in targets if c.pk == form.cleaned_data["target_cycle"])
    try:
        copies = carry_over_key_results(
            actor=actor,
            key_results=[k for k in visible if k.pk in chosen],
            target_cycle=target,
        )
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        problems = [m for messages_ in exc.errors.values() for m in messages_] or [exc.detail]
        messages.error(request, "Nothing was carried over: " + "; ".join(problems) + ".")
        return HttpResponseRedirect(back)
    n = len(copies)
    messages.success(
        request,
        f"{n} key result{'s' if n != 1 else ''} carried into {target.name}, each starting from "
        "its last value.",
    )
    return HttpResponseRedirect(back)


def _next_name(cycle: Cycle) -> str:
    match = _QUARTER.match(cycle.name)
    if match is None:
        return f"After {cycle.name}"
    year, quarter = int(match.group(1)), int(match.group(2))
    year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return f"{year} Q{quarter}"


@member_view
def cycle_from_template(request: HttpRequest, actor: Actor, cycle_id: int) -> HttpResponse:
    """A new cycle prepared from this one: its recurring objectives as drafts."""
    source = access_cycle(actor, cycle_id, write=True)
    length = source.end_date - source.start_date
    start = source.end_date + dt.timedelta(days=1)
    name = _next_name(source)
    taken = set(Cycle.objects.of(actor.organization_id).values_list("key", flat=True))
    initial = {
        "name": name,
        "key": unique_key(name, taken),
        "start_date": start,
        "end_date": start + length,
    }
    form = CycleFromTemplateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                cycle = create_cycle_from_template(
                    actor=actor,
                    source_cycle=source,
                    key=data["key"],
                    name=data["name"],
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                copied = Objective.objects.filter(cycle=cycle).count()
                messages.success(
                    request,
                    f"{cycle.name} created with {copied} recurring objective"
                    f"{'s' if copied != 1 else ''} as drafts.",
                )
                return HttpResponseRedirect(safe_next(request, _cycle_url(cycle)))
    recurring = list(
        Objective.objects.filter(cycle=source, archived_at__isnull=True, recurring=True)
        .exclude(state=ObjectiveState.CANCELLED)
        .order_by("key")
    )
    context = {
        "form": form,
        "source": source,
        "recurring": recurring,
        "next": request.GET.get("next", ""),
    }
    return render_page(
        request, "web/cycle_from_template.html", context, nav="cycles", status=status
    )


@member_view
@require_POST
def objective_recurring(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    """Mark an objective recurring (copied into cycles made from this one) or not."""
    objective = access_objective(actor, objective_id, write=True)
    try:
        update_objective(
            actor=actor, objective=objective, changes={"recurring": not objective.recurring}
        )
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        messages.error(request, exc.detail)
    else:
        state = "recurs" if objective.recurring else "no longer recurs"
        messages.success(request, f"“{objective.title}” {state} in the next cycles.")
    return HttpResponseRedirect(safe_next(request, _cycle_url(objective.cycle)))


# --- retrospective forms ----------------------------------------------------------------------


@member_view
def key_result_retrospective(
    request: HttpRequest, actor: Actor, key_result_id: int
) -> HttpResponse:
    kr = access_key_result(actor, key_result_id, write=True)
    cycle = kr.objective.cycle
    existing = Retrospective.objects.filter(key_result=kr).first()
    initial = (
        {
            "grade_override": existing.grade_override,
            "reason_code": existing.reason_code,
            "lessons": existing.lessons,
        }
        if existing is not None
        else {}
    )
    form = KeyResultRetrospectiveForm(request.POST or None, initial=initial)
    back = safe_next(request, reverse("web:key-result-detail", args=[kr.pk]))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                record_key_result_retrospective(
                    actor=actor,
                    key_result=kr,
                    grade_override=data["grade_override"],
                    reason_code=data["reason_code"],
                    lessons=data["lessons"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Retrospective of “{kr.title}” saved.")
                return HttpResponseRedirect(back)
    score = None
    if cycle.state != CycleState.PLANNING:
        score = cycle_scores(cycle, actor.organization).key_results.get(kr.pk)
    context = {
        "kr": kr,
        "cycle": cycle,
        "form": form,
        "score": score,
        "retrospective": existing,
        "cancel_url": back,
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    return render_page(
        request, "web/retrospective_key_result.html", context, nav="cycles", status=status
    )


@member_view
def objective_retrospective(request: HttpRequest, actor: Actor, objective_id: int) -> HttpResponse:
    objective = access_objective(actor, objective_id, write=True)
    cycle = objective.cycle
    existing = Retrospective.objects.filter(objective=objective).first()
    names = ("went_well", "went_badly", "change_next", "lessons")
    initial = {n: getattr(existing, n) for n in names} if existing is not None else {}
    form = ObjectiveReflectionForm(request.POST or None, initial=initial)
    back = safe_next(request, reverse("web:objective-detail", args=[objective.pk]))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                record_objective_reflection(
                    actor=actor,
                    objective=objective,
                    went_well=data["went_well"],
                    went_badly=data["went_badly"],
                    change_next=data["change_next"],
                    lessons=data["lessons"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Reflection on “{objective.title}” saved.")
                return HttpResponseRedirect(back)
    score = None
    key_results: list[tuple[KeyResult, Any]] = []
    if cycle.state != CycleState.PLANNING:
        scores = cycle_scores(cycle, actor.organization)
        score = scores.objectives.get(objective.pk)
        key_results = [
            (k, scores.key_results.get(k.pk))
            for k in KeyResult.objects.filter(
                objective=objective, archived_at__isnull=True
            ).order_by("key")
        ]
    context = {
        "objective": objective,
        "cycle": cycle,
        "form": form,
        "score": score,
        "key_results": key_results,
        "retrospective": existing,
        "cancel_url": back,
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    return render_page(
        request, "web/retrospective_objective.html", context, nav="cycles", status=status
    )
