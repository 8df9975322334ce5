"""Issue 6, accessible: every page of the web app, in every state a user can reach (signed
out, a member, an admin; a form refused; an upload previewed; a cycle open and closed), names
each form control, button and link (a label, a wrapping label, its words, aria-label,
aria-labelledby or title), shows each status as text beside its colour, gives each image a
text alternative, refers only to ids that exist (once), and has one main landmark, one h1 and
headings that go down one level at a time. A test walks the URL patterns: a page that is
neither swept here nor excused with a reason fails it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from milepost.okrs import services as okr_services
from milepost.okrs.engine_io import organization_today
from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization
from milepost.plans.exporter import export_text
from tests.security.webmap import Tenant, build_tenant, web_routes
from tests.web.builders import Plan, build_plan
from tests.web.conftest import client_for
from tests.web.pages import form_urls, page_urls

NAMELESS_INPUT_TYPES = {"hidden", "submit", "button", "reset", "image"}
NAMING_ATTRIBUTES = ("aria-label", "aria-labelledby", "title")
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
# Status and severity badges: the colour comes from the class, the words must be there too.
BADGE_PREFIXES = ("status--", "sev--")


@dataclass
class _Control:
    tag: str
    attrs: dict[str, str]
    wrapped: bool

    def describe(self) -> str:
        shown = " ".join(f'{k}="{v}"' for k, v in self.attrs.items())
        return f"<{self.tag} {shown}>"


@dataclass
class _Open:
    """An element whose text content is being collected (a status badge, an svg)."""

    tag: str
    attrs: dict[str, str]
    depth: int = 0
    text: list[str] = field(default_factory=list)
    has_title: bool = False
    hidden: bool = False


class A11yParser(HTMLParser):
    """Collects form controls, labels, status badges and images of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[_Control] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.label_depth = 0
        self.open: list[_Open] = []
        self.badges: list[_Open] = []
        self.images: list[_Open] = []
        self.named: list[_Open] = []  # buttons, links and headings: their words are their name
        self.headings: list[_Open] = []
        self.duplicate_ids: list[str] = []
        self.references: list[tuple[str, str]] = []  # (attribute, id) of aria-*by references
        self.mains = 0
        self.is_document = False

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in raw}
        if tag == "html":
            self.is_document = True
        if "id" in attrs:
            if attrs["id"] in self.ids:
                self.duplicate_ids.append(attrs["id"])
            self.ids.add(attrs["id"])
        for reference in ("aria-labelledby", "aria-describedby", "aria-controls"):
            self.references.extend((reference, i) for i in attrs.get(reference, "").split())
        if tag == "main" or attrs.get("role") == "main":
            self.mains += 1
        for item in self.open:
            if item.tag == tag:
                item.depth += 1
            if item.tag == "svg" and tag == "title":
                item.has_title = True
            # An image with a text alternative names the link or button around it.
            alt = attrs.get("alt", "") if tag == "img" else attrs.get("aria-label", "")
            if item in self.named and alt.strip() and not self._hidden():
                item.text.append(alt)
        if tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        is_control = tag in {"select", "textarea"} or (
            tag == "input" and attrs.get("type", "text").lower() not in NAMELESS_INPUT_TYPES
        )
        if is_control:
            self.controls.append(_Control(tag, attrs, wrapped=self.label_depth > 0))
        if tag == "img":
            self.images.append(_Open(tag, attrs))
        if tag == "button" or (tag == "a" and "href" in attrs) or tag in HEADINGS:
            item = _Open(tag, attrs)
            self._open(item, self.named)
            if tag in HEADINGS:
                self.headings.append(item)
        if tag == "input" and attrs.get("type", "").lower() == "image" and not attrs.get("alt"):
            self.named.append(_Open(tag, attrs))
        if tag == "svg" and attrs.get("role") == "img":
            self._open(_Open(tag, attrs), self.images)
        classes = attrs.get("class", "").split()
        if any(c.startswith(BADGE_PREFIXES) for c in classes) and tag not in VOID:
            self._open(_Open(tag, attrs), self.badges)
        if attrs.get("aria-hidden") == "true" and tag not in VOID:
            # An icon hidden from screen readers does not count as the badge's words.
            self.open.append(_Open(tag, attrs, hidden=True))

    def _open(self, item: _Open, into: list[_Open]) -> None:
        self.open.append(item)
        into.append(item)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.label_depth:
            self.label_depth -= 1
        for item in list(self.open):
            if item.tag == tag:
                if item.depth:
                    item.depth -= 1
                else:
                    self.open.remove(item)

    def _hidden(self) -> bool:
        return any(item.hidden for item in self.open)

    def handle_data(self, data: str) -> None:
        if self._hidden():
            return
        for item in self.open:
            item.text.append(data)

    def problems(self) -> list[str]:
        found = []
        for control in self.controls:
            named = (
                control.wrapped
                or control.attrs.get("id", "") in self.label_for
                or any(control.attrs.get(a, "").strip() for a in NAMING_ATTRIBUTES)
            )
            labelledby = control.attrs.get("aria-labelledby", "").split()
            if labelledby and not all(i in self.ids for i in labelledby):
                named = False
            if not named:
                found.append(f"control without a name: {control.describe()}")
        for badge in self.badges:
            text = "".join(badge.text).strip() or badge.attrs.get("aria-label", "").strip()
            if not text:
                found.append(f"status shown by colour only: <{badge.tag} {badge.attrs}>")
        for image in self.images:
            if image.tag == "img" and "alt" not in image.attrs:
                found.append(f"image without alt: {image.attrs}")
            if image.tag == "svg" and not (
                image.has_title or any(image.attrs.get(a) for a in NAMING_ATTRIBUTES)
            ):
                found.append(f"svg image without a name: {image.attrs}")
        for item in self.named:
            name = "".join(item.text).strip() or any(
                item.attrs.get(a, "").strip() for a in NAMING_ATTRIBUTES
            )
            if not name:
                what = "heading" if item.tag in HEADINGS else "button or link"
                found.append(f"{what} without a name: <{item.tag} {item.attrs}>")
        for attribute, target in self.references:
            if target not in self.ids:
                found.append(f'{attribute} names a missing id "{target}"')
        found.extend(f'id "{i}" used twice' for i in self.duplicate_ids)
        found.extend(self._structure())
        return found

    def _structure(self) -> list[str]:
        """A whole page (not an htmx fragment) has one main landmark and one h1; heading
        levels go down one at a time (h2 then h3, never h2 then h4)."""
        if not self.is_document:
            return []
        found = []
        if self.mains != 1:
            found.append(f"{self.mains} main landmarks (one expected)")
        levels = [int(h.tag[1]) for h in self.headings]
        if levels.count(1) != 1:
            found.append(f"{levels.count(1)} h1 headings (one expected)")
        for before, after in zip([0, *levels], levels, strict=False):
            if after > before + 1:
                found.append(f"heading levels skip from h{before} to h{after}")
        return found


