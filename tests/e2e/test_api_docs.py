"""The API's interactive documentation (/api/v1/docs) in real Chromium: Swagger UI is served
from this site (no CDN) and renders the operations list under the strict
Content-Security-Policy. The page fixture fails on any script error or CSP report."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Request, expect

from milepost.organizations.models import Organization
from tests.e2e.conftest import DEMO_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]


def test_the_api_docs_render_the_operations_from_this_site_only(
    page: Page, sign_in: SignIn, demo: Organization, live_server: object
) -> None:
    sign_in(DEMO_LOGIN)
    requested: list[str] = []

    def remember(request: Request) -> None:
        requested.append(request.url)

    page.on("request", remember)
    page.goto("/api/v1/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Milepost API")
    operations = page.locator(".opblock-summary")
    expect(operations.first).to_be_visible()
    assert operations.count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/health").first).to_be_visible()
    # Every script, stylesheet, image and the OpenAPI document came from the live server.
    origin = str(getattr(live_server, "url", ""))
    outside = [url for url in requested if not url.startswith((origin, "data:"))]
    assert outside == [], outside
    screenshot(page, "api_docs")
