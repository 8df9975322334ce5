"""THE web sweep across organizations, built from the URL resolver itself.

Organization A names everything with a marker; a signed-in owner of organization B then:

1. requests every URL of the web app that names an object, with A's ids in the path — as a
   page, as an htmx partial, and as a form post: every answer is 404 (405 for a GET on a
   POST-only action, which says nothing about the object);
2. requests every page with A's ids in the query string (``?cycle=…&team=…``);
3. submits every form of B's own pages with one field at a time naming an object of A (a
   tampered select), as a browser would post it.

No answer contains anything of A (the marker, its people's emails), A is unchanged row for
row, and no row anywhere links two organizations. A URL pattern without a rule below fails
the first test, so a new page, partial, export or download cannot skip the sweep.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.api.world import dump_organization
from tests.security.webmap import (
    PARAMETERS,
    Route,
    Tenant,
    build_tenant,
    cross_tenant_links,
    forms_of,
    reference_values,
    web_routes,
)

pytestmark = pytest.mark.django_db
MARKER = "Zqx7Alpha"

# How each web URL is swept:
# - "object": names an object of the organization in its path → B gets 404 for A's ids;
# - "page": a page of B's organization (no object in the path) → nothing of A, whatever the
#   query string;
# - "account": the signed-in person's own pages (not an organization's) → nothing of A;
# - "public": reachable signed out (sign in, password reset) → nothing of A.
RULES: dict[str, str] = {
    "web:login": "public",
    "web:logout": "public",
    "web:password-reset": "public",
    "web:password-reset-done": "public",
    "web:password-reset-confirm": "public",
    "web:password-reset-complete": "public",
    "web:password-change": "account",
    "web:password-change-done": "account",
    "web:org-switch": "account",
    "web:home": "page",
    "web:home-findings": "page",
    "web:dashboard": "page",
    "web:alignment-tree": "page",
    "web:alignment-children": "object",
    "web:objective-list": "page",
    "web:objective-create": "page",
    "web:objective-detail": "object",
    "web:objective-edit": "object",
    "web:objective-align": "object",
    "web:objective-archive": "object",
    "web:objective-restore": "object",
    "web:alignment-remove": "object",
    "web:alignment-edit": "object",
    "web:key-result-create": "page",
    "web:key-result-detail": "object",
    "web:key-result-edit": "object",
    "web:key-result-archive": "object",
    "web:key-result-restore": "object",
    "web:checkin-create": "object",
    "web:roadmap": "page",
    "web:initiative-list": "page",
    "web:initiative-create": "page",
    "web:initiative-detail": "object",
    "web:initiative-panel": "object",
    "web:initiative-edit": "object",
    "web:initiative-status": "object",
    "web:initiative-link": "object",
    "web:initiative-link-edit": "object",
    "web:initiative-unlink": "object",
    "web:initiative-archive": "object",
    "web:initiative-restore": "object",
    "web:milestone-create": "object",
    "web:milestone-edit": "object",
    "web:milestone-complete": "object",
    "web:milestone-archive": "object",
    "web:milestone-restore": "object",
    "web:dependency-create": "object",
    "web:dependency-edit": "object",
    "web:dependency-remove": "object",
    "web:task-create": "object",
    "web:task-edit": "object",
    "web:task-move": "object",
    "web:task-archive": "object",
    "web:time-entry-create": "object",
    "web:time-entry-edit": "object",
    "web:time-entry-archive": "object",
    "web:plan-health": "page",
    "web:priorities": "page",
    "web:settings-profile": "page",
    "web:token-list": "page",
    "web:token-revoke": "object",
    "web:organization-edit": "page",
    "web:member-list": "page",
    "web:member-role": "object",
    "web:member-remove": "object",
    "web:member-unlock": "object",
    "web:team-list": "page",
    "web:team-create": "page",
    "web:team-edit": "object",
    "web:team-member-add": "object",
    "web:team-member-remove": "object",
    "web:team-archive": "object",
    "web:team-restore": "object",
    "web:cycle-list": "page",
    "web:cycle-create": "page",
    "web:cycle-edit": "object",
    "web:cycle-archive": "object",
    "web:cycle-restore": "object",
    "web:cycle-index": "page",
    "web:cycle-detail": "object",
    "web:cycle-activate": "object",
    "web:cycle-close": "object",
    "web:cycle-reopen": "object",
    "web:cycle-carry-over": "object",
    "web:cycle-from-template": "object",
    "web:cycle-report": "object",
    "web:cycle-report-print": "object",
    "web:lessons": "page",
    "web:objective-retrospective": "object",
    "web:objective-retrospective-skip": "object",
    "web:objective-recurring": "object",
    "web:key-result-retrospective": "object",
    "web:integration-settings": "page",
    "web:allowed-host-add": "page",
    "web:allowed-host-remove": "object",
    "web:db-connection-add": "page",
    "web:db-connection-test": "object",
    "web:db-connection-remove": "object",
    "web:webhook-list": "page",
    "web:webhook-detail": "object",
    "web:webhook-state": "object",
    "web:webhook-rotate": "object",
    "web:webhook-delete": "object",
    "web:webhook-redeliver": "object",
    "web:data-source-edit": "object",
    "web:data-source-run": "object",
    "web:data-source-remove": "object",
    "web:data-source-token": "object",
    "web:notification-preferences": "page",
    "web:notification-defaults": "page",
    "web:export-objectives": "page",
    "web:export-key-results": "page",
    "web:export-checkins": "page",
    "web:export-initiatives": "page",
    "web:export-tasks": "page",
    "web:export-members": "page",
    "web:export-teams": "page",
    "web:export-findings": "page",
    "web:export-priorities": "page",
    "web:plan-export": "page",
    "web:plan-import": "page",
    "web:csv-import": "page",
    "web:csv-template-key-results": "page",
    "web:csv-template-check-ins": "page",
}
KINDS = {"object", "page", "account", "public"}
HTMX = {"HX-Request": "true"}
# Query parameters the pages read, each naming one of A's objects.
QUERY_REFS = ("cycle", "team", "objective", "initiative", "key_result", "owner", "user")
QUERY_IDS = {
    "cycle": "cycle_id",
    "team": "team_id",
    "objective": "objective_id",
    "initiative": "initiative_id",
    "key_result": "key_result_id",
    "owner": "user_id",
    "user": "user_id",
}


def test_every_web_url_has_a_sweep_rule() -> None:
    routes = web_routes()
    names = {r.name for r in routes}
    missing = sorted(names - set(RULES))
    assert not missing, f"web URLs with no rule in {__name__}.RULES: {missing}"
    stale = sorted(set(RULES) - names)
    assert not stale, f"rules for URLs that no longer exist: {stale}"
    assert set(RULES.values()) <= KINDS
    fillable = set(PARAMETERS)
    for route in routes:
        unknown = set(route.params) - fillable
        assert not unknown, f"{route.name}: no value for path parameters {sorted(unknown)}"
        if RULES[route.name] == "page":
            assert not route.params, f"{route.name} names an object: make it an 'object' rule"


class Sweep:
    def __init__(self, a: Tenant, b: Tenant) -> None:
        self.a, self.b = a, b
        self.client = Client()
        self.client.force_login(b.owner)
        self.secrets = [MARKER.lower(), a.owner.email, a.spare.email]
        self.failures: list[str] = []
        self.requests = 0

    def send(self, method: str, url: str, data: Any = None, headers: Any = None) -> Any:
        self.requests += 1
        call = getattr(self.client, method)
        response = call(url, data or {}, headers=headers or {})
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace").lower()
        leaked = [s for s in self.secrets if s.lower() in body]
        if leaked:
            self.failures.append(f"{method.upper()} {url} {data or ''}: shows {leaked}")
        if response.status_code >= 500:
            self.failures.append(f"{method.upper()} {url} {data or ''}: {response.status_code}")
        return response

    def expect(self, response: Any, allowed: set[int], what: str) -> None:
        if response.status_code not in allowed:
            self.failures.append(f"{what}: {response.status_code}, expected one of {allowed}")

    def a_ids_in_path(self, route: Route) -> None:
        url = route.url(self.a.ids)
        response = self.send("get", url)
        self.expect(response, {404, 405}, f"GET {url} (A's ids)")
        response = self.send("get", url, headers=HTMX)
        self.expect(response, {404, 405}, f"GET {url} htmx (A's ids)")
        response = self.send("post", url)
        self.expect(response, {404}, f"POST {url} (A's ids)")

    def a_ids_in_query(self, url: str) -> None:
        query = _own_query(self.a)
        self.send("get", url, query)
        self.send("get", url, query, headers=HTMX)

    def tampered_forms(self, url: str) -> None:
        page = self.client.get(url)
        if page.status_code != 200 or page.streaming:  # a download has no forms
            return
        refs = reference_values(self.a)
        for form in forms_of(page.content.decode(), url):
            if form.method != "post" or not form.action.startswith("/"):
                continue
            base = {**_plausible(form.fields, self.b.today), **_defaults(form.fields)}
            for name in sorted(set(form.fields) & set(refs)):
                for value in refs[name]:
                    self.send("post", form.action, {**base, name: value})


def _own_query(tenant: Tenant) -> dict[str, str]:
    return {name: str(tenant.ids[QUERY_IDS[name]]) for name in QUERY_REFS}


def _plausible(fields: dict[str, str], today: dt.date) -> dict[str, str]:
    """Fill the empty required-looking fields so that a tampered reference is the form's only
    fault (a form refused for a missing title would test nothing)."""
    values = {
        "title": "Sweep item",
        "name": "Sweep item",
        "value": "1",
        "hours": "1",
        "start_date": today.isoformat(),
        "end_date": (today + dt.timedelta(days=30)).isoformat(),
        "date": today.isoformat(),
        "start_value": "0",
        "target_value": "10",
        "weight": "1",
    }
    return {k: v for k, v in values.items() if k in fields and not fields[k]}


def _defaults(fields: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if v}


def test_organization_b_finds_nothing_of_organization_a() -> None:
    a = build_tenant("Alpha", "alpha", MARKER)
    b = build_tenant("Beta", "beta")
    before = dump_organization(a.org)
    sweep = Sweep(a, b)
    for route in web_routes():
        kind = RULES[route.name]
        if kind == "object":
            sweep.a_ids_in_path(route)
            own = route.url(b.ids)
        else:
            # A public URL naming a person (password reset) gets A's person.
            own = route.url(a.ids if kind == "public" else b.ids)
            sweep.send("get", own)
            sweep.send("get", own, headers=HTMX)
        if kind != "public":
            sweep.a_ids_in_query(own)
            # B's own ids in the query too: some forms need one (a key result's objective).
            sweep.tampered_forms(f"{own}?{urlencode(_own_query(b))}")
    # B's session is still B's after the tampered organization switch.
    home = sweep.client.get("/")
    assert home.status_code == 200
    assert b.org.name in home.content.decode()
    assert not sweep.failures, "\n".join(sweep.failures)
    assert sweep.requests > 3 * len(RULES)
    assert dump_organization(a.org) == before, "organization A was changed"
    assert cross_tenant_links() == []


def test_the_tenancy_invariant_catches_a_cross_organization_link() -> None:
    """The last check of the sweep can fail: a row of B pointing at A's team is found."""
    from milepost.roadmap.models import Initiative

    a = build_tenant("Alpha", "alpha", MARKER)
    b = build_tenant("Beta", "beta")
    Initiative.objects.filter(pk=b.ids["initiative_id"]).update(team_id=a.ids["team_id"])
    assert any("roadmap.Initiative.team" in p for p in cross_tenant_links())