def page_problems(html: str) -> list[str]:
    """What an accessibility check finds wrong on one page (empty when nothing)."""
    parser = A11yParser()
    parser.feed(html)
    parser.close()
    return parser.problems()


# Problems the sweeps find and accept for now, by page and problem, with the fix. A known
# problem no longer found fails the sweep, so the entry goes when the fix lands.
KNOWN_PROBLEMS: dict[tuple[str, str], str] = {}


def _judge(pages: dict[str, str]) -> dict[str, list[str]]:
    """Each page's problems, known ones aside; a known problem that is gone is reported."""
    found: dict[str, list[str]] = {}
    for label, html in pages.items():
        problems = page_problems(html)
        known = {p for (page, p) in KNOWN_PROBLEMS if page == label}
        left = [p for p in problems if p not in known]
        left += [
            f"known problem fixed, remove it from KNOWN_PROBLEMS: {p}"
            for p in known - set(problems)
        ]
        if left:
            found[label] = left
    return found


def _sweep(client: Client, urls: list[tuple[str, str]]) -> dict[str, list[str]]:
    pages: dict[str, str] = {}
    for name, url in urls:
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.content.decode()
    return _judge(pages)


def _admin_urls(plan: Plan) -> list[tuple[str, str]]:
    return [
        ("organization-edit", reverse("web:organization-edit")),
        ("member-list", reverse("web:member-list")),
        ("team-create", reverse("web:team-create")),
        ("team-edit", reverse("web:team-edit", args=[plan.team.pk])),
        ("cycle-create", reverse("web:cycle-create")),
        ("cycle-edit", reverse("web:cycle-edit", args=[plan.cycle.pk])),
        ("cycle-index", reverse("web:cycle-index")),
        ("lessons", reverse("web:lessons")),
        ("integration-settings", reverse("web:integration-settings")),
        ("webhook-list", reverse("web:webhook-list")),
        ("password-change", reverse("web:password-change")),
    ]


