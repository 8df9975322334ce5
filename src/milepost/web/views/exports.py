"""Downloads: every list as CSV, the plan as a plan file, the CSV import templates.

Each list export holds the rows its list page shows the user with the same filters (the page's
*Export CSV* link carries them): scoped to their organization, objectives and key results
filtered by visibility (`visible_to`), one cycle (``?cycle=<id>``, default the one the list
pages show), archived rows only with ``?archived=1`` (as the list shows them), findings and
priorities as the engine gives them for the cycle (findings about objectives the user cannot
see left out). A fixed number of queries each.
`urlpatterns` here (and in `milepost.web.views.imports`) are added to the ``web`` namespace
by `milepost.web.urls`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, cast

from django.db.models import Count, F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from milepost.errors import NotFound
from milepost.okrs.models import CheckIn, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Role, Team
from milepost.plans.csv_io import rows_to_csv, template_csv
from milepost.roadmap.access import access_initiative
from milepost.roadmap.engine_io import plan_initiatives
from milepost.roadmap.models import Initiative
from milepost.web.context import member_view
from milepost.web.findings import visible_findings
from milepost.web.selection import choose_cycle
from milepost.web.snapshot import page_snapshot
from milepost.work.models import Task

Columns = Sequence[tuple[str, Callable[[Any], object]]]


def _email(user: Any) -> str:
    return user.email if user is not None else ""


def _csv(columns: Columns, rows: Any, *, filename: str) -> HttpResponse:
    # A streaming response; `member_view` passes it through untouched (it is typed for the
    # plain responses of pages, hence the cast).
    return cast(HttpResponse, rows_to_csv(columns, rows, filename=filename))


def _file(actor: Actor, what: str, extra: str = "") -> str:
    parts = [actor.organization.slug, what, slugify(extra) if extra else ""]
    return "-".join(p for p in parts if p) + ".csv"


OBJECTIVE_COLUMNS: Columns = (
    ("key", lambda o: o.key),
    ("title", lambda o: o.title),
    ("cycle", lambda o: o.cycle.key),
    ("team", lambda o: o.owner_team.key if o.owner_team is not None else ""),
    ("owner", lambda o: _email(o.owner_user)),
    ("state", lambda o: o.state),
    ("visibility", lambda o: o.visibility),
    ("weight", lambda o: o.weight),
    ("progress", lambda o: o.progress),
    ("expected", lambda o: o.expected),
    ("status", lambda o: o.status),
    ("description", lambda o: o.description),
)

KEY_RESULT_COLUMNS: Columns = (
    ("objective", lambda kr: kr.objective.key),
    ("key", lambda kr: kr.key),
    ("title", lambda kr: kr.title),
    ("kind", lambda kr: kr.kind),
    ("unit", lambda kr: kr.unit),
    ("start", lambda kr: kr.start_value),
    ("target", lambda kr: kr.target_value),
    ("current", lambda kr: kr.current_value),
    ("weight", lambda kr: kr.weight),
    ("owner", lambda kr: _email(kr.owner)),
    ("due", lambda kr: kr.due_date or kr.objective.cycle.end_date),
    ("curve", lambda kr: kr.curve),
    ("direction", lambda kr: kr.maintain_direction if kr.kind == "maintain" else ""),
    ("progress", lambda kr: kr.progress),
    ("expected", lambda kr: kr.expected),
    ("status", lambda kr: kr.status),
    ("confidence", lambda kr: kr.confidence),
    ("last_checkin_at", lambda kr: kr.last_checkin_at),
)

CHECKIN_COLUMNS: Columns = (
    ("id", lambda c: c.pk),
    ("objective", lambda c: c.key_result.objective.key),
    ("key_result", lambda c: f"{c.key_result.objective.key}/{c.key_result.key}"),
    ("date", lambda c: c.effective_date),
    ("value", lambda c: c.value),
    ("confidence", lambda c: c.confidence),
    ("note", lambda c: c.note),
    ("author", lambda c: _email(c.author)),
    ("source", lambda c: c.source),
    ("recorded_at", lambda c: c.recorded_at),
    ("corrects", lambda c: c.corrects_id),
)

INITIATIVE_COLUMNS: Columns = (
    ("key", lambda i: i.key),
    ("title", lambda i: i.title),
    ("team", lambda i: i.team.key if i.team is not None else ""),
    ("owner", lambda i: _email(i.owner)),
    ("cycle", lambda i: i.cycle.key if i.cycle is not None else ""),
    ("status", lambda i: i.status),
    ("start", lambda i: i.start_date),
    ("end", lambda i: i.end_date),
    ("effort_days", lambda i: i.effort_days),
    ("budget", lambda i: i.budget),
    ("actual_cost", lambda i: i.actual_cost),
    ("planned_hours", lambda i: i.planned_hours),
    ("description", lambda i: i.description),
)

TASK_COLUMNS: Columns = (
    ("initiative", lambda t: t.initiative.key),
    ("key", lambda t: t.key),
    ("title", lambda t: t.title),
    ("status", lambda t: t.status),
    ("assignee", lambda t: _email(t.assignee)),
    ("estimate_hours", lambda t: t.estimate_hours),
    ("due", lambda t: t.due_date),
    ("done_at", lambda t: t.done_at),
)


def _archived(request: HttpRequest) -> bool:
    """The list pages' ``?archived=1``: the archived rows instead of the live ones."""
    return request.GET.get("archived") == "1"


