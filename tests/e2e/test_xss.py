"""Stored script injection, in real Chromium: hostile strings in every text field people type
(organization, team, objective, key result, check-in note, initiative, milestone, task,
retrospective lessons, a person's name) are shown on every page that shows them — and no
script runs.

Each page is checked four ways: no dialog opens (the payloads call ``alert``), the
``window.__xss`` probe stays unset (the payloads set it), the DOM holds no element built from
the payloads (no inline ``<script>``, no ``onerror``/``onload`` attribute, no ``<img src=x>``)
and no link points to ``javascript:``. The page fixture also fails on any script error or
Content-Security-Policy report in the console. Each field's marker must appear on the pages
that show it, so a page that silently dropped the text would not pass for a safe one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Dialog, Page, expect

from milepost.accounts.models import User
from milepost.okrs.models import CheckIn, Cycle, KeyResult, Objective, Retrospective
from milepost.organizations.models import Organization, Team
from milepost.reports import snapshot
from milepost.roadmap.models import Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task
from tests.e2e.conftest import DEMO_LOGIN, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SignIn = Callable[[str], Page]

PAYLOADS = (
    "<img src=x onerror=alert(1);window.__xss=1>",
    '"><script>alert(2);window.__xss=2</script>',
    "javascript:alert(3)//",
    "<svg onload=alert(4)><script>window.__xss=4</script></svg>",
    "'><svg/onload=window.__xss=5>",
    "</title></textarea><script>window.__xss=6</script>",
)
SHORT = "<svg/onload=alert(7)>"  # for a 30-character field (a key result's unit)


def hostile(token: str, n: int) -> str:
    """A field value: its marker, then two payloads (which ones depends on `n`)."""
    return f"{token} {PAYLOADS[n % len(PAYLOADS)]} {PAYLOADS[(n + 3) % len(PAYLOADS)]}"


@dataclass
class Planted:
    objective: Objective
    key_result: KeyResult
    initiative: Initiative
    closed_cycle: Cycle | None
    tokens: dict[str, str]


def plant(org: Organization) -> Planted:
    """Put a hostile string in every text field of one chain of the demo's objects."""
    kr = (
        KeyResult.objects.filter(
            organization=org,
            objective__cycle__state="active",
            archived_at__isnull=True,
            initiative_links__isnull=False,
            checkins__isnull=False,
        )
        .order_by("pk")
        .select_related("objective")
        .first()
    )
    assert kr is not None, "the demo has no key result with an initiative and check-ins"
    objective = kr.objective
    link = InitiativeKeyResult.objects.filter(key_result=kr).order_by("pk").first()
    assert link is not None
    initiative = link.initiative
    tokens = {
        name: f"Zx{n:02d}{name.replace('_', '')[:6]}"
        for n, name in enumerate(
            [
                "organization",
                "team",
                "objective_title",
                "objective_description",
                "kr_title",
                "kr_unit",
                "checkin_note",
                "initiative_title",
                "initiative_description",
                "initiative_hypothesis",
                "milestone",
                "task",
                "lessons",
                "full_name",
            ]
        )
    }
    t = tokens
    Organization.objects.filter(pk=org.pk).update(name=hostile(t["organization"], 0))
    team_id = objective.owner_team_id or initiative.team_id
    assert team_id is not None
    Team.objects.filter(pk=team_id).update(name=hostile(t["team"], 1))
    Objective.objects.filter(pk=objective.pk).update(
        title=hostile(t["objective_title"], 2), description=hostile(t["objective_description"], 3)
    )
    KeyResult.objects.filter(pk=kr.pk).update(
        title=hostile(t["kr_title"], 4), unit=f"{t['kr_unit'][:8]} {SHORT}"
    )
    tokens["kr_unit"] = t["kr_unit"][:8]
    latest = CheckIn.objects.filter(key_result=kr).order_by("-effective_date", "-pk").first()
    assert latest is not None
    CheckIn.objects.filter(pk=latest.pk).update(note=hostile(t["checkin_note"], 5))
    Initiative.objects.filter(pk=initiative.pk).update(
        title=hostile(t["initiative_title"], 0),
        description=hostile(t["initiative_description"], 1),
        hypothesis=hostile(t["initiative_hypothesis"], 2),
    )
    milestone = Milestone.objects.filter(initiative=initiative).order_by("pk").first()
    if milestone is None:
        day = initiative.end_date or objective.cycle.end_date
        milestone = Milestone.objects.create(
            organization=org,
            key="xss-ms",
            name="m",
            date=day,
            initiative=initiative,
        )
    Milestone.objects.filter(pk=milestone.pk).update(name=hostile(t["milestone"], 3))
    task = Task.objects.filter(initiative=initiative).order_by("pk").first()
    if task is None:
        task = Task.objects.create(organization=org, initiative=initiative, title="t")
    Task.objects.filter(pk=task.pk).update(title=hostile(t["task"], 4))
    retro = (
        Retrospective.objects.filter(organization=org, key_result__isnull=False)
        .select_related("cycle")
        .order_by("pk")
        .first()
    )
    closed_cycle = None
    if retro is not None:
        Retrospective.objects.filter(pk=retro.pk).update(lessons=hostile(t["lessons"], 5))
        closed_cycle = retro.cycle
    else:
        tokens.pop("lessons")
    User.objects.filter(email=DEMO_LOGIN).update(full_name=hostile(t["full_name"], 0))
    snapshot.clear()  # kept evaluations must not hold the old titles
    objective.refresh_from_db()
    kr.refresh_from_db()
    initiative.refresh_from_db()
    return Planted(objective, kr, initiative, closed_cycle, tokens)