@pytest.mark.django_db
def test_every_member_page_names_its_controls_statuses_and_images(
    org: Organization, member: Actor
) -> None:
    assert member.user is not None
    plan = build_plan(org, member.user, size=2)
    found = _sweep(client_for(member), page_urls(plan) + form_urls(plan))
    assert found == {}


@pytest.mark.django_db
def test_every_admin_page_names_its_controls_statuses_and_images(
    org: Organization, owner: Actor
) -> None:
    assert owner.user is not None
    plan = build_plan(org, owner.user, size=2)
    found = _sweep(client_for(owner), page_urls(plan) + form_urls(plan) + _admin_urls(plan))
    assert found == {}


def test_the_check_finds_a_nameless_control_a_colour_only_status_and_a_bare_image() -> None:
    html = (
        '<label for="a">A</label><input id="a"><label>B <input name="b"></label>'
        '<input type="hidden" name="h"><input name="c"><select name="d"></select>'
        '<span class="status status--at_risk"><span aria-hidden="true">!</span></span>'
        '<span class="status--done"><span aria-hidden="true">✓</span>Done</span>'
        '<img src="x.png"><img src="y.png" alt=""><svg role="img"><rect/></svg>'
        '<svg role="img" aria-label="Timeline"></svg>'
    )
    problems = page_problems(html)
    assert len(problems) == 5, problems
    assert any('name="c"' in p for p in problems)
    assert any('name="d"' in p for p in problems)
    assert any("colour only" in p for p in problems)
    assert any("x.png" in p for p in problems)
    assert any("svg" in p for p in problems)


def test_the_check_finds_nameless_buttons_and_links_and_dangling_or_repeated_ids() -> None:
    html = (
        '<button type="submit"><span aria-hidden="true">&times;</span></button>'
        '<button aria-label="Close">&times;</button><a href="/x"></a>'
        '<a href="/y"><img alt="Home"></a>'
        '<a id="top"></a><input type="submit"><h2></h2>'
        '<p aria-describedby="gone">x</p><span id="twice"></span><span id="twice"></span>'
    )
    problems = page_problems(html)
    assert len(problems) == 5, problems
    assert sum("button or link without a name" in p for p in problems) == 2
    assert any("heading without a name" in p for p in problems)
    assert any('"gone"' in p for p in problems)
    assert any('id "twice" used twice' in p for p in problems)


def test_a_whole_page_has_one_main_one_h1_and_no_skipped_heading_level() -> None:
    good = "<html><main><h1>A</h1><h2>B</h2><h3>C</h3><h2>D</h2></main></html>"
    assert page_problems(good) == []
    bad = "<html><h2>A</h2><h4>B</h4><main></main><div role=main></div></html>"
    assert page_problems(bad) == [
        "2 main landmarks (one expected)",
        "0 h1 headings (one expected)",
        "heading levels skip from h0 to h2",
        "heading levels skip from h2 to h4",
    ]
    # An htmx fragment is part of a page: its headings continue the page's.
    assert page_problems("<h3>Part</h3>") == []


# --- every page of the site, in every state a user can reach -------------------------------------


# Problems a sweep finds in files this sweep's author may not change, each with its fix; the
# test below fails once one is fixed, so the entry is removed then.


