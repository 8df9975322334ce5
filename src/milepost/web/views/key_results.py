"""Key results: the page (chart, history, check-in form), create, edit, archive, restore, and
recording a check-in — with htmx, the progress on the page updates without a reload."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from milepost.errors import DomainError
from milepost.okrs.access import access_key_result, access_objective
from milepost.okrs.models import KeyResult
from milepost.okrs.services import (
    archive_key_result,
    create_key_result,
    record_checkin,
    restore_key_result,
    update_key_result,
)
from milepost.organizations.access import Actor
from milepost.reports.charts import key_result_chart
from milepost.roadmap.models import InitiativeKeyResult
from milepost.web.context import member_view, resolve
from milepost.web.format import label, percent
from milepost.web.forms import changes_from
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_okrs import CheckInForm, KeyResultForm
from milepost.web.htmx import is_htmx, render_page
from milepost.web.readmodels import KeyResultView, all_checkins_newest_first, key_result_view
from milepost.web.templatetags.milepost_integrations import DATA_SOURCE_RELATIONS
from milepost.web.views import cycle_reports
from milepost.web.views.common import changed_fields, confirm_then, history
from milepost.web.views.objectives import _version

PARTIALS = ("summary", "chart", "history")


def _page_context(actor: Actor, kr: KeyResult, view: KeyResultView) -> dict[str, Any]:
    initiatives = list(
        InitiativeKeyResult.objects.filter(
            key_result=kr, archived_at__isnull=True, initiative__archived_at__isnull=True
        )
        .select_related("initiative", "initiative__team")
        .order_by("initiative__start_date", "initiative__key")
    )
    return {
        "kr": kr,
        "view": view,
        "objective": kr.objective,
        "chart": key_result_chart(
            view.input,
            view.result,
            view.result_date,
            actor.organization.engine_settings(),
            title=f"{kr.title}: actual against expected",
        ),
        "checkins": all_checkins_newest_first(view.all_checkins),
        "initiatives": initiatives,
    }


@member_view
def key_result_detail(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    kr = access_key_result(actor, key_result_id, also_select=DATA_SOURCE_RELATIONS)
    if (day := cycle_reports.as_of_day(request, actor)) is not None:
        return cycle_reports.key_result_as_of_page(request, actor, kr, day)
    view = key_result_view(actor, kr)
    context = _page_context(actor, kr, view)
    context.update(cycle_reports.key_result_extras(actor, kr))
    context.update(cycle_reports.as_of_picker(request, actor))
    context["form"] = CheckInForm() if view.can_check_in else None
    events = history(actor, [("keyresult", [kr.pk])])
    context["events"] = [{"event": e, "changes": changed_fields(e)} for e in events]
    return render_page(request, "web/key_result_detail.html", context, nav="objectives")


@member_view
@require_POST
def checkin_create(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    """Record a check-in. htmx: the form comes back (with errors beside the fields, or empty
    with a confirmation) and the progress, chart and history update in place."""
    kr = access_key_result(actor, key_result_id, checkin=True)
    before = (kr.progress, kr.status)
    form = CheckInForm(request.POST)
    saved_message = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            record_checkin(
                actor=actor,
                key_result=kr,
                value=data["value"],
                confidence=data["confidence"],
                note=data["note"],
                effective_date=data["effective_date"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            kr = access_key_result(actor, key_result_id)
            saved_message = (
                f"Check-in saved. Progress {percent(before[0])} → {percent(kr.progress)}; "
                f"status {label(before[1]).lower()} → {label(kr.status).lower()}."
            )
            form = CheckInForm()
    if not is_htmx(request):
        if saved_message:
            messages.success(request, saved_message)
            return HttpResponseRedirect(reverse("web:key-result-detail", args=[kr.pk]))
        view = key_result_view(actor, kr)
        context = _page_context(actor, kr, view)
        context.update({"form": form, "events": []})
        return render_page(
            request, "web/key_result_detail.html", context, nav="objectives", status=422
        )
    view = key_result_view(actor, kr)
    context = _page_context(actor, kr, view)
    context.update({"form": form, "saved_message": saved_message, "web": resolve(request)})
    html: str = render_to_string("web/key_result_detail.html#checkin", context, request=request)
    if saved_message:
        context["oob"] = True
        html += "".join(
            render_to_string(f"web/key_result_detail.html#{name}", context, request=request)
            for name in PARTIALS
        )
    return HttpResponse(html, status=200 if saved_message else 422)


@member_view
def key_result_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    try:
        objective_id = int(request.GET.get("objective") or request.POST.get("objective") or "")
    except ValueError:
        objective_id = 0
    objective = access_objective(actor, objective_id, write=True)
    initial = {"owner": actor.user_id, "kind": "increase", "curve": "linear", "weight": 1}
    form = KeyResultForm(request.POST or None, actor=actor, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                kr = create_key_result(
                    actor=actor,
                    objective=objective,
                    key=form.key_or_new(objective),
                    title=data["title"],
                    kind=data["kind"],
                    start_value=data["start_value"],
                    target_value=data["target_value"],
                    unit=data["unit"],
                    weight=data["weight"],
                    owner=data["owner"],
                    due_date=data["due_date"],
                    curve=data["curve"],
                    maintain_direction=data["maintain_direction"],
                    description=data["description"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Key result “{kr.title}” added.")
                if "add_another" in request.POST:
                    url = reverse("web:key-result-create") + f"?objective={objective.pk}"
                else:
                    url = reverse("web:objective-detail", args=[objective.pk])
                return HttpResponseRedirect(url)
    context = {
        "form": form,
        "objective": objective,
        "title": "New key result",
        "cancel_url": reverse("web:objective-detail", args=[objective.pk]),
    }
    return render_page(
        request, "web/key_result_form.html", context, nav="objectives", status=status
    )


@member_view
def key_result_edit(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    kr = access_key_result(actor, key_result_id, write=True)
    names = [
        "title", "kind", "start_value", "target_value", "unit", "owner", "due_date", "weight",
        "curve", "maintain_direction", "description", "key",
    ]  # fmt: skip
    initial = {name: getattr(kr, name) for name in names}
    initial["owner"] = kr.owner_id
    form = KeyResultForm(request.POST or None, actor=actor, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            changes = changes_from(form, kr, names)
            if not changes.get("key"):
                changes.pop("key", None)
            try:
                update_key_result(
                    actor=actor, key_result=kr, changes=changes, expected_version=_version(request)
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Key result saved.")
                return HttpResponseRedirect(reverse("web:key-result-detail", args=[kr.pk]))
    context = {
        "form": form,
        "objective": kr.objective,
        "kr": kr,
        "version": kr.version,
        "title": f"Edit “{kr.title}”",
        "cancel_url": reverse("web:key-result-detail", args=[kr.pk]),
    }
    return render_page(
        request, "web/key_result_form.html", context, nav="objectives", status=status
    )


@member_view
def key_result_archive(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    kr = access_key_result(actor, key_result_id, write=True)
    objective_url = reverse("web:objective-detail", args=[kr.objective_id])
    return confirm_then(
        request,
        title=f"Archive “{kr.title}”?",
        body="It stops counting toward its objective's progress. Its check-ins are kept, and "
        "you can restore it from the objective's archived key results.",
        confirm_label="Archive key result",
        cancel_url=reverse("web:key-result-detail", args=[kr.pk]),
        action=lambda: archive_key_result(actor=actor, key_result=kr),
        done_message=f"“{kr.title}” archived.",
        done_url=objective_url,
        nav="objectives",
    )


@member_view
def key_result_restore(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    kr = access_key_result(actor, key_result_id, write=True, include_archived=True)
    return confirm_then(
        request,
        title=f"Restore “{kr.title}”?",
        body="It counts toward its objective again, with its whole history.",
        confirm_label="Restore key result",
        cancel_url=reverse("web:objective-detail", args=[kr.objective_id]),
        action=lambda: restore_key_result(actor=actor, key_result=kr),
        done_message=f"“{kr.title}” restored.",
        done_url=reverse("web:key-result-detail", args=[kr.pk]),
        danger=False,
        nav="objectives",
    )
