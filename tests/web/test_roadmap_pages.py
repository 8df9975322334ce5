"""The roadmap page narrowed to a team (with the teams below it) and in pages, live and as of
a past day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from milepost.okrs.engine_io import organization_today
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.reports import timeline as timeline_module
from milepost.roadmap.services import update_initiative
from tests import factories
from tests.web.builders import Plan


def _url(plan: Plan, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"cycle": plan.cycle.pk, **params}.items())
    return f"{reverse('web:roadmap')}?{query}"


@pytest.fixture
def sub_team_work(plan: Plan) -> tuple[str, str]:
    """One initiative of a team below the plan's team, one of an unrelated team."""
    below = factories.make_team(plan.org, "core-web", name="Core web", parent=plan.team)
    elsewhere = factories.make_team(plan.org, "sales", name="Sales")
    day = plan.cycle.start_date
    for team, title in ((below, "Faster checkout"), (elsewhere, "Partner deals")):
        factories.make_initiative(
            plan.org,
            title=title,
            team=team,
            cycle=plan.cycle,
            start_date=day,
            end_date=day + dt.timedelta(days=20),
        )
    return "Faster checkout", "Partner deals"


def test_a_team_shows_its_work_and_that_of_the_teams_below_it(
    plan: Plan, member_client: Client, sub_team_work: tuple[str, str]
) -> None:
    below, elsewhere = sub_team_work
    everything = member_client.get(_url(plan))
    assert everything.context["bar_count"] == len(plan.initiatives) + 2

    response = member_client.get(_url(plan, team=plan.team.pk))
    html = response.content.decode()
    assert response.context["bar_count"] == len(plan.initiatives) + 1
    assert below in html
    assert elsewhere not in html
    assert "Core and the teams below it" in html
    # Grouping and zoom keep the team.
    assert f"team={plan.team.pk}&amp;group=team" in html


def test_a_team_without_work_says_so(plan: Plan, member_client: Client) -> None:
    idle = factories.make_team(plan.org, "idle", name="Idle team")
    html = member_client.get(_url(plan, team=idle.pk)).content.decode()
    assert "No initiatives of Idle team or the teams below it" in html
    assert "Show all teams" in html


def test_another_organizations_team_is_ignored(
    plan: Plan, member_client: Client, other_org: Organization
) -> None:
    theirs = factories.make_team(other_org, "theirs", name="Their secret team")
    response = member_client.get(_url(plan, team=theirs.pk))
    assert response.status_code == 200
    assert response.context["team"] is None
    assert response.context["bar_count"] == len(plan.initiatives)
    assert "Their secret team" not in response.content.decode()


def test_a_large_roadmap_is_paged(
    plan: Plan, member_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeline_module, "BARS_PER_PAGE", 1)
    bars = len(plan.initiatives)
    first = member_client.get(_url(plan, team=plan.team.pk))
    html = first.content.decode()
    assert first.context["bar_count"] == 1
    assert f"initiatives 1\N{EN DASH}1 of {bars}" in html
    assert f"Page 1 of {bars}" in html
    assert first.context["previous_page_url"] is None
    next_url = first.context["next_page_url"]
    assert f"team={plan.team.pk}" in next_url
    assert "page=2" in next_url
    assert 'rel="next"' in html

    last = member_client.get(_url(plan, team=plan.team.pk, page=bars))
    assert last.context["next_page_url"] is None
    assert f"page={bars - 1}" in last.context["previous_page_url"]
    # Not a number, or past the end: the first and the last page.
    assert member_client.get(_url(plan, page="x")).context["timeline"].page == 1
    assert member_client.get(_url(plan, page=10_000)).context["timeline"].page == bars


def test_the_roadmap_as_of_a_past_day_keeps_the_team_and_the_pages(
    plan: Plan,
    member_client: Client,
    org: Organization,
    sub_team_work: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timeline_module, "BARS_PER_PAGE", 1)
    day = organization_today(org) - dt.timedelta(days=3)
    response = member_client.get(_url(plan, team=plan.team.pk, as_of=day.isoformat()))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Core and the teams below it" in html
    assert response.context["bar_count"] == 1
    assert response.context["timeline"].total_bars == len(plan.initiatives) + 1
    assert response.context["next_page_url"] is not None
    assert sub_team_work[1] not in html


def test_a_drawing_is_kept_with_its_evaluation_until_the_plan_changes(
    plan: Plan, member_client: Client, admin: Actor
) -> None:
    first = member_client.get(_url(plan))
    again = member_client.get(_url(plan))
    assert again.context["svg"] is first.context["svg"]
    # Another grouping is another drawing.
    by_team = member_client.get(_url(plan, group="team"))
    assert by_team.context["svg"] is not first.context["svg"]

    update_initiative(
        actor=admin, initiative=plan.initiative, changes={"title": "Renamed on purpose"}
    )
    after = member_client.get(_url(plan))
    assert after.context["svg"] is not first.context["svg"]
    assert "Renamed on purpose" in after.content.decode()