@dataclass(frozen=True)
class Visit:
    """One page to check: who opens it (owner, member or nobody signed in), how (a GET, or a
    POST of `data` and its answer), and the status it answers with."""

    label: str
    url: str
    who: str = "owner"
    data: dict[str, Any] | None = None
    status: int = 200
    follow: bool = False


def _upload(name: str, text: str | bytes) -> dict[str, Any]:
    raw = text.encode() if isinstance(text, str) else text
    return {"action": "preview", "file": SimpleUploadedFile(name, raw)}


def _signed_out_visits(tenant: Tenant) -> list[Visit]:
    """The sign-in and password pages; a reset link made now (so it is valid until used)."""
    user = tenant.spare
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    confirm = reverse("web:password-reset-confirm", args=[uid, token])
    set_password = reverse("web:password-reset-confirm", args=[uid, "set-password"])
    mismatch = {"new_password1": "Correct-Horse-1", "new_password2": "Battery-Staple-2"}
    return [
        Visit("login", reverse("web:login"), "anon"),
        Visit(
            "login-refused", reverse("web:login"), "anon", {"username": "x@y.z", "password": "n"}
        ),
        Visit("password-reset", reverse("web:password-reset"), "anon"),
        Visit("password-reset-bad-email", reverse("web:password-reset"), "anon", {"email": "x"}),
        Visit("password-reset-done", reverse("web:password-reset-done"), "anon"),
        Visit("password-reset-confirm-valid", confirm, "anon", follow=True),
        Visit("password-reset-confirm-mismatch", set_password, "anon", mismatch),
        Visit(
            "password-reset-confirm-invalid",
            reverse("web:password-reset-confirm", args=[uid, "not-a-token"]),
            "anon",
        ),
        Visit("password-reset-complete", reverse("web:password-reset-complete"), "anon"),
    ]


def _detail_visits(tenant: Tenant) -> list[Visit]:
    """Confirmations, edit forms of the plan's smaller rows, and the pages as of a past day."""
    i = tenant.ids
    yesterday = (organization_today(tenant.org) - dt.timedelta(days=1)).isoformat()
    as_of = f"as_of={yesterday}"
    visits = [
        Visit("password-change-done", reverse("web:password-change-done")),
        Visit("objective-restore", reverse("web:objective-restore", args=[i["objective_id"]])),
        Visit("key-result-restore", reverse("web:key-result-restore", args=[i["key_result_id"]])),
        Visit("initiative-restore", reverse("web:initiative-restore", args=[i["initiative_id"]])),
        Visit(
            "objective-as-of",
            reverse("web:objective-detail", args=[i["objective_id"]]) + f"?{as_of}",
        ),
        Visit(
            "key-result-as-of",
            reverse("web:key-result-detail", args=[i["key_result_id"]]) + f"?{as_of}",
        ),
        Visit("alignment-as-of", reverse("web:alignment-tree") + f"?cycle={i['cycle_id']}&{as_of}"),
        Visit("roadmap-as-of", reverse("web:roadmap") + f"?cycle={i['cycle_id']}&{as_of}"),
    ]
    by_id = {
        "alignment-edit": "alignment_id",
        "alignment-remove": "alignment_id",
        "initiative-link-edit": "link_id",
        "initiative-unlink": "link_id",
        "milestone-edit": "milestone_id",
        "milestone-archive": "milestone_id",
        "milestone-restore": "milestone_id",
        "dependency-edit": "dependency_id",
        "dependency-remove": "dependency_id",
        "task-edit": "task_id",
        "task-archive": "task_id",
        "time-entry-edit": "entry_id",
        "time-entry-archive": "entry_id",
        "member-remove": "membership_id",
        "team-archive": "team_id",
        "team-restore": "team_id",
        "cycle-archive": "cycle_id",
        "cycle-restore": "cycle_id",
        "cycle-detail": "cycle_id",
        "cycle-activate": "cycle_id",
        "cycle-reopen": "cycle_id",
        "cycle-from-template": "cycle_id",
        "db-connection-remove": "connection_id",
        "webhook-delete": "subscription_id",
    }
    visits += [Visit(name, reverse(f"web:{name}", args=[i[key]])) for name, key in by_id.items()]
    visits += [
        Visit("notification-preferences", reverse("web:notification-preferences")),
        Visit("notification-preferences-member", reverse("web:notification-preferences"), "member"),
        Visit("notification-defaults", reverse("web:notification-defaults")),
        Visit("not-found", reverse("web:objective-detail", args=[10**9]), status=404),
    ]
    return visits


