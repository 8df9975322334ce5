"""Who is using the web app, in which organization: the session's current organization.

Every signed-in page is wrapped by `member_view`, which resolves the user's memberships in one
query (organization, team ids and the organization's latest change included), picks the
organization kept in the session (or the first one), builds the `Actor` that every access
helper and service takes, and passes it to the view. Domain refusals become pages: `NotFound`
a 404 (another organization's object is never revealed), `PermissionDenied` a 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate

from django.contrib.auth.views import redirect_to_login
from django.db.models import CharField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from milepost.audit.models import AuditEvent
from milepost.errors import NotFound, PermissionDenied
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Role, TeamMember

if TYPE_CHECKING:
    from milepost.accounts.models import User

SESSION_ORG_KEY = "milepost_org_id"


@dataclass(frozen=True, slots=True)
class OrgChoice:
    """One organization the user belongs to, for the switcher."""

    id: int
    name: str
    slug: str
    role: str


@dataclass(frozen=True, slots=True)
class WebContext:
    """The resolved actor plus every organization the user may switch to."""

    actor: Actor | None
    organizations: tuple[OrgChoice, ...]
    # The current organization's latest audit event (id, time) as this request began: the key
    # of the kept plan evaluation (`milepost.reports.snapshot`). Only for GET and HEAD, which
    # write nothing before they read the evaluation.
    change_token: tuple[int | None, str] | None = None
    # The membership in the current organization (its own check-in day and channel).
    membership: Membership | None = None


def _memberships(user: User) -> list[Membership]:
    team_ids = (
        TeamMember.objects.filter(organization=OuterRef("organization"), user=OuterRef("user"))
        .order_by()
        .values("user")
        .annotate(ids=StringAgg(Cast("team_id", CharField()), Value(",")))
        .values("ids")
    )
    latest_change = AuditEvent.objects.filter(organization=OuterRef("organization")).order_by(
        "-created_at", "-id"
    )
    return list(
        Membership.objects.filter(
            user=user, archived_at__isnull=True, organization__archived_at__isnull=True
        )
        .select_related("organization")
        .annotate(
            team_ids_csv=Subquery(team_ids),
            change_id=Subquery(latest_change.values("id")[:1]),
            change_at=Subquery(latest_change.values("created_at")[:1]),
        )
        .order_by("organization__name", "organization_id")
    )


def resolve(request: HttpRequest) -> WebContext:
    """The web context of a signed-in request (one query; cached on the request)."""
    cached = getattr(request, "_milepost_web", None)
    if isinstance(cached, WebContext):
        return cached
    user: User = request.user  # type: ignore[assignment]
    memberships = _memberships(user) if user.is_active else []
    wanted = request.session.get(SESSION_ORG_KEY)
    current = next((m for m in memberships if m.organization_id == wanted), None)
    if current is None and memberships:
        current = memberships[0]
    actor: Actor | None = None
    token: tuple[int | None, str] | None = None
    if current is not None and request.method in ("GET", "HEAD"):
        change_at = getattr(current, "change_at", None)
        token = (getattr(current, "change_id", None), change_at.isoformat() if change_at else "")
    if current is not None:
        csv: str | None = getattr(current, "team_ids_csv", None)
        actor = Actor(
            organization=current.organization,
            role=Role(current.role),
            user=user,
            team_ids=frozenset(int(x) for x in csv.split(",") if x) if csv else frozenset(),
            label=user.email,
        )
    context = WebContext(
        actor=actor,
        organizations=tuple(
            OrgChoice(m.organization_id, m.organization.name, m.organization.slug, m.role)
            for m in memberships
        ),
        change_token=token,
        membership=current,
    )
    request._milepost_web = context  # type: ignore[attr-defined]
    return context


def request_change_token(request: HttpRequest) -> tuple[int | None, str] | None:
    """The organization's change token read with the membership (GET and HEAD only), for
    `milepost.reports.snapshot.snapshot`; None when it must be read afresh."""
    return resolve(request).change_token


def switch_organization(request: HttpRequest, organization_id: int) -> bool:
    """Make `organization_id` current for this session if the user is a member of it."""
    context = resolve(request)
    if any(o.id == organization_id for o in context.organizations):
        request.session[SESSION_ORG_KEY] = organization_id
        request._milepost_web = None  # type: ignore[attr-defined]
        return True
    return False


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A 403/404 page in the app's layout (the message never names another tenant's data)."""
    titles = {403: "Not allowed", 404: "Not found"}
    context: dict[str, Any] = {
        "status": status,
        "title": titles.get(status, "Error"),
        "message": message,
    }
    if request.user.is_authenticated:
        context["web"] = resolve(request)
    return render(request, "web/error.html", context, status=status)


def member_view[**P](
    view: Callable[Concatenate[HttpRequest, Actor, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Wrap a page: sign-in required, the actor resolved and passed as the second argument,
    domain refusals rendered as 404/403 pages."""

    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        context = resolve(request)
        if context.actor is None:
            return render(request, "web/no_organization.html", {"web": context}, status=403)
        try:
            return view(request, context.actor, *args, **kwargs)
        except NotFound as exc:
            return error_page(request, 404, exc.detail)
        except PermissionDenied as exc:
            return error_page(request, 403, exc.detail)

    functools.update_wrapper(wrapper, view)
    return wrapper
