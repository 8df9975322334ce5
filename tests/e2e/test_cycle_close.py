"""Closing the demo's active cycle in real Chromium: the baseline changes on the cycle page,
the next cycle from this one, a reflection and a graded key-result retrospective, the admin
skipping the remaining retrospectives, two key results carried over into the new cycle,
closing, and the cycle report (screenshot: docs/screenshots/cycle_report.png)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from milepost.okrs.models import Cycle, KeyResult, Retrospective
from milepost.organizations.models import Organization
from tests.e2e.conftest import DEMO_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]


def _submit(page: Page, name: str | re.Pattern[str]) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name).first.click()


def test_close_the_active_cycle_carry_two_over_and_see_the_report(
    page: Page, sign_in: SignIn, demo: Organization
) -> None:
    active = Cycle.objects.get(organization=demo, state="active")
    sign_in(DEMO_LOGIN)

    # The cycle page: its state, and the demo's re-targeted key result as a baseline change.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cycles").click()
    page.get_by_role("link", name=active.name, exact=True).click()
    expect(page.get_by_role("heading", name=active.name, level=1)).to_be_visible()
    changes = page.get_by_test_id("baseline-changes")
    expect(changes).to_contain_text("target:")

    # The next quarter, prepared from this one.
    page.get_by_role("link", name="Next cycle from this one").click()
    expect(page.get_by_label("Name")).not_to_have_value("")
    next_name = page.get_by_label("Name").input_value()
    _submit(page, "Create the cycle")
    expect(page.get_by_role("heading", name=next_name, level=1)).to_be_visible()
    expect(page.locator(".lifecycle [aria-current=step]")).to_have_text("Planning")

    # The close wizard.
    page.goto(f"/cycles/{active.pk}/")
    page.get_by_role("link", name="Close the cycle…").click()
    expect(page.get_by_role("heading", name=f"Close {active.name}")).to_be_visible()
    expect(page.get_by_role("button", name=f"Close {active.name}")).to_be_disabled()

    # A reflection on the first objective.
    page.get_by_role("link", name=re.compile(r"^Write reflection on ")).first.click()
    page.get_by_label("What went well").fill("Weekly check-ins kept everyone honest.")
    page.get_by_label("What we change next time").fill("Fewer key results per objective.")
    _submit(page, "Save reflection")
    expect(page.locator(".messages")).to_contain_text("Reflection on")

    # A key result graded by its owner's judgement, with a reason and a lesson.
    page.get_by_role("link", name=re.compile(r"^Grade and lessons of ")).first.click()
    expect(page.get_by_test_id("engine-score")).to_be_visible()
    page.get_by_label("Grade").select_option("achieved")
    page.get_by_label("Reason").select_option("target_wrong")
    page.get_by_label("Lessons learned").fill("The target ignored the seasonal dip.")
    _submit(page, "Save retrospective")
    expect(page.locator(".messages")).to_contain_text("Retrospective of")

    # The admin skips the remaining objectives' retrospectives.
    skips = page.get_by_role("button", name=re.compile(r"^Skip the retrospective of "))
    while skips.count():
        _submit(page, re.compile(r"^Skip the retrospective of "))
    expect(page.get_by_text("Every objective has its retrospective")).to_be_visible()

    # Two unfinished key results carried into the new cycle.
    boxes = page.locator("input[name=key_results]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Into cycle").select_option(label=f"{next_name} (planning)")
    _submit(page, "Carry over the selected key results")
    expect(page.locator(".messages")).to_contain_text(f"2 key results carried into {next_name}")

    # Close, and read the report.
    _submit(page, f"Close {active.name}")
    expect(page.get_by_role("heading", name=f"{active.name}: cycle report")).to_be_visible()
    expect(page.get_by_role("heading", name="Score distribution")).to_be_visible()
    expect(page.get_by_role("heading", name="Confidence calibration")).to_be_visible()
    expect(page.get_by_test_id("calibration-owners")).to_contain_text("confident")
    expect(page.get_by_test_id("report-key-results")).to_contain_text("target was wrong")
    expect(page.get_by_test_id("lessons")).to_contain_text("The target ignored the seasonal dip.")
    page.set_viewport_size({"width": 1280, "height": 1400})
    screenshot(page, "cycle_report", full_page=False)

    active.refresh_from_db()
    assert active.state == "closed"
    assert Retrospective.objects.filter(cycle=active, skipped=True).exists()
    copies = KeyResult.objects.filter(objective__cycle__name=next_name, carried_from__isnull=False)
    assert copies.count() == 2

    # Both ends show the lineage.
    copy = copies.first()
    assert copy is not None
    assert copy.carried_from is not None
    page.goto(f"/key-results/{copy.pk}/")
    expect(page.get_by_test_id("kr-lineage")).to_contain_text("Carried over from")
    page.goto(f"/key-results/{copy.carried_from.pk}/")
    expect(page.get_by_test_id("kr-lineage")).to_contain_text("Carried into")

    # The printable version.
    page.goto(f"/cycles/{active.pk}/report/print/")
    expect(
        page.get_by_role("heading", name=re.compile(f"{active.name} cycle report"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
