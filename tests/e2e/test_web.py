"""The web app in real Chromium, on the demo organization: sign in, the dashboard, an
objective and its "why", a check-in, creating an aligned objective with two key results, the
roadmap, following a finding, a script-injection title, and a viewer."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Dialog, Page, expect

from milepost.okrs.models import KeyResult, Objective
from milepost.organizations.models import Organization
from tests.e2e.conftest import DEMO_LOGIN, DEMO_MEMBER_LOGIN, DEMO_VIEWER_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]
HOSTILE = "<img src=x onerror=alert(1)> Launch in <script>alert(2)</script> Japan"


def _company_objective(org: Organization) -> Objective:
    """The first of the active cycle's company-level objectives (aligned to nothing)."""
    objective = (
        Objective.objects.filter(organization=org, cycle__state="active", parent_links__isnull=True)
        .order_by("key")
        .first()
    )
    assert objective is not None
    return objective


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_sign_in(page: Page, sign_in: SignIn) -> None:
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    sign_in(DEMO_MEMBER_LOGIN)
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    expect(page.get_by_role("heading", name="Key results to check in")).to_be_visible()
    # The findings card arrives by htmx after the page.
    expect(page.locator("#home-findings")).to_be_visible()
    screenshot(page, "my-week")


def test_dashboard(page: Page, sign_in: SignIn) -> None:
    sign_in(DEMO_LOGIN)
    _nav(page, "Dashboard")
    expect(page.get_by_text("net confidence score")).to_be_visible()
    expect(page.get_by_role("heading", name="Key results by status")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(1)
    expect(page.locator(".status--on_track").first).to_be_visible()
    screenshot(page, "dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    page.get_by_role("button", name="Menu").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Roadmap")).to_be_visible()
    screenshot(page, "dashboard-phone", full_page=False)


def test_objective_and_its_why(page: Page, sign_in: SignIn, demo: Organization) -> None:
    objective = _company_objective(demo)
    sign_in(DEMO_LOGIN)
    _nav(page, "Alignment")
    page.get_by_role("link", name=objective.title).click()
    expect(page.get_by_role("heading", name=objective.title)).to_be_visible()
    expect(page.locator("#objective-why .explanation")).to_be_hidden()
    page.locator("#objective-why summary").click()
    explanation = page.locator("#objective-why .explanation")
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("Rule:")
    expect(explanation).to_contain_text(objective.key)
    screenshot(page, "objective-why")


def test_check_in_updates_progress_and_status(page: Page, sign_in: SignIn) -> None:
    kr = KeyResult.objects.get(title__startswith="Raise new teams checking in")
    sign_in(DEMO_MEMBER_LOGIN)
    page.get_by_role("link", name=f"Check in on {kr.title}").click()
    summary = page.locator("#kr-summary")
    before_progress = page.locator("#kr-progress").inner_text()
    before_status = summary.locator(".status").first.inner_text()
    page.get_by_label("New value").fill(str(kr.target_value.normalize()))
    page.get_by_label("Confidence").fill("9")
    page.get_by_label("Note").fill("Onboarding emails shipped; target reached.")
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_role("status").filter(has_text="Check-in saved")).to_be_visible()
    expect(page.locator("#kr-progress")).to_have_text("100%")
    expect(summary.locator(".status").first).to_have_text(re.compile("Done"))
    assert before_progress != "100%"
    assert "Done" not in before_status
    expect(page.locator("#kr-history")).to_contain_text("Onboarding emails shipped")
    # Saved without a reload (htmx swapped the parts in place), the form empty again.
    assert page.evaluate("window.__noReload === true")
    expect(page.get_by_label("New value")).to_have_value("")
    screenshot(page, "check-in")


