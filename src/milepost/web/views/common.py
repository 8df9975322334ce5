"""Pieces every page module shares: the confirmation page before archiving, history of edits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from milepost.audit.models import AuditEvent
from milepost.errors import DomainError
from milepost.organizations.access import Actor
from milepost.web.htmx import render_page

HISTORY_SHOWN = 25


def confirm_then(
    request: HttpRequest,
    *,
    title: str,
    body: str,
    confirm_label: str,
    cancel_url: str,
    action: Callable[[], Any],
    done_message: str,
    done_url: str,
    danger: bool = True,
    nav: str = "",
) -> HttpResponse:
    """GET: a page asking to confirm; POST: run `action` and go to `done_url` (a refusal is
    shown as a message on the cancel page)."""
    if request.method == "POST":
        try:
            action()
        except DomainError as exc:
            if exc.http_status in (403, 404):
                raise
            messages.error(request, exc.detail)
            return HttpResponseRedirect(cancel_url)
        messages.success(request, done_message)
        return HttpResponseRedirect(done_url)
    context = {
        "title": title,
        "body": body,
        "confirm_label": confirm_label,
        "cancel_url": cancel_url,
        "danger": danger,
    }
    return render_page(request, "web/confirm.html", context, nav=nav)


def history(actor: Actor, targets: Iterable[tuple[str, Iterable[int]]]) -> list[AuditEvent]:
    """The latest audit events on the given targets (``(target_type, ids)``), newest first.
    One query."""
    query = Q()
    for target_type, ids in targets:
        id_list = list(ids)
        if id_list:
            query |= Q(target_type=target_type, target_id__in=id_list)
    if not query:
        return []
    return list(
        AuditEvent.objects.filter(organization_id=actor.organization_id)
        .filter(query)
        .order_by("-created_at", "-id")[:HISTORY_SHOWN]
    )


def changed_fields(event: AuditEvent) -> list[dict[str, Any]]:
    """An audit event's before → after per field, for the history list."""
    before = event.before or {}
    after = event.after or {}
    skip = {"version", "id", "organization_id", "updated_at", "created_at"}
    if event.action.endswith(".create"):
        return []
    names = [n for n in after if n not in skip]
    return [{"field": n, "before": before.get(n), "after": after.get(n)} for n in names][:8]
