"""Review fixes in real Chromium: the htmx check-in form shows the server's validation errors and
refusals without a reload, and the dashboard fits a 390 px wide phone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from milepost.okrs.models import KeyResult
from milepost.organizations.models import Membership, Organization, Role
from tests.e2e.conftest import DEMO_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]
# The browser logs every 4xx answer to the console (and htmx logs the ones it does not swap):
# here they are the point of the test, not a failure of the page.
_EXPECTED_REFUSAL = re.compile(
    r"status of 4(03|22) |Response Status Error Code 403 from /key-results/\d+/check-in/"
)


@pytest.fixture
def page(browser: Browser, live_server: Any, demo: Organization) -> Iterator[Page]:
    """As the shared fixture (script errors fail the test), minus the expected refusals."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error"
            and "favicon" not in msg.text
            and not _EXPECTED_REFUSAL.search(msg.text)
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], errors


def _open_key_result(demo: Organization) -> KeyResult:
    kr = (
        KeyResult.objects.filter(
            organization=demo,
            objective__cycle__state="active",
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            kind="increase",
        )
        .order_by("pk")
        .first()
    )
    assert kr is not None
    return kr


def test_check_in_errors_and_refusals_show_without_a_reload(
    page: Page, sign_in: SignIn, demo: Organization
) -> None:
    kr = _open_key_result(demo)
    sign_in(DEMO_LOGIN)
    page.goto(f"/key-results/{kr.pk}/")
    form = page.locator("#checkin")
    expect(form).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    # A confidence out of 0-10: the 422 answer is swapped in, the error beside the field.
    page.get_by_label("New value").fill("12")
    page.get_by_label("Confidence (0 to 10)").fill("11")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.locator("#id_confidence_error")).to_contain_text("less than or equal to 10")
    # The value typed stays in the form.
    expect(page.get_by_label("New value")).to_have_value("12")

    # The person loses the right to check in meanwhile: the 403 shows in the message area.
    membership = Membership.objects.get(organization=demo, user__email=DEMO_LOGIN)
    role = membership.role
    Membership.objects.filter(pk=membership.pk).update(role=Role.VIEWER)
    page.get_by_label("Confidence (0 to 10)").fill("7")
    page.get_by_role("button", name="Save check-in").click()
    refusal = page.get_by_test_id("htmx-error")
    expect(refusal).to_contain_text("check in")
    Membership.objects.filter(pk=membership.pk).update(role=role)

    # Valid again: saved, and the earlier refusal is gone.
    page.get_by_role("button", name="Save check-in").click()
    expect(page.locator(".checkin-saved")).to_contain_text("Check-in saved")
    expect(refusal).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true")  # no reload happened
    screenshot(page, "review_checkin_errors", full_page=False)


def test_the_dashboard_fits_a_phone(page: Page, sign_in: SignIn, demo: Organization) -> None:
    sign_in(DEMO_LOGIN)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
    # Every table scrolls inside its own container rather than the page.
    loose = page.evaluate(
        "[...document.querySelectorAll('#main table')].filter(t => !t.closest('.table-wrap'))"
        ".length"
    )
    assert loose == 0
    # Stacked cards keep a gap between them.
    gaps = page.evaluate(
        """() => {
          const cards = [...document.querySelectorAll('#main .card')]
            .map(c => c.getBoundingClientRect())
            .filter(r => r.height > 0)
            .sort((a, b) => a.top - b.top);
          const gaps = [];
          for (let i = 1; i < cards.length; i++) {
            const above = cards[i - 1], below = cards[i];
            if (below.top >= above.bottom - 1) gaps.push(below.top - above.bottom);
          }
          return gaps;
        }"""
    )
    assert gaps, "no stacked cards"
    assert min(gaps) >= 8, gaps
    screenshot(page, "review_dashboard_phone")