def _integration_visits(tenant: Tenant) -> list[Visit]:
    """Integrations with their refusals, a webhook and its deliveries, a key result's data
    source before and after it is set up, and its push token."""
    i = tenant.ids
    webhook = reverse("web:webhook-detail", args=[i["subscription_id"]])
    source = reverse("web:data-source-edit", args=[i["key_result_id"]])
    http_source = {
        "kind": "http_json",
        "url": f"https://{tenant.org.slug}.example.com/metrics",
        "json_path": "$.total",
        "schedule": "daily",
        "timeout_seconds": "5",
        "enabled": "on",
    }
    return [
        Visit(
            "allowed-host-refused", reverse("web:allowed-host-add"), data={"host": ""}, status=422
        ),
        Visit("db-refused", reverse("web:db-connection-add"), data={"name": ""}, status=422),
        Visit("webhook-refused", reverse("web:webhook-list"), data={"url": "x"}, status=422),
        Visit("webhook-detail", webhook),
        Visit("webhook-detail-refused", webhook, data={"url": "ftp://x"}, status=422),
        Visit("data-source-new", source),
        Visit("data-source-refused", source, data={**http_source, "url": "x"}, status=422),
        Visit("data-source-saved", source, data=http_source, follow=True),
        Visit("data-source-edit", source),
        Visit("data-source-remove", reverse("web:data-source-remove", args=[i["key_result_id"]])),
        Visit("push-token", reverse("web:data-source-token", args=[i["key_result_id"]]), data={}),
    ]


def _import_visits(tenant: Tenant) -> list[Visit]:
    """The plan import (admins) and spreadsheet import (members): the upload forms, a preview
    of changes, a preview with errors, a file that cannot be read."""
    plan_import, csv_import = reverse("web:plan-import"), reverse("web:csv-import")
    plan_text = export_text(tenant.org).replace(
        tenant.plan.objective.title, "Renamed by the import", 1
    )
    kr = tenant.plan.key_result
    day = (organization_today(tenant.org) - dt.timedelta(days=1)).isoformat()
    rows = f"key_result,date,value,note\n{kr.objective.key}/{kr.key},{day},77,From a sheet\n"
    bad_rows = "key_result,date,value\nnope/kr,2025-01-01,x\n"
    return [
        Visit("plan-import", plan_import),
        Visit("plan-import-preview", plan_import, data=_upload("plan.yaml", plan_text)),
        Visit(
            "plan-import-errors",
            plan_import,
            data=_upload("plan.yaml", plan_text.replace("version: 1", "version: 99", 1)),
            status=422,
        ),
        Visit("plan-import-unreadable", plan_import, data=_upload("p.yaml", "- a\n"), status=422),
        Visit("plan-import-no-file", plan_import, data={"action": "preview"}, status=422),
        Visit("csv-import", csv_import, "member"),
        Visit("csv-import-preview", csv_import, "member", _upload("values.csv", rows)),
        Visit("csv-import-errors", csv_import, "member", _upload("bad.csv", bad_rows), 422),
        Visit(
            "csv-import-not-utf8",
            csv_import,
            "member",
            _upload("x.csv", "caf\xe9".encode("latin-1")),
            422,
        ),
    ]


def _cycle_visits(tenant: Tenant) -> list[Visit]:
    """The close wizard, retrospectives (blank, refused, written), the report and its print
    view, lessons. `_close` then closes the cycle and `_closed_cycle_visits` look again."""
    i = tenant.ids
    objective_retro = reverse("web:objective-retrospective", args=[i["objective_id"]])
    kr_retro = reverse("web:key-result-retrospective", args=[i["key_result_id"]])
    return [
        Visit("cycle-close", reverse("web:cycle-close", args=[i["cycle_id"]])),
        Visit("objective-retrospective", objective_retro, "member"),
        Visit("key-result-retrospective", kr_retro, "member"),
        Visit(
            "key-result-retrospective-refused",
            kr_retro,
            "member",
            {"grade_override": "achieved", "lessons": "x"},
            422,
        ),
        *_report_visits(tenant, "open"),
    ]


