"""Issue 6, small screens: the pages the accessibility sweep (tests/web/test_accessibility.py)
added fit a 390 px wide phone without scrolling sideways. Signed out: a valid and an invalid
password-reset link. Signed in: a webhook with its deliveries, the plan and spreadsheet
imports and their previews, retrospectives, the close wizard, lessons, and the cycle report
and its print view, a key result's data source and push token (screenshot:
phone-cycle-report.png)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import FilePayload, Page, ViewportSize, expect

from milepost.accounts.models import User
from milepost.integrations.models import AllowedHost, WebhookDelivery, WebhookSubscription
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.organizations.models import Organization
from milepost.plans.exporter import export_text
from tests.e2e.conftest import DEMO_LOGIN, DEMO_VIEWER_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]
PHONE: ViewportSize = {"width": 390, "height": 844}

# How far the page is wider than the phone, and the widest elements sticking out (to say what).
_OVERFLOW = """() => {
    const width = document.documentElement.scrollWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter(el => el.getBoundingClientRect().right > 391 && el.offsetParent !== null)
      .filter(el => ![...el.children].some(c => c.getBoundingClientRect().right > 391))
      .slice(0, 3)
      .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
    return [width, culprits];
}"""


def _fits(page: Page, label: str, failures: dict[str, object]) -> None:
    expect(page.locator("h1").first).to_be_attached()
    width, culprits = page.evaluate(_OVERFLOW)
    if width > PHONE["width"]:
        failures[label] = (width, culprits)
        screenshot(page, f"phone-overflow-{label}", full_page=False)


def _webhook(demo: Organization) -> WebhookSubscription:
    """A webhook to a long address with a few deliveries, the way a real one looks."""
    AllowedHost.objects.create(organization=demo, host="hooks.example.com")
    subscription = WebhookSubscription.objects.create(
        organization=demo,
        url="https://hooks.example.com/services/T000/B000/a-rather-long-receiver-path-xyz",
        description="Chat channel for check-ins",
        events=["checkin.recorded", "cycle.closed"],
        secret="not-a-real-secret",
    )
    now = timezone.now()
    for n in range(3):
        WebhookDelivery.objects.create(
            organization=demo,
            subscription=subscription,
            event="checkin.recorded",
            body='{"note": "a check-in"}',
            retry_until=now,
            created_at=now - dt.timedelta(hours=n),
        )
    return subscription


def test_the_newly_swept_pages_fit_a_phone(page: Page, sign_in: SignIn, demo: Organization) -> None:
    failures: dict[str, object] = {}
    page.set_viewport_size(PHONE)

    # Signed out: the reset link (valid, then one whose token is wrong).
    viewer = User.objects.get(email=DEMO_VIEWER_LOGIN)
    uid = urlsafe_base64_encode(force_bytes(viewer.pk))
    token = default_token_generator.make_token(viewer)
    page.goto(reverse("web:password-reset-confirm", args=[uid, token]))
    expect(page.get_by_role("textbox", name="New password", exact=True)).to_be_visible()
    _fits(page, "password-reset-confirm", failures)
    page.goto(reverse("web:password-reset-confirm", args=[uid, "not-a-token"]))
    _fits(page, "password-reset-confirm-invalid", failures)

    sign_in(DEMO_LOGIN)
    subscription = _webhook(demo)
    closed = Cycle.objects.get(organization=demo, state="closed")
    active = Cycle.objects.get(organization=demo, state="active")
    objective = Objective.objects.filter(cycle=active).order_by("key").first()
    kr = KeyResult.objects.filter(objective__cycle=active).order_by("pk").first()
    assert objective is not None
    assert kr is not None
    pages = {
        "webhook-detail": reverse("web:webhook-detail", args=[subscription.pk]),
        "integration-settings": reverse("web:integration-settings"),
        "data-source": reverse("web:data-source-edit", args=[kr.pk]),
        "objective-retrospective": reverse("web:objective-retrospective", args=[objective.pk]),
        "key-result-retrospective": reverse("web:key-result-retrospective", args=[kr.pk]),
        "cycle-close": reverse("web:cycle-close", args=[active.pk]),
        "lessons": reverse("web:lessons"),
        "cycle-report-active": reverse("web:cycle-report", args=[active.pk]),
        "cycle-report-print": reverse("web:cycle-report-print", args=[closed.pk]),
        "notification-preferences": reverse("web:notification-preferences"),
        "cycle-report": reverse("web:cycle-report", args=[closed.pk]),
    }
    for label, url in pages.items():
        page.goto(url)
        _fits(page, label, failures)
    screenshot(page, "phone-cycle-report", full_page=False)

    # A key result's push token (shown once, after the POST of the data-source page's button).
    page.goto(pages["data-source"])
    with page.expect_navigation():
        page.get_by_role("button", name="Make a token for this key result").click()
    expect(page.get_by_role("heading", name="A token to push values")).to_be_visible()
    _fits(page, "push-token", failures)

    # The imports, and what they show once a file is chosen.
    page.goto(reverse("web:plan-import"))
    _fits(page, "plan-import", failures)
    plan = export_text(demo).replace(objective.title, "Renamed by the import", 1)
    page.set_input_files(
        "input[name=file]",
        files=[FilePayload(name="plan.yaml", mimeType="application/yaml", buffer=plan.encode())],
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    _fits(page, "plan-import-preview", failures)

    page.goto(reverse("web:csv-import"))
    _fits(page, "csv-import", failures)
    day = (organization_today(demo) - dt.timedelta(days=1)).isoformat()
    # Only rows that import (a preview with errors answers 422, which the page fixture counts as
    # a console error); tests/web/test_accessibility.py sweeps the error preview.
    rows = f"key_result,date,value,note\n{kr.objective.key}/{kr.key},{day},1,From a sheet\n"
    page.set_input_files(
        "input[name=file]",
        files=[FilePayload(name="values.csv", mimeType="text/csv", buffer=rows.encode())],
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", name="Spreadsheet preview")).to_be_visible()
    expect(page.get_by_text("1 to add")).to_be_visible()
    _fits(page, "csv-import-preview", failures)

    assert failures == {}, f"wider than {PHONE['width']} px (width, what sticks out): {failures}"
