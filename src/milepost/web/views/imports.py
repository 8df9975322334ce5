"""Uploads: a plan file (admins) and a CSV of key results or check-ins (members).

Both go in two steps. The upload runs the import as a dry run and shows what would change
(every error with its place in the file, every warning); the file's text waits in the
session under its SHA-256 until the user confirms, and the confirmation runs the real import
(all or nothing) on exactly that text.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.plans.csv_io import CHECKIN_COLUMNS, KEY_RESULT_COLUMNS, MAX_ROWS, import_csv
from milepost.plans.document import PlanReadError, format_path
from milepost.plans.import_support import KIND_LABELS
from milepost.plans.importer import import_plan_text
from milepost.web.context import member_view
from milepost.web.htmx import render_page
from milepost.web.selection import choose_cycle

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
CHANGES_SHOWN = 300
_PLAN_SESSION = "milepost_plan_import"
_CSV_SESSION = "milepost_csv_import"


class UploadError(Exception):
    """The upload cannot be read; the message says why."""


def _uploaded_text(request: HttpRequest) -> tuple[str, str]:
    """The uploaded file's name and UTF-8 text."""
    upload = request.FILES.get("file")
    if upload is None:
        raise UploadError("Choose a file to upload.")
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: import it with "
            "the `milepost` command instead."
        )
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError("The file is not UTF-8 text (in Excel, save it as CSV UTF-8).") from None
    return upload.name or "upload", text


def _stash(request: HttpRequest, key: str, name: str, text: str) -> str:
    token = hashlib.sha256(text.encode()).hexdigest()
    request.session[key] = {"token": token, "name": name, "text": text}
    return token


def _unstash(request: HttpRequest, key: str) -> tuple[str, str] | None:
    stored = request.session.get(key)
    token = request.POST.get("token", "")
    if not isinstance(stored, dict) or not token or stored.get("token") != token:
        return None
    return str(stored["name"]), str(stored["text"])


# --- plan files ---------------------------------------------------------------------------


def _plan_context(actor: Actor, request: HttpRequest) -> dict[str, Any]:
    choice = choose_cycle(request, actor)
    return {"cycles": choice.cycles, "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}


@require_http_methods(["GET", "POST"])
@member_view
def plan_import(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Upload a plan file: a preview of what the import would change, then confirm."""
    actor.require(Role.ADMIN, "import plans")
    context = _plan_context(actor, request)
    if request.method == "GET":
        return render_page(request, "web/plan_import.html", context, nav="settings")
    confirming = request.POST.get("action") == "confirm"
    try:
        if confirming:
            stashed = _unstash(request, _PLAN_SESSION)
            if stashed is None:
                raise UploadError("The preview has expired: upload the file again.")
            name, text = stashed
        else:
            name, text = _uploaded_text(request)
        result = import_plan_text(
            actor_or_none=actor,
            text=text,
            organization_slug=actor.organization.slug,
            dry_run=not confirming,
        )
    except (UploadError, PlanReadError) as exc:
        context["upload_error"] = str(exc)
        return render_page(request, "web/plan_import.html", context, status=422, nav="settings")
    if confirming and result.applied:
        request.session.pop(_PLAN_SESSION, None)
        counts = "; ".join(result.summary_lines())
        messages.success(request, f"Imported {name}. {counts}.")
        return HttpResponseRedirect(reverse("web:plan-import"))
    token = _stash(request, _PLAN_SESSION, name, text) if result.ok else ""
    context.update(
        {
            "name": name,
            "result": result,
            "token": token,
            "changes": [
                (c, KIND_LABELS.get(c.kind, c.kind)) for c in result.changes[:CHANGES_SHOWN]
            ],
            "more_changes": max(0, len(result.changes) - CHANGES_SHOWN),
            "errors": [(format_path(i.path), i.message) for i in result.errors],
            "warnings": [(format_path(i.path), i.message) for i in result.warnings],
        }
    )
    status = 422 if result.errors else 200
    return render_page(
        request, "web/plan_import_preview.html", context, status=status, nav="settings"
    )


# --- spreadsheets -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_view
def csv_import(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Upload a CSV of key results or check-ins: a preview, then confirm. Also the page with
    the templates and every list's CSV download."""
    context: dict[str, Any] = {
        "can_import": actor.has_role(Role.MEMBER),
        "key_result_columns": KEY_RESULT_COLUMNS,
        "checkin_columns": CHECKIN_COLUMNS,
        "max_rows": MAX_ROWS,
        "cycle": choose_cycle(request, actor).cycle,
        "is_admin": actor.is_admin,
    }
    if request.method == "GET":
        return render_page(request, "web/csv_import.html", context, nav="settings")
    actor.require(Role.MEMBER, "import spreadsheets")
    confirming = request.POST.get("action") == "confirm"
    try:
        if confirming:
            stashed = _unstash(request, _CSV_SESSION)
            if stashed is None:
                raise UploadError("The preview has expired: upload the file again.")
            name, text = stashed
        else:
            name, text = _uploaded_text(request)
    except UploadError as exc:
        context["upload_error"] = str(exc)
        return render_page(request, "web/csv_import.html", context, status=422, nav="settings")
    result = import_csv(actor=actor, text=text, dry_run=not confirming)
    if confirming and result.applied:
        request.session.pop(_CSV_SESSION, None)
        messages.success(
            request,
            f"Imported {name}: {result.created} added, {result.updated} updated, "
            f"{result.unchanged} already there.",
        )
        return HttpResponseRedirect(reverse("web:csv-import"))
    token = _stash(request, _CSV_SESSION, name, text) if result.ok else ""
    context.update({"name": name, "result": result, "token": token})
    status = 422 if result.errors else 200
    return render_page(
        request, "web/csv_import_preview.html", context, status=status, nav="settings"
    )


urlpatterns = [
    path("data/plan-import/", plan_import, name="plan-import"),
    path("data/csv-import/", csv_import, name="csv-import"),
]
