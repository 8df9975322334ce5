"""Issue 6, keyboard navigation: a member signs in and records a check-in with the keyboard
alone (Tab, typing, Enter; no clicks, no programmatic focus), and every form control shows a
visible focus ring when reached that way."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from milepost.demo.loader import DEMO_PASSWORD
from milepost.okrs.models import KeyResult
from tests.e2e.conftest import DEMO_MEMBER_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Enough presses to cross the header and navigation of any page.
MAX_TABS = 120

# True when the focused element is drawn with a focus indicator (an outline or a box-shadow).
_FOCUS_VISIBLE = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
    return outline || shadow;
}"""


def _tab_to(page: Page, selector: str, *, text: str = "") -> None:
    """Press Tab until the focused element matches `selector` (and contains `text`); fail if
    it is never reached, i.e. it cannot be reached with the keyboard."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        reached = page.evaluate(
            "([sel, text]) => { const el = document.activeElement;"
            " return !!el && el.matches(sel) && (el.textContent || '').includes(text); }",
            [selector, text],
        )
        if reached:
            return
    pytest.fail(f"{selector} {text!r} not reached with {MAX_TABS} presses of Tab")


def _focused_control(page: Page, selector: str) -> None:
    """Tab to a form control and check its focus is visible."""
    _tab_to(page, selector)
    assert page.evaluate(_FOCUS_VISIBLE), f"{selector} has no visible focus indicator"


def test_sign_in_and_check_in_with_the_keyboard_only(page: Page) -> None:
    kr = KeyResult.objects.get(title__startswith="Raise new teams checking in")
    assert kr.owner is not None
    assert kr.owner.email == DEMO_MEMBER_LOGIN
    page.goto("/login/")

    # Sign in: Tab to the email field, type, Tab to the password, type, Enter.
    _focused_control(page, "input[name=username]")
    page.keyboard.type(DEMO_MEMBER_LOGIN)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    assert page.evaluate(_FOCUS_VISIBLE)
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()

    # Open the key result from "Key results to check in".
    _tab_to(page, "a", text=f"Check in on {kr.title}")
    assert page.evaluate(_FOCUS_VISIBLE), "the check-in link has no visible focus indicator"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=kr.title)).to_be_visible()

    # Record a check-in.
    _focused_control(page, "#checkin input[name=value]")
    page.keyboard.type(str(kr.target_value.normalize()))
    _focused_control(page, "#checkin input[name=confidence]")
    page.keyboard.type("8")
    _focused_control(page, "#checkin textarea[name=note]")
    page.keyboard.type("Typed without a mouse.")
    _tab_to(page, "#checkin button[type=submit]")
    assert page.evaluate(_FOCUS_VISIBLE), "the save button has no visible focus indicator"
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="Check-in saved")).to_be_visible()
    expect(page.locator("#kr-history")).to_contain_text("Typed without a mouse.")
    assert kr.checkins.filter(note="Typed without a mouse.").count() == 1
    screenshot(page, "check-in-keyboard")
