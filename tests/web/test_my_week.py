"""My week lists as "to check in" exactly what the check-in reminder would list, and its week
starts on the member's own check-in day."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from milepost.integrations.reminders import key_results_due
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization
from milepost.web.views.home import week_start
from tests import factories


def _section(html: str) -> tuple[str, str]:
    """The "Key results to check in" card: (the due list, the "checked in" details)."""
    start = html.index('aria-labelledby="due-heading"')
    card = html[start : html.index("</section>", start)]
    due, _, checked = card.partition("<details")
    return due, checked


@pytest.mark.django_db
def test_the_due_list_is_the_reminders_list(
    org: Organization, member: Actor, member_client: Client
) -> None:
    assert member.user is not None
    ana = member.user
    today = organization_today(org)
    cycle = factories.make_cycle(
        org,
        "now",
        start_date=today - dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=60),
    )
    objective = factories.make_objective(cycle, "grow", title="Grow")
    now = timezone.now()

    def kr(
        key: str, title: str, last: int | None = None, under: Objective = objective, **extra: Any
    ) -> KeyResult:
        made = factories.make_key_result(under, key, title=title, **extra)
        if last is not None:
            KeyResult.objects.filter(pk=made.pk).update(
                last_checkin_at=now - dt.timedelta(days=last)
            )
        return made

    kr("never", "Never checked in", owner=ana)
    kr("older", "Checked in eight days ago", last=8, owner=ana)
    kr("recent", "Checked in two days ago", last=2, owner=ana)
    kr("done", "Finished early", status="done", owner=ana)
    kr(
        "uptime",
        "Uptime holds",
        last=8,
        owner=ana,
        status="done",
        kind="maintain",
        start_value=Decimal("99.9"),
        target_value=Decimal("99.5"),
    )
    for state in ("cancelled", "closed"):
        dropped = factories.make_objective(cycle, state, title=f"A {state} objective", state=state)
        kr(f"{state}-kr", f"Under a {state} objective", owner=ana, under=dropped)
    kr("theirs", "Someone else's")

    html = member_client.get(reverse("web:home")).content.decode()
    due, checked = _section(html)

    titles = {k.title for k in KeyResult.objects.all()}
    shown_due = {t for t in titles if t in due}
    assert shown_due == {"Never checked in", "Checked in eight days ago", "Uptime holds"}
    # The reminder would list the same key results.
    assert shown_due == {k.title for k in key_results_due(member, timezone.now())}
    assert {t for t in titles if t in checked} == {"Checked in two days ago"}
    assert "3 due · 1 checked in" in due
    for absent in ("Finished early", "Under a cancelled objective", "Under a closed objective"):
        assert absent not in html


@pytest.mark.django_db
def test_the_week_starts_on_the_members_own_check_in_day(
    org: Organization, member: Actor, member_client: Client
) -> None:
    assert member.user is not None
    today = organization_today(org)
    own_day = (org.default_checkin_weekday + 3) % 7
    Membership.objects.filter(user=member.user, organization=org).update(checkin_weekday=own_day)

    html = member_client.get(reverse("web:home")).content.decode()

    subtitle = re.search(r"Week of ([^<·]+) ·", html)
    assert subtitle is not None
    expected = week_start(today, own_day)
    assert subtitle.group(1).strip() == f"{expected.day} {expected:%B %Y}"
    assert expected != week_start(today, org.default_checkin_weekday)