def _report_visits(tenant: Tenant, state: str) -> list[Visit]:
    cycle_id = tenant.ids["cycle_id"]
    return [
        Visit(f"cycle-report-{state}", reverse("web:cycle-report", args=[cycle_id])),
        Visit(f"cycle-report-print-{state}", reverse("web:cycle-report-print", args=[cycle_id])),
        Visit(f"lessons-{state}", reverse("web:lessons") + "?q=weekly"),
        Visit(f"cycle-close-{state}", reverse("web:cycle-close", args=[cycle_id])),
    ]


def _close(tenant: Tenant) -> None:
    """Retrospectives written or skipped, and the cycle closed."""
    actor = actor_for(tenant.owner, tenant.org)
    plan = tenant.plan
    okr_services.record_key_result_retrospective(
        actor=actor,
        key_result=plan.key_result,
        grade_override="achieved",
        reason_code="target_wrong",
        lessons="Weekly check-ins showed the target was wrong.",
    )
    for objective in plan.objectives:
        if objective.pk == plan.objective.pk:
            okr_services.record_objective_reflection(
                actor=actor,
                objective=objective,
                went_well="Shipping weekly",
                went_badly="Too many key results",
                change_next="Fewer key results",
            )
        else:
            okr_services.skip_objective_retrospective(actor=actor, objective=objective)
    okr_services.close_cycle(actor=actor, cycle=plan.cycle)


def _closed_cycle_visits(tenant: Tenant) -> list[Visit]:
    i = tenant.ids
    return [
        *_report_visits(tenant, "closed"),
        Visit(
            "objective-retrospective-written",
            reverse("web:objective-retrospective", args=[i["objective_id"]]),
        ),
        Visit(
            "key-result-retrospective-written",
            reverse("web:key-result-retrospective", args=[i["key_result_id"]]),
        ),
    ]


def _all_visits(tenant: Tenant) -> list[Visit]:
    return [
        *_signed_out_visits(tenant),
        *_detail_visits(tenant),
        *_integration_visits(tenant),
        *_import_visits(tenant),
        *_cycle_visits(tenant),
        *_closed_cycle_visits(tenant),
    ]


def _open(clients: dict[str, Client], visit: Visit) -> str:
    client = clients[visit.who]
    if visit.data is None:
        response = client.get(visit.url, follow=visit.follow)
    else:
        response = client.post(visit.url, visit.data, follow=visit.follow)
    assert response.status_code == visit.status, (visit.label, response.status_code)
    assert response["Content-Type"].startswith("text/html"), visit.label
    return str(response.content.decode())


@pytest.mark.django_db
def test_every_other_page_and_state_names_its_controls_and_keeps_its_structure() -> None:
    """The pages the role sweeps above do not reach: signed-out password pages (a valid and
    an invalid reset link), confirmations, the webhook and data-source pages, the plan and
    spreadsheet imports with their previews, retrospectives, the cycle report and its print
    view before and after the cycle closes, refused forms (422) and the not-found page."""
    tenant = build_tenant("Acme", "acme")
    clients = {"anon": Client(), "owner": Client(), "member": Client()}
    clients["owner"].force_login(tenant.owner)
    clients["member"].force_login(tenant.spare)
    visits = [
        *_signed_out_visits(tenant),
        *_detail_visits(tenant),
        *_integration_visits(tenant),
        *_import_visits(tenant),
        *_cycle_visits(tenant),
    ]
    pages: dict[str, str] = {}
    for visit in visits:
        pages[visit.label] = _open(clients, visit)
    _close(tenant)
    for visit in _closed_cycle_visits(tenant):
        pages[visit.label] = _open(clients, visit)
    assert _judge(pages) == {}
    # The states are the ones meant (a preview, not the upload form again; the form of a
    # valid reset link, the apology of an invalid one; the closed cycle's final report).
    assert "Import preview" in pages["plan-import-preview"]
    assert "1 to add" in pages["csv-import-preview"]
    assert 'name="new_password1"' in pages["password-reset-confirm-valid"]
    assert 'name="new_password1"' not in pages["password-reset-confirm-invalid"]
    assert "Weekly check-ins showed the target was wrong." in pages["cycle-report-closed"]
    assert "Weekly check-ins showed the target was wrong." in pages["lessons-closed"]
    assert "is closed: only an active cycle can be closed" in pages["cycle-close-closed"]