@require_GET
@member_view
def objectives_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The cycle's objectives the user may see (the archived ones with ``?archived=1``), as
    the objectives page lists them."""
    cycle = choose_cycle(request, actor).cycle
    archived = _archived(request)
    rows: list[Objective] = []
    if cycle is not None:
        qs = Objective.objects.visible_to(actor).filter(cycle=cycle)
        qs = qs.archived() if archived else qs.active()
        rows = list(qs.select_related("cycle", "owner_team", "owner_user").order_by("key"))
    extra = " ".join(p for p in (cycle.key if cycle else "", "archived" if archived else "") if p)
    return _csv(OBJECTIVE_COLUMNS, rows, filename=_file(actor, "objectives", extra))


@require_GET
@member_view
def key_results_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The cycle's key results the user may see."""
    cycle = choose_cycle(request, actor).cycle
    rows: list[KeyResult] = []
    if cycle is not None:
        rows = list(
            KeyResult.objects.visible_to(actor)
            .active()
            .filter(objective__cycle=cycle, objective__archived_at__isnull=True)
            .select_related("objective__cycle", "owner")
            .order_by("objective__key", "key")
        )
    name = _file(actor, "key-results", cycle.key if cycle else "")
    return _csv(KEY_RESULT_COLUMNS, rows, filename=name)


@require_GET
@member_view
def checkins_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Check-ins (corrections included, each naming what it corrects) of one key result
    (``?key_result=<id>``) or of the cycle's visible key results, oldest first."""
    key_results = KeyResult.objects.visible_to(actor).active()
    extra = ""
    wanted = request.GET.get("key_result", "")
    if wanted:
        if not wanted.isdigit() or not key_results.filter(pk=int(wanted)).exists():
            raise Http404("Key result not found.")
        key_results = key_results.filter(pk=int(wanted))
        extra = f"kr-{wanted}"
    else:
        cycle = choose_cycle(request, actor).cycle
        key_results = key_results.filter(objective__cycle=cycle) if cycle else key_results.none()
        extra = cycle.key if cycle else ""
    rows = (
        CheckIn.objects.filter(
            organization_id=actor.organization_id,
            archived_at__isnull=True,
            key_result__in=key_results.values("pk"),
        )
        .select_related("key_result__objective", "author")
        .order_by(
            "key_result__objective__key", "key_result__key", "effective_date", "recorded_at", "pk"
        )
    )
    return _csv(
        CHECKIN_COLUMNS, rows.iterator(chunk_size=2000), filename=_file(actor, "check-ins", extra)
    )


@require_GET
@member_view
def initiatives_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The cycle's initiatives, as the initiatives page lists them (those of the cycle, dated
    within it or linked to its key results); with ``?archived=1`` every archived one."""
    cycle = choose_cycle(request, actor).cycle
    qs: QuerySet[Initiative]
    if _archived(request):
        qs = Initiative.objects.of(actor.organization_id).archived()
        extra = "archived"
    elif cycle is not None:
        qs = plan_initiatives(actor.organization, cycle)
        extra = cycle.key
    else:
        qs, extra = Initiative.objects.none(), ""
    rows = list(qs.select_related("team", "owner", "cycle").order_by("key"))
    return _csv(INITIATIVE_COLUMNS, rows, filename=_file(actor, "initiatives", extra))


@require_GET
@member_view
def tasks_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The tasks of one initiative (``?initiative=<id>``) or of every initiative."""
    rows = (
        Task.objects.of(actor.organization_id).active().filter(initiative__archived_at__isnull=True)
    )
    extra = ""
    wanted = request.GET.get("initiative", "")
    if wanted:
        if not wanted.isdigit():
            raise Http404("Initiative not found.")
        initiative = access_initiative(actor, int(wanted))
        rows = rows.filter(initiative=initiative)
        extra = initiative.key
    rows = rows.select_related("initiative", "assignee").order_by("initiative__key", "id")
    return _csv(TASK_COLUMNS, list(rows), filename=_file(actor, "tasks", extra))


MEMBER_COLUMNS: Columns = (
    ("email", lambda m: m.user.email),
    ("name", lambda m: m.user.full_name),
    ("role", lambda m: m.role),
    ("locked", lambda m: "yes" if m.user.locked_at else ""),
    ("member_since", lambda m: m.created_at),
)

TEAM_COLUMNS: Columns = (
    ("key", lambda t: t.key),
    ("name", lambda t: t.name),
    ("parent", lambda t: t.parent.key if t.parent is not None else ""),
    ("lead", lambda t: _email(t.lead)),
    ("capacity_days_per_week", lambda t: t.capacity_days_per_week),
    ("members", lambda t: t.member_count),
    ("archived_at", lambda t: t.archived_at),
)