class Probe:
    """Watches a page for anything the payloads would do if they ran."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self, where: str) -> str:
        """Assert nothing ran on the current page; return its DOM as HTML (text, SVG titles,
        labels and form values included)."""
        page = self.page
        page.wait_for_load_state("networkidle")
        assert self.dialogs == [], f"{where}: a dialog opened: {self.dialogs}"
        assert page.evaluate("window.__xss") is None, f"{where}: a payload ran"
        injected = page.locator(
            "script:not([src]), [onerror], [onload], img[src='x'], svg script"
        ).count()
        assert injected == 0, f"{where}: {injected} elements built from user text"
        hrefs = page.eval_on_selector_all(
            "a[href], [formaction], iframe[src]",
            "els => els.map(e => e.getAttribute('href') || e.getAttribute('formaction') || "
            "e.getAttribute('src'))",
        )
        scripted = [h for h in hrefs if h and h.strip().lower().startswith("javascript:")]
        assert scripted == [], f"{where}: javascript: links {scripted}"
        return page.content()


def test_hostile_text_in_every_field_never_runs(
    page: Page, sign_in: SignIn, demo: Organization
) -> None:
    planted = plant(demo)
    t = planted.tokens
    probe = Probe(page)
    sign_in(DEMO_LOGIN)
    everywhere = {"organization", "full_name"}  # the header on every page
    pages: list[tuple[str, str, set[str]]] = [
        ("my week", "/", set()),
        ("dashboard", "/dashboard/", {"objective_title"}),
        ("alignment tree", "/alignment/", set()),
        ("objectives", "/objectives/", {"objective_title"}),
        (
            "objective",
            f"/objectives/{planted.objective.pk}/",
            {"objective_title", "objective_description", "kr_title", "initiative_title"},
        ),
        (
            "key result",
            f"/key-results/{planted.key_result.pk}/",
            {"kr_title", "kr_unit", "checkin_note", "objective_title"},
        ),
        ("roadmap", "/roadmap/", {"initiative_title", "milestone"}),
        ("initiatives", "/initiatives/", {"initiative_title"}),
        (
            "initiative",
            f"/initiatives/{planted.initiative.pk}/",
            {
                "initiative_title",
                "initiative_description",
                "initiative_hypothesis",
                "milestone",
                "task",
                "kr_title",
            },
        ),
        ("initiative panel", f"/initiatives/{planted.initiative.pk}/panel/", {"initiative_title"}),
        ("plan health", "/health/", set()),
        ("priorities", "/priorities/", {"initiative_title"}),
        ("members", "/settings/members/", set()),
        ("teams", "/settings/teams/", {"team"}),
        ("organization settings", "/settings/organization/", set()),
        ("cycles", "/cycles/", set()),
        ("lessons", "/lessons/", set()),
        ("objective edit", f"/objectives/{planted.objective.pk}/edit/", {"objective_title"}),
        ("key result edit", f"/key-results/{planted.key_result.pk}/edit/", {"kr_title"}),
        ("initiative edit", f"/initiatives/{planted.initiative.pk}/edit/", {"initiative_title"}),
    ]
    if planted.closed_cycle is not None:
        pages.append(("cycle report", f"/cycles/{planted.closed_cycle.pk}/report/", set()))
        pages.append(("lessons of the cycle", f"/lessons/?cycle={planted.closed_cycle.pk}", set()))
    seen: set[str] = set()
    for name, url, expected in pages:
        page.goto(url)
        text = probe.check(name)
        shown = {field for field, token in t.items() if token in text}
        missing = {f for f in expected | everywhere if f in t} - shown
        assert not missing, f"{name}: does not show {sorted(missing)} (the test needs it to)"
        seen |= shown
    # The alignment tree's nodes arrive by htmx: expand them all.
    page.goto("/alignment/")
    for toggle in page.locator("[hx-get*='/children/']").all()[:20]:
        if toggle.is_visible():
            toggle.click()
    seen |= {f for f, token in t.items() if token in probe.check("alignment tree, expanded")}
    unseen = set(t) - seen
    assert not unseen, f"fields shown on no page visited: {sorted(unseen)}"
    page.goto(f"/initiatives/{planted.initiative.pk}/")
    screenshot(page, "xss-initiative")


def test_hostile_text_typed_into_the_forms_never_runs(
    page: Page, sign_in: SignIn, demo: Organization
) -> None:
    """Through the UI itself: a check-in note saved by htmx (the page updates in place) and a
    new objective's title; both shown back without running."""
    probe = Probe(page)
    sign_in(DEMO_LOGIN)
    kr = (
        KeyResult.objects.filter(
            organization=demo, objective__cycle__state="active", kind="increase"
        )
        .order_by("pk")
        .first()
    )
    assert kr is not None
    page.goto(f"/key-results/{kr.pk}/")
    note = "ZxNOTE " + PAYLOADS[0] + " " + PAYLOADS[1]
    page.get_by_label("New value").fill(str(kr.current_value + 1))
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("ZxNOTE").first).to_be_visible()
    probe.check("key result after an htmx check-in")
    assert CheckIn.objects.filter(key_result=kr, note=note).exists()
    page.reload()
    assert "ZxNOTE" in probe.check("key result, reloaded")
    page.goto("/objectives/new/")
    title = "ZxTITLE " + PAYLOADS[3] + " " + PAYLOADS[4]
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Create objective").click()
    expect(page.get_by_role("heading", name="ZxTITLE", exact=False)).to_be_visible()
    probe.check("new objective")
    page.goto("/objectives/")
    assert "ZxTITLE" in probe.check("objective list")
    screenshot(page, "xss-forms")
