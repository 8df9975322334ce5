"""Issue 6, accessible: every page a member or an admin can open names each form control
(a label, a wrapping label, aria-label/aria-labelledby or title), shows each status as text
beside its colour, and gives each image a text alternative."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests.web.builders import Plan, build_plan
from tests.web.conftest import client_for
from tests.web.pages import form_urls, page_urls

NAMELESS_INPUT_TYPES = {"hidden", "submit", "button", "reset", "image"}
NAMING_ATTRIBUTES = ("aria-label", "aria-labelledby", "title")
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

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in raw}
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for item in self.open:
            if item.tag == tag:
                item.depth += 1
            if item.tag == "svg" and tag == "title":
                item.has_title = True
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

    def handle_data(self, data: str) -> None:
        if any(item.hidden for item in self.open):
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
        return found


def page_problems(html: str) -> list[str]:
    """What an accessibility check finds wrong on one page (empty when nothing)."""
    parser = A11yParser()
    parser.feed(html)
    parser.close()
    return parser.problems()


def _sweep(client: Client, urls: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, url in urls:
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        problems = page_problems(response.content.decode())
        if problems:
            found[name] = problems
    return found


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


@pytest.mark.django_db
def test_signed_out_pages_name_their_controls() -> None:
    client = Client()
    urls = [("login", reverse("web:login")), ("password-reset", reverse("web:password-reset"))]
    assert _sweep(client, urls) == {}


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
