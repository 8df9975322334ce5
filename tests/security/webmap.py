"""What the web sweeps walk: every URL pattern of the site (from the resolver), the forms a page
offers (parsed from its HTML, as a browser would submit them), an organization full of objects
whose every name carries a marker, and the invariant that no row links two organizations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.apps import apps
from django.db.models import Exists, F, OuterRef
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from milepost.accounts.models import User
from milepost.accounts.services import create_api_token
from milepost.audit.models import AuditEvent
from milepost.okrs.models import Alignment, CheckIn
from milepost.organizations.access import system_actor
from milepost.organizations.models import Membership, Organization, Role, Team
from milepost.roadmap.models import Dependency, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TimeEntry
from tests import factories
from tests.web.builders import Plan, build_plan

# Namespaces that are not the web app: the REST API has its own sweep (tests/api), the Django
# admin is for the installation's staff and is not scoped to an organization.
NOT_WEB = ("api", "admin")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its qualified name (``web:objective-detail``) and parameters."""

    name: str
    route: str
    params: tuple[str, ...]
    callback: Any

    def url(self, values: dict[str, Any]) -> str:
        return reverse(self.name, kwargs={p: values[p] for p in self.params})


def _walk(
    patterns: list[Any], namespaces: list[str], prefix: str
) -> Iterator[tuple[list[str], str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            spaces = [*namespaces, pattern.namespace] if pattern.namespace else namespaces
            yield from _walk(pattern.url_patterns, spaces, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield namespaces, prefix + str(pattern.pattern), pattern


def web_routes() -> list[Route]:
    """Every URL pattern of the site outside the API and the Django admin."""
    routes = []
    for namespaces, route, pattern in _walk(get_resolver().url_patterns, [], ""):
        if namespaces and namespaces[0] in NOT_WEB:
            continue
        name = ":".join([*namespaces, pattern.name or f"<unnamed {route}>"])
        converters = getattr(pattern.pattern, "converters", {})
        routes.append(Route(name, route, tuple(converters), pattern.callback))
    return routes


# --- forms, as a browser sees them -------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action") or self.page_url, (a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        if tag == "option" and self._select is not None:
            value = a.get("value", "")
            form.options[self._select].append(value)
            if "selected" in a or (not form.fields[self._select] and value):
                form.fields[self._select] = value
            return
        name = a.get("name")
        if not name:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            form.fields[name] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select = name
            form.fields.setdefault(name, "")
            form.options[name] = []
        elif tag == "textarea":
            self._textarea = name
            form.fields[name] = ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form.fields[self._textarea] += data


def forms_of(html: str, page_url: str) -> list[Form]:
    """The forms of a page, each with the values a browser would submit unchanged."""
    parser = _FormParser(page_url)
    parser.feed(html)
    for form in parser.forms:
        form.fields.pop("csrfmiddlewaretoken", None)
    return parser.forms


# --- an organization of one of everything ---------------------------------------------------


@dataclass
class Tenant:
    """An organization with one of every object the web app shows, its people, and the value
    of every URL parameter naming one of its objects."""

    org: Organization
    plan: Plan
    owner: User
    spare: User
    ids: dict[str, Any]

    @property
    def today(self) -> dt.date:
        return self.plan.cycle.start_date


def _integrations(org: Organization, label: str) -> dict[str, int]:
    """One allowed host, database connection, webhook subscription and delivery."""
    from django.utils import timezone

    from milepost.integrations.models import (
        AllowedHost,
        DatabaseConnection,
        WebhookDelivery,
        WebhookSubscription,
    )

    host = AllowedHost.objects.create(organization=org, host=f"{label.lower()}.example.com")
    connection = DatabaseConnection.objects.create(
        organization=org, name=f"{label} warehouse", url="sqlite:////nonexistent.sqlite3"
    )
    subscription = WebhookSubscription.objects.create(
        organization=org,
        url=f"https://{label.lower()}.example.com/hook",
        description=f"{label} hook",
        events=["checkin.recorded"],
        secret="not-a-real-secret",
    )
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        organization=org,
        subscription=subscription,
        event="checkin.recorded",
        body=f'{{"note": "{label}"}}',
        retry_until=now,
        created_at=now,
    )
    return {
        "host_id": host.pk,
        "connection_id": connection.pk,
        "subscription_id": subscription.pk,
        "delivery_id": delivery.pk,
    }


def build_tenant(name: str, slug: str, marker: str = "") -> Tenant:
    """An organization whose every name, title and note carries `marker` (if given)."""
    org = factories.make_org(f"{marker} {name}".strip(), slug)
    owner = factories.make_member(org, Role.OWNER, f"owner-{marker or 'x'}@{slug}.test".lower())
    spare = factories.make_member(org, Role.MEMBER, f"spare-{marker or 'x'}@{slug}.test".lower())
    User.objects.filter(pk__in=[owner.pk, spare.pk]).update(full_name=f"{marker} Person".strip())
    plan = build_plan(org, owner, size=2, title=f"{marker} item".strip() if marker else "")
    if marker:
        Team.objects.filter(organization=org).update(name=f"{marker} team")
        plan.cycle.__class__.objects.filter(organization=org).update(name=f"{marker} cycle")
    factories.add_to_team(plan.team, spare)
    token, _ = create_api_token(
        actor=system_actor(org), user=owner, name=f"{marker} token", role="admin"
    )
    ids: dict[str, Any] = {
        "cycle_id": plan.cycle.pk,
        "path": "0",
        "objective_id": plan.objective.pk,
        "alignment_id": Alignment.objects.filter(organization=org).order_by("pk")[0].pk,
        "key_result_id": plan.key_result.pk,
        "initiative_id": plan.initiative.pk,
        "link_id": InitiativeKeyResult.objects.filter(organization=org).order_by("pk")[0].pk,
        "milestone_id": Milestone.objects.filter(organization=org).order_by("pk")[0].pk,
        "dependency_id": Dependency.objects.filter(organization=org).order_by("pk")[0].pk,
        "task_id": Task.objects.filter(organization=org).order_by("pk")[0].pk,
        "entry_id": TimeEntry.objects.filter(organization=org).order_by("pk")[0].pk,
        "checkin_id": CheckIn.objects.filter(organization=org).order_by("pk")[0].pk,
        "token_id": token.pk,
        "membership_id": Membership.objects.get(organization=org, user=spare).pk,
        "team_id": plan.team.pk,
        "user_id": spare.pk,
        "organization_id": org.pk,
        "uidb64": urlsafe_base64_encode(force_bytes(owner.pk)),
        "token": "set-password",
    }
    ids.update(_integrations(org, marker or slug))
    assert set(ids) == set(PARAMETERS)
    return Tenant(org=org, plan=plan, owner=owner, spare=spare, ids=ids)


PARAMETERS = (
    "cycle_id",
    "path",
    "objective_id",
    "alignment_id",
    "key_result_id",
    "initiative_id",
    "link_id",
    "milestone_id",
    "dependency_id",
    "task_id",
    "entry_id",
    "checkin_id",
    "token_id",
    "membership_id",
    "team_id",
    "user_id",
    "organization_id",
    "uidb64",
    "token",
    "host_id",
    "connection_id",
    "subscription_id",
    "delivery_id",
)


def reference_values(tenant: Tenant) -> dict[str, list[str]]:
    """What a tampered form field could name of `tenant`'s objects, by field name."""
    i = tenant.ids
    return {
        "parent": [
            f"o:{i['objective_id']}",
            f"k:{i['key_result_id']}",
            str(i["team_id"]),
            str(i["cycle_id"]),
        ],
        "key_result": [str(i["key_result_id"])],
        "objective": [str(i["objective_id"])],
        "other": [f"i:{i['initiative_id']}", f"m:{i['milestone_id']}"],
        "task": [str(i["task_id"])],
        "cycle": [str(i["cycle_id"])],
        "team": [str(i["team_id"])],
        "owner_team": [str(i["team_id"])],
        "owner_user": [str(i["user_id"])],
        "owner": [str(i["user_id"])],
        "assignee": [str(i["user_id"])],
        "lead": [str(i["user_id"])],
        "user": [str(i["user_id"])],
        "initiative": [str(i["initiative_id"])],
        "milestone": [str(i["milestone_id"])],
        "organization": [str(i["organization_id"])],
        "corrects": [str(i["checkin_id"])],
        "connection": [str(i["connection_id"])],
        "subscription": [str(i["subscription_id"])],
    }


# --- the tenancy invariant -------------------------------------------------------------------


def _has_organization(model: Any) -> bool:
    return any(f.name == "organization" for f in model._meta.concrete_fields)


def cross_tenant_links() -> list[str]:
    """Rows that point at another organization's row, or at a person who never belonged to
    their organization. Empty when tenancy holds."""
    problems: list[str] = []
    for model in apps.get_models():
        if not _has_organization(model) or model is AuditEvent:
            continue
        manager = model._base_manager
        for f in model._meta.concrete_fields:
            if not f.is_relation or f.name == "organization" or f.related_model is None:
                continue
            target = f.related_model
            if _has_organization(target):
                bad = (
                    manager.filter(**{f"{f.name}__isnull": False})
                    .exclude(**{f"{f.name}__organization_id": F("organization_id")})
                    .count()
                )
            elif target is User:
                bad = (
                    manager.filter(**{f"{f.name}__isnull": False})
                    .exclude(
                        Exists(
                            Membership.objects.filter(
                                user_id=OuterRef(f.attname),
                                organization_id=OuterRef("organization"),
                            )
                        )
                    )
                    .count()
                )
            else:
                continue
            if bad:
                problems.append(f"{model._meta.label}.{f.name}: {bad} row(s) cross organizations")
    return problems