# --- no page is forgotten ------------------------------------------------------------------------

# Web URLs that are not pages, each checked to still be what it says: an action answers a GET
# with 405 (it only takes the POST of a form on a swept page), a download is not HTML.
POST_ONLY = {
    "web:logout": "signing out is the POST of the header's button",
    "web:org-switch": "the POST of the header's organization picker",
    "web:checkin-create": "the POST of the key-result page's check-in form",
    "web:milestone-complete": "the POST of a button on the initiative page",
    "web:task-move": "the POST of a task's status buttons",
    "web:cycle-carry-over": "the POST of the close wizard's carry-over form",
    "web:objective-retrospective-skip": "the POST of the close wizard's skip buttons",
    "web:objective-recurring": "the POST of the cycle page's recurring toggle",
    "web:token-revoke": "the POST of the token list's revoke buttons",
    "web:member-role": "the POST of the member list's role pickers",
    "web:member-unlock": "the POST of the member list's unlock buttons",
    "web:team-member-add": "the POST of the team form's add-member form",
    "web:team-member-remove": "the POST of the team form's remove buttons",
    "web:allowed-host-remove": "the POST of the integration settings' remove buttons",
    "web:db-connection-test": "the POST of the integration settings' test buttons",
    "web:webhook-state": "the POST of the webhook page's pause/resume button",
    "web:webhook-rotate": "the POST of the webhook page's rotate button",
    "web:webhook-redeliver": "the POST of a delivery's redeliver button",
    "web:data-source-run": "the POST of the data-source card's run button",
}
DOWNLOADS = {
    "web:export-objectives": "CSV",
    "web:export-key-results": "CSV",
    "web:export-checkins": "CSV",
    "web:export-initiatives": "CSV",
    "web:export-tasks": "CSV",
    "web:export-members": "CSV",
    "web:export-teams": "CSV",
    "web:export-findings": "CSV",
    "web:export-priorities": "CSV",
    "web:plan-export": "the plan file (YAML or JSON), linked from the plan import page",
    "web:csv-template-key-results": "CSV",
    "web:csv-template-check-ins": "CSV",
}


def _swept_names(tenant: Tenant) -> set[str]:
    plan = tenant.plan
    urls = [url for _, url in page_urls(plan) + form_urls(plan) + _admin_urls(plan)]
    urls += [visit.url for visit in _all_visits(tenant)]
    return {resolve(urlsplit(url).path).view_name for url in urls}


@pytest.mark.django_db
def test_every_web_url_is_swept_or_excused_with_a_reason() -> None:
    tenant = build_tenant("Acme", "acme")
    names = {r.name for r in web_routes() if r.name.startswith("web:")}
    swept = _swept_names(tenant)

    assert names - swept - set(POST_ONLY) - set(DOWNLOADS) == set(), "add them to a sweep"
    assert (set(POST_ONLY) | set(DOWNLOADS)) - names == set(), "excused but gone"
    assert swept & (set(POST_ONLY) | set(DOWNLOADS)) == set(), "swept and excused"
    # The excuses still hold.
    client = Client()
    client.force_login(tenant.owner)
    routes = {r.name: r for r in web_routes()}
    for name in POST_ONLY:
        assert client.get(routes[name].url(tenant.ids)).status_code == 405, name
    for name in DOWNLOADS:
        response = client.get(routes[name].url(tenant.ids))
        assert response.status_code == 200, name
        assert not response["Content-Type"].startswith("text/html"), name
