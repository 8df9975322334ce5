"""Who sees what: viewers read without edit controls, another organization's objects are not
found (never forbidden), CSRF guards every form, and the pages carry no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from milepost.okrs.models import CheckIn
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests.web.builders import Plan, build_plan
from tests.web.conftest import client_for
from tests.web.pages import form_urls, page_urls

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "milepost" / "web" / "templates"
EDIT_CONTROLS = (
    "Add key result",
    ">Edit<",
    ">Archive<",
    ">Align<",
    "Save check-in",
    "Change status",
    "Link a key result",
    "Add task",
    "New objective",
    "New initiative",
)


def test_a_viewer_reads_every_page(plan: Plan, viewer_client: Client) -> None:
    for name, url in page_urls(plan):
        assert viewer_client.get(url).status_code == 200, name


def test_a_viewer_sees_no_edit_controls(plan: Plan, viewer_client: Client) -> None:
    pages = [
        reverse("web:home"),
        reverse("web:objective-detail", args=[plan.objective.pk]),
        reverse("web:key-result-detail", args=[plan.key_result.pk]),
        reverse("web:initiative-detail", args=[plan.initiative.pk]),
        reverse("web:initiative-panel", args=[plan.initiative.pk]),
        reverse("web:roadmap"),
        reverse("web:alignment-tree"),
    ]
    for url in pages:
        html = viewer_client.get(url).content.decode()
        for control in EDIT_CONTROLS:
            assert control not in html, f"{control!r} on {url}"
        assert 'action="/key-results/' not in html


def test_the_owner_of_the_items_sees_the_edit_controls(plan: Plan, member_client: Client) -> None:
    html = member_client.get(
        reverse("web:objective-detail", args=[plan.objective.pk])
    ).content.decode()
    assert "Add key result" in html
    html = member_client.get(
        reverse("web:key-result-detail", args=[plan.key_result.pk])
    ).content.decode()
    assert "Save check-in" in html


def test_a_viewer_cannot_write(plan: Plan, viewer_client: Client) -> None:
    kr = plan.key_result
    response = viewer_client.post(reverse("web:checkin-create", args=[kr.pk]), {"value": "1"})
    assert response.status_code == 403
    assert not CheckIn.objects.filter(key_result=kr, value=1).exists()
    for name, url in form_urls(plan):
        assert viewer_client.get(url).status_code == 403, name


def test_another_organization_finds_nothing(plan: Plan, outsider: Actor) -> None:
    client = client_for(outsider)
    foreign = [url for name, url in page_urls(plan) + form_urls(plan) if re.search(r"/\d+/", url)]
    assert len(foreign) >= 15
    for url in foreign:
        response = client.get(url)
        assert response.status_code == 404, url
        html = response.content.decode()
        assert plan.objective.title not in html
        assert plan.initiative.title not in html
    # Lists show the outsider's own (empty) organization.
    for url in (reverse("web:dashboard"), reverse("web:roadmap"), reverse("web:plan-health")):
        html = client.get(url).content.decode()
        assert plan.objective.title not in html
        assert plan.initiative.title not in html


def test_switching_organization_needs_a_membership(
    plan: Plan, member: Actor, other_org: Organization
) -> None:
    client = client_for(member)
    response = client.post(reverse("web:org-switch"), {"organization": other_org.pk})
    assert response.status_code == 302
    assert plan.org.name in client.get(reverse("web:home")).content.decode()


def test_the_switcher_changes_the_current_organization(org: Organization, member: Actor) -> None:
    from milepost.organizations.models import Membership, Role
    from tests import factories

    second = factories.make_org("Second Co", "second")
    assert member.user is not None
    Membership.objects.create(organization=second, user=member.user, role=Role.MEMBER)
    build_plan(second, member.user, size=1, title="Second's own objective")
    client = client_for(member)
    html = client.get(reverse("web:home")).content.decode()
    assert 'id="org-select"' in html
    client.post(
        reverse("web:org-switch"), {"organization": second.pk, "next": reverse("web:dashboard")}
    )
    html = client.get(reverse("web:dashboard")).content.decode()
    assert "Second&#x27;s own objective" in html


def test_forms_without_a_csrf_token_are_refused(plan: Plan, member: Actor) -> None:
    client = Client(enforce_csrf_checks=True)
    assert member.user is not None
    client.force_login(member.user)
    kr = plan.key_result
    assert (
        client.post(reverse("web:checkin-create", args=[kr.pk]), {"value": "5"}).status_code == 403
    )
    assert client.post(reverse("web:objective-create"), {"title": "x"}).status_code == 403
    assert not CheckIn.objects.filter(key_result=kr, value=5).exists()


def test_signed_out_visitors_are_sent_to_sign_in(plan: Plan) -> None:
    response = Client().get(reverse("web:objective-detail", args=[plan.objective.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_pages_send_a_strict_csp_and_carry_no_inline_script_or_style(
    plan: Plan, member_client: Client
) -> None:
    response = member_client.get(reverse("web:dashboard"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\sstyle=", text), template
        assert not re.search(r"\son[a-z]+=", text), template
        assert "hx-on" not in text, template
