"""Every list page links to its CSV, and the link downloads exactly the rows the page shows
with its current filters (cycle, archived). Import and export pages are reachable from the
settings navigation."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from milepost.okrs.models import Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.roadmap.models import Initiative
from tests import factories
from tests.web.builders import Plan
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db

EXPORT_LINK = re.compile(r'data-testid="export-csv" href="([^"]+)"')


def _export(client: Client, page_url: str) -> tuple[Any, list[dict[str, str]]]:
    """The page, and the rows of the CSV its *Export CSV* link downloads."""
    page = client.get(page_url)
    assert page.status_code == 200
    links = EXPORT_LINK.findall(page.content.decode())
    assert len(links) == 1, f"{page_url} has {len(links)} Export CSV links"
    download: Any = client.get(html.unescape(links[0]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    body = b"".join(download.streaming_content).decode().removeprefix("\ufeff")
    return page, list(csv.DictReader(io.StringIO(body)))


def test_objectives_of_the_chosen_cycle_and_the_archived_ones(
    org: Organization, plan: Plan, member_client: Client
) -> None:
    hidden_team = factories.make_team(org, "secret")
    factories.make_objective(plan.cycle, "hidden", owner_team=hidden_team, visibility="team")
    gone = factories.make_objective(plan.cycle, "gone", title="Gone")
    Objective.objects.filter(pk=gone.pk).update(archived_at=timezone.now())
    later = factories.make_cycle(
        org,
        "next",
        start_date=plan.cycle.end_date + timedelta(days=1),
        end_date=plan.cycle.end_date + timedelta(days=90),
        state="planning",
    )
    factories.make_objective(later, "future", title="Future")
    url = reverse("web:objective-list")

    page, rows = _export(member_client, f"{url}?cycle={plan.cycle.pk}")
    shown = {o.key for o in page.context["objectives"]}
    assert {r["key"] for r in rows} == shown
    assert not shown & {"hidden", "gone", "future"}

    page, rows = _export(member_client, f"{url}?cycle={plan.cycle.pk}&archived=1")
    assert {r["key"] for r in rows} == {o.key for o in page.context["objectives"]} == {"gone"}

    page, rows = _export(member_client, f"{url}?cycle={later.pk}")
    assert {r["key"] for r in rows} == {o.key for o in page.context["objectives"]} == {"future"}


def test_initiatives_of_the_chosen_cycle_and_the_archived_ones(
    org: Organization, plan: Plan, member_client: Client
) -> None:
    # Work of no cycle, undated and linked to nothing: not on the cycle's list.
    factories.make_initiative(org, "loose", title="Loose work")
    shelved = factories.make_initiative(org, "shelved", title="Shelved")
    Initiative.objects.filter(pk=shelved.pk).update(archived_at=timezone.now())
    url = reverse("web:initiative-list")

    page, rows = _export(member_client, f"{url}?cycle={plan.cycle.pk}")
    shown = {i.key for i in page.context["initiatives"]}
    assert {r["key"] for r in rows} == shown
    assert shown
    assert not shown & {"loose", "shelved"}

    page, rows = _export(member_client, f"{url}?archived=1")
    assert {r["key"] for r in rows} == {i.key for i in page.context["initiatives"]} == {"shelved"}


def test_a_key_results_check_ins_and_an_initiatives_tasks(
    plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    page, rows = _export(member_client, reverse("web:key-result-detail", args=[kr.pk]))
    assert len(rows) == len(page.context["checkins"]) > 0
    assert {r["key_result"] for r in rows} == {f"{kr.objective.key}/{kr.key}"}

    initiative = plan.initiative
    page, rows = _export(member_client, reverse("web:initiative-detail", args=[initiative.pk]))
    assert len(rows) == page.context["task_count"] > 0
    assert {r["initiative"] for r in rows} == {initiative.key}


def test_members_and_teams(org: Organization, plan: Plan, admin: Actor) -> None:
    client = client_for(admin)
    page, rows = _export(client, reverse("web:member-list"))
    assert [r["email"] for r in rows] == [m.user.email for m in page.context["members"]]
    assert {r["role"] for r in rows} >= {"admin", "member"}

    old = factories.make_team(org, "old", name="Old team")
    old.archived_at = timezone.now()
    old.save(update_fields=["archived_at"])
    page, rows = _export(client, reverse("web:team-list"))
    shown = [t.key for t in page.context["teams"]] + [t.key for t in page.context["archived"]]
    assert [r["key"] for r in rows] == shown
    assert "old" in shown
    counts = page.context["counts"]
    assert {r["key"]: int(r["members"]) for r in rows} == {
        t.key: counts.get(t.pk, 0) for t in [*page.context["teams"], *page.context["archived"]]
    }


def test_members_csv_is_for_admins(plan: Plan, member_client: Client) -> None:
    assert member_client.get(reverse("web:export-members")).status_code == 403


def test_findings_and_priorities_of_the_chosen_cycle(plan: Plan, member_client: Client) -> None:
    url = reverse("web:plan-health") + f"?cycle={plan.cycle.pk}"
    page, rows = _export(member_client, url)
    shown = [f for group in page.context["groups"] for f in group.findings]
    assert len(rows) == page.context["total"] == len(shown) > 0
    assert sorted((r["code"], r["message"]) for r in rows) == sorted(
        (f.code, f.message) for f in shown
    )

    page, rows = _export(member_client, reverse("web:priorities") + f"?cycle={plan.cycle.pk}")
    assert [r["initiative"] for r in rows] == [
        row["initiative"].key for row in page.context["rows"]
    ]
    assert [int(r["rank"]) for r in rows] == [row["result"].rank for row in page.context["rows"]]


@pytest.mark.parametrize(("role", "sees_plan_files"), [("admin", True), ("member", False)])
def test_import_and_export_pages_are_in_the_settings_navigation(
    request: pytest.FixtureRequest, plan: Plan, role: str, sees_plan_files: bool
) -> None:
    actor: Actor = request.getfixturevalue(role)
    page = client_for(actor).get(reverse("web:settings-profile")).content.decode()
    assert f'href="{reverse("web:csv-import")}"' in page
    assert (f'href="{reverse("web:plan-import")}"' in page) is sees_plan_files