def test_create_an_objective_with_two_key_results_aligned_to_a_parent(
    page: Page, sign_in: SignIn, demo: Organization
) -> None:
    parent = _company_objective(demo)
    sign_in(DEMO_MEMBER_LOGIN)
    page.get_by_role("link", name="New objective").click()
    page.get_by_label("Title").fill("Make the first week delightful")
    page.get_by_label("Contributes to").select_option(label=parent.title)
    page.get_by_role("button", name="Create objective").click()
    expect(page.get_by_role("heading", name="Make the first week delightful")).to_be_visible()
    for title, start, target in (
        ("Teams inviting a colleague in week one from 30% to 50%", "30", "50"),
        ("Week-one NPS from 20 to 40", "20", "40"),
    ):
        page.get_by_role("link", name="Add key result").first.click()
        page.get_by_label("Title").fill(title)
        page.get_by_label("Start").fill(start)
        page.get_by_label("Target (or threshold)").fill(target)
        page.get_by_role("button", name="Add key result", exact=True).click()
        expect(page.get_by_role("link", name=title)).to_be_visible()
    expect(page.locator(".kr-item")).to_have_count(2)
    parents = page.locator("section", has=page.get_by_role("heading", name="Contributes to"))
    expect(parents.get_by_role("link", name=parent.title)).to_be_visible()
    screenshot(page, "create-objective")


def test_roadmap_shows_bars_arrows_and_the_critical_path(page: Page, sign_in: SignIn) -> None:
    sign_in(DEMO_LOGIN)
    _nav(page, "Roadmap")
    timeline = page.locator("svg.timeline")
    expect(timeline).to_be_visible()
    assert timeline.locator("rect.tl-bar").count() >= 20
    assert timeline.locator("g.tl-dependency").count() >= 3
    assert timeline.locator("rect.tl-bar.critical").count() >= 2
    assert timeline.locator('g.tl-dependency[data-critical="true"]').count() >= 1
    expect(timeline.locator(".tl-today")).to_have_count(1)
    assert timeline.locator("g.tl-finding-group").count() >= 1
    critical = timeline.locator("rect.tl-bar.critical").first
    critical.click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("link", name="Open initiative")).to_be_visible()
    screenshot(page, "roadmap")
    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.locator("text.tl-group-label").first).to_be_visible()
    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.locator("svg.timeline")).to_be_visible()


def test_plan_health_leads_to_the_initiative(page: Page, sign_in: SignIn) -> None:
    sign_in(DEMO_LOGIN)
    _nav(page, "Plan health")
    expect(page.get_by_role("heading", name="Plan health")).to_be_visible()
    screenshot(page, "plan-health")
    group = page.locator("section", has=page.locator("code", has_text="initiative-unaligned"))
    link = group.locator(".finding a").first
    title = link.inner_text()
    link.click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_text("Not aligned").first).to_be_visible()
    screenshot(page, "initiative")


def test_a_script_injection_title_does_not_execute(page: Page, sign_in: SignIn) -> None:
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    sign_in(DEMO_MEMBER_LOGIN)
    page.goto("/objectives/new/")
    page.get_by_label("Title").fill(HOSTILE)
    page.get_by_role("button", name="Create objective").click()
    expect(page.get_by_role("heading", name=HOSTILE)).to_be_visible()
    for path in ("/dashboard/", "/alignment/", "/objectives/", "/health/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto("/objectives/")
    expect(page.get_by_role("link", name=HOSTILE)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    screenshot(page, "script-injection")
    assert dialogs == []


def test_a_viewer_sees_no_edit_controls(page: Page, sign_in: SignIn, demo: Organization) -> None:
    objective = _company_objective(demo)
    kr = KeyResult.objects.filter(objective=objective).first()
    assert kr is not None
    sign_in(DEMO_VIEWER_LOGIN)
    page.goto(f"/objectives/{objective.pk}/")
    expect(page.get_by_role("heading", name=objective.title)).to_be_visible()
    for name in ("Edit", "Archive", "Align", "Add key result"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    page.goto(f"/key-results/{kr.pk}/")
    expect(page.get_by_role("button", name="Save check-in")).to_have_count(0)
    expect(page.get_by_label("New value")).to_have_count(0)
    page.goto("/roadmap/")
    expect(page.get_by_role("link", name="New initiative")).to_have_count(0)
    page.goto(f"/objectives/{objective.pk}/")
    screenshot(page, "viewer")