FINDING_COLUMNS: Columns = (
    ("severity", lambda f: f.severity),
    ("code", lambda f: f.code),
    ("message", lambda f: f.message),
    ("objects", lambda f: " ".join(f.finding.objects)),
)

PRIORITY_COLUMNS: Columns = (
    ("rank", lambda r: r[0].rank),
    ("initiative", lambda r: r[0].key),
    ("title", lambda r: r[1].title),
    ("team", lambda r: r[1].team_key or ""),
    ("status", lambda r: r[1].status.value),
    ("score", lambda r: r[0].score),
    ("aligned", lambda r: "yes" if r[0].aligned else "no"),
)


@require_GET
@member_view
def members_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The organization's members and roles (admins, as the members page)."""
    actor.require(Role.ADMIN, "see the member list")
    rows = (
        Membership.objects.filter(organization_id=actor.organization_id, archived_at__isnull=True)
        .select_related("user")
        .order_by("user__email")
    )
    return _csv(MEMBER_COLUMNS, list(rows), filename=_file(actor, "members"))


@require_GET
@member_view
def teams_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Every team, the archived ones last (as the teams page), with its number of members."""
    rows = list(
        Team.objects.of(actor.organization_id)
        .select_related("parent", "lead")
        .annotate(member_count=Count("team_members"))
        .order_by(F("archived_at").asc(nulls_first=True), "name")
    )
    return _csv(TEAM_COLUMNS, rows, filename=_file(actor, "teams"))


@require_GET
@member_view
def findings_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The cycle's plan-health findings the user may see, as the plan health page."""
    cycle = choose_cycle(request, actor).cycle
    rows: list[Any] = []
    if cycle is not None:
        snap = page_snapshot(request, actor.organization, cycle)
        rows = visible_findings(actor, snap)
    name = _file(actor, "findings", cycle.key if cycle else "")
    return _csv(FINDING_COLUMNS, rows, filename=name)


@require_GET
@member_view
def priorities_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The cycle's initiatives in the engine's priority order, as the priorities page."""
    cycle = choose_cycle(request, actor).cycle
    rows: list[Any] = []
    if cycle is not None:
        snap = page_snapshot(request, actor.organization, cycle)
        initiatives = {i.key: i for i in snap.plan.initiatives}
        rows = [
            (result, initiatives[result.key])
            for result in snap.roadmap.priorities
            if result.key in initiatives
        ]
    name = _file(actor, "priorities", cycle.key if cycle else "")
    return _csv(PRIORITY_COLUMNS, rows, filename=name)


@require_GET
@member_view
def csv_template(request: HttpRequest, actor: Actor, kind: str) -> HttpResponse:
    """The CSV import template (key results or check-ins)."""
    names: dict[str, Literal["key_results", "checkins"]] = {
        "key-results": "key_results",
        "check-ins": "checkins",
    }
    if kind not in names:
        raise Http404("No such template.")
    from milepost.okrs.engine_io import organization_today

    text = template_csv(names[kind], organization_today(actor.organization))
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="milepost-{kind}-template.csv"'
    return response


@require_GET
@member_view
def plan_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The organization's plan (or one cycle's, ``?cycle=<key>``) as a plan file
    (``?format=json`` for JSON); admins, since a plan file holds every objective."""
    actor.require(Role.ADMIN, "export the whole plan")
    from milepost.plans.exporter import export_text

    fmt: Literal["yaml", "json"] = "json" if request.GET.get("format") == "json" else "yaml"
    cycle_key = request.GET.get("cycle") or None
    try:
        text = export_text(actor.organization, cycle_key=cycle_key, fmt=fmt)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    suffix = f"-{slugify(cycle_key)}" if cycle_key else ""
    response = HttpResponse(
        text,
        content_type="application/json; charset=utf-8"
        if fmt == "json"
        else "application/yaml; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{actor.organization.slug}-plan{suffix}.{fmt}"'
    )
    return response


urlpatterns = [
    path("export/objectives.csv", objectives_csv, name="export-objectives"),
    path("export/key-results.csv", key_results_csv, name="export-key-results"),
    path("export/check-ins.csv", checkins_csv, name="export-checkins"),
    path("export/initiatives.csv", initiatives_csv, name="export-initiatives"),
    path("export/tasks.csv", tasks_csv, name="export-tasks"),
    path("export/members.csv", members_csv, name="export-members"),
    path("export/teams.csv", teams_csv, name="export-teams"),
    path("export/findings.csv", findings_csv, name="export-findings"),
    path("export/priorities.csv", priorities_csv, name="export-priorities"),
    path("export/plan/", plan_export, name="plan-export"),
    path(
        "data/templates/key-results.csv",
        csv_template,
        {"kind": "key-results"},
        name="csv-template-key-results",
    ),
    path(
        "data/templates/check-ins.csv",
        csv_template,
        {"kind": "check-ins"},
        name="csv-template-check-ins",
    ),
]
