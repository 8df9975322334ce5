"""The dashboard of a large organization stays a page: teams needing attention first, a few
objectives per team (those needing attention first), a link to the rest; a team's own
dashboard lists all its objectives."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from milepost.okrs.engine_io import organization_today
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.web.views.dashboard import OBJECTIVES_PER_TEAM, TEAMS_SHOWN
from tests import factories
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


def _teams_section(html: str) -> str:
    """The "Objectives by team" card (the team filter above it names every team, the
    findings beside it name objectives)."""
    start = html.index('id="teams-heading"')
    return html[start : html.index("</section>", start)]


def test_a_large_dashboard_shows_the_teams_needing_attention_first(
    org: Organization, admin: Actor
) -> None:
    today = organization_today(org)
    cycle = factories.make_cycle(
        org,
        "now",
        state="active",
        start_date=today - dt.timedelta(days=20),
        end_date=today + dt.timedelta(days=60),
    )
    calm = [
        factories.make_team(org, f"calm-{i:02d}", name=f"Calm {i:02d}") for i in range(TEAMS_SHOWN)
    ]
    for team in calm:
        factories.make_objective(cycle, title=f"Fine goal of {team.name}", owner_team=team)
    busy = factories.make_team(org, "zz-busy", name="Zz Busy team")
    for i in range(OBJECTIVES_PER_TEAM + 3):
        factories.make_objective(cycle, title=f"Busy goal {i}", owner_team=busy)
    late = factories.make_objective(
        cycle, title="Busy goal off track", owner_team=busy, status="off_track"
    )
    client = client_for(admin)
    html = client.get(reverse("web:dashboard") + f"?cycle={cycle.pk}").content.decode()
    page = _teams_section(html)
    # Alphabetically last, but the one team needing attention comes first.
    assert page.index("Zz Busy team") < page.index("Calm 00")
    assert "1 needing attention" in page
    assert page.index("Busy goal off track") < page.index("Busy goal 0")
    total = OBJECTIVES_PER_TEAM + 4
    assert page.count("Busy goal") == OBJECTIVES_PER_TEAM
    assert f"All {total} objectives of Zz Busy team" in page
    # One calm team does not fit: it is counted, not listed.
    assert "1 more team" in page
    assert "Calm 11" not in page

    team_html = client.get(
        reverse("web:dashboard") + f"?cycle={cycle.pk}&team={busy.pk}"
    ).content.decode()
    team_page = _teams_section(team_html)
    assert team_page.count("Busy goal") == total
    assert f"/objectives/{late.pk}/" in team_page
    assert "more team" not in team_page
