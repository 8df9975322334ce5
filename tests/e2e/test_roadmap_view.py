"""The roadmap in real Chromium, on the demo organization: today's line stays in view when the
side panel opens and closes, the milestones of a row are readable images, and a bar of the
roadmap as of a past day opens its panel too."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from milepost.organizations.models import Organization
from milepost.roadmap.models import Milestone
from tests.e2e.conftest import DEMO_LOGIN

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]


def _today_in_view(page: Page) -> dict[str, float]:
    """Where today's line is on screen, and the visible part of the scrolling timeline."""
    box: dict[str, float] = page.evaluate(
        """() => {
            const scroller = document.querySelector(".timeline-scroll");
            const line = scroller.querySelector(".tl-today").getBoundingClientRect();
            const view = scroller.getBoundingClientRect();
            return {x: line.left, left: view.left, right: view.left + scroller.clientWidth};
        }"""
    )
    return box


def _visible(box: dict[str, float]) -> bool:
    return box["left"] <= box["x"] <= box["right"]


@pytest.mark.parametrize("width", [1280, 1100])
def test_todays_line_stays_in_view_when_the_side_panel_opens_and_closes(
    page: Page, sign_in: SignIn, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(DEMO_LOGIN)
    page.goto("/roadmap/")
    timeline = page.locator("svg.timeline")
    expect(timeline).to_be_visible()
    assert _visible(_today_in_view(page)), _today_in_view(page)
    # Open a bar whose left end is on screen (the panel takes the right of the page).
    bars = timeline.locator("a:has(rect.tl-bar)")
    bar = next(
        b
        for b in bars.all()
        if (box := b.locator("rect.tl-bar").bounding_box()) is not None and box["x"] < width / 3
    )
    bar.locator("rect.tl-bar").click(position={"x": 2, "y": 8})
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("link", name="Open initiative")).to_be_visible()
    expect(page.locator(".roadmap-layout.has-panel")).to_have_count(1)
    box = _today_in_view(page)
    assert _visible(box), f"with the panel open, today's line is off screen: {box}"
    panel.get_by_role("link", name="Close panel").click()
    expect(page.locator(".roadmap-layout.has-panel")).to_have_count(0)
    box = _today_in_view(page)
    assert _visible(box), f"with the panel closed, today's line is off screen: {box}"


def test_each_rows_milestones_are_readable_images(
    page: Page, sign_in: SignIn, demo: Organization
) -> None:
    milestone = (
        Milestone.objects.filter(
            organization=demo, initiative__cycle__state="active", archived_at__isnull=True
        )
        .select_related("initiative")
        .order_by("pk")
        .first()
    )
    assert milestone is not None
    assert milestone.initiative is not None
    sign_in(DEMO_LOGIN)
    page.goto("/roadmap/")
    day = f"{milestone.date.day} {milestone.date:%b %Y}"
    image = page.get_by_role(
        "img",
        name=re.compile(
            rf"^Milestones? of {re.escape(milestone.initiative.title)}, .*"
            rf"{re.escape(milestone.name)}, {day}"
        ),
    )
    expect(image).to_have_count(1)
    expect(image).to_be_visible()
    # Every milestone of the cycle is named by one of the images.
    names = " ".join(
        page.get_by_role("img", name=re.compile("^Milestone")).evaluate_all(
            "els => els.map(e => e.querySelector('title').textContent)"
        )
    )
    active = Milestone.objects.filter(
        organization=demo, initiative__cycle__state="active", archived_at__isnull=True
    )
    for m in active:
        assert f"{m.name}, {m.date.day} {m.date:%b %Y}" in names, m.name


def test_a_bar_of_the_roadmap_as_of_a_past_day_opens_the_side_panel(
    page: Page, sign_in: SignIn
) -> None:
    sign_in(DEMO_LOGIN)
    page.goto("/roadmap/")
    day = dt.date.fromisoformat(
        page.locator("input[name=as_of]").get_attribute("max") or dt.date.today().isoformat()
    )
    page.goto(f"/roadmap/?as_of={day.isoformat()}")
    expect(page.get_by_role("heading", name=re.compile("^Roadmap as of"))).to_be_visible()
    bar = page.locator("svg.timeline rect.tl-bar").first
    bar.click(position={"x": 2, "y": 8})
    expect(page.locator("#side-panel").get_by_role("link", name="Open initiative")).to_be_visible()
