"""Browser tests in real Chromium (Playwright, sync API) against pytest-django's live server,
on the demo organization. Each test ends with a screenshot in docs/screenshots/."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
_ROOT = Path(__file__).resolve().parents[2]
# The user guide's pictures are refreshed on purpose (`make screenshots`), not by every test run,
# so a test run leaves the work tree clean.
SCREENSHOTS = (
    _ROOT / "docs" / "screenshots"
    if os.environ.get("MILEPOST_UPDATE_SCREENSHOTS") == "1"
    else _ROOT / "var" / "screenshots"
)

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)",
        allow_module_level=True,
    )

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
# thread with a running loop unless told it is safe (it is: nothing here is async).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from django.core.servers.basehttp import ThreadedWSGIServer  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from milepost.demo.loader import (  # noqa: E402
    DEMO_LOGIN,
    DEMO_MEMBER_LOGIN,
    DEMO_PASSWORD,
    DEMO_VIEWER_LOGIN,
    load_demo,
)
from milepost.organizations.models import Organization  # noqa: E402
from milepost.reports import snapshot  # noqa: E402

__all__ = ["DEMO_LOGIN", "DEMO_MEMBER_LOGIN", "DEMO_VIEWER_LOGIN"]


class _OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server, answering one request at a time.

    On SQLite the test database lives in memory and the server's threads share its one
    connection; two requests at once (a page and its htmx call) then corrupt each other
    ("bad parameter or other API misuse", a 500 in the browser). The body is read inside the
    lock so a streamed response's queries run there too.
    """

    def set_app(self, application: Any) -> None:
        lock = threading.Lock()

        def one_at_a_time(environ: Any, start_response: Any) -> list[bytes]:
            with lock:
                response = application(environ, start_response)
                try:
                    return list(response)
                finally:
                    if hasattr(response, "close"):
                        response.close()

        super().set_app(one_at_a_time)


LiveServerThread.server_class = _OneRequestAtATimeServer


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def demo(transactional_db: None, settings: Any) -> Organization:
    # Argon2 is deliberately slow; the demo signs in many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    snapshot.clear()
    return load_demo()


@pytest.fixture
def page(browser: Browser, live_server: Any, demo: Organization) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    # A Content-Security-Policy violation or a script error is a failure of the page.
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text) if msg.type == "error" and "favicon" not in msg.text else None
        ),
    )
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def sign_in(page: Page) -> Callable[[str], Page]:
    def sign_in_as(email: str) -> Page:
        page.goto("/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        return page

    return sign_in_as


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as <name>.png: in docs/screenshots/ (the user guide shows them) when
    MILEPOST_UPDATE_SCREENSHOTS=1, else in var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
