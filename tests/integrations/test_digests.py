"""The weekly digest for team leads: status changes (from the audit log the first week, then
against the previous digest's snapshot), new findings, stale key results; only the lead's
teams; once a week."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from milepost.integrations.models import NotificationKind, NotificationLog, NotificationState
from milepost.integrations.reminders import run_notifications, week_key
from milepost.okrs.engine_io import recompute_organization
from milepost.okrs.key_results import record_checkin
from milepost.organizations.access import actor_for
from milepost.organizations.models import Organization, Role
from tests import factories


@pytest.fixture(autouse=True)
def _send_any_hour(settings: Any) -> None:
    settings.BASE_URL = "https://okr.example.com"
    settings.NOTIFICATION_SEND_HOUR = 0


@pytest.fixture
def now(org: Organization) -> dt.datetime:
    """The real current time (check-ins and audit events carry it); today is check-in day."""
    current = timezone.now()
    org.default_checkin_weekday = current.weekday()
    org.save()
    return current


@pytest.fixture
def team_world(org: Organization, now: dt.datetime) -> dict[str, Any]:
    today = now.date()
    cycle = factories.make_cycle(
        org, "q", start_date=today - dt.timedelta(days=40), end_date=today + dt.timedelta(days=50)
    )
    lea = factories.make_member(org, Role.MEMBER, "lea@acme.test")
    bob = factories.make_member(org, Role.MEMBER, "bob@acme.test")
    platform = factories.make_team(org, "platform", name="Platform", lead=lea)
    factories.add_to_team(platform, lea)
    factories.add_to_team(platform, bob)
    objective = factories.make_objective(
        cycle, "fast", title="Fast and reliable", owner_team=platform, visibility="team"
    )
    latency = factories.make_key_result(
        objective, "latency", title="p95 latency budget met", owner=bob
    )
    uptime = factories.make_key_result(objective, "uptime", title="Uptime 99.9", owner=bob)
    other_team = factories.make_team(org, "growth", name="Growth")
    other = factories.make_key_result(
        factories.make_objective(cycle, "grow", owner_team=other_team),
        "signups",
        title="Sign-ups up",
    )
    recompute_organization(org)
    return {
        "cycle": cycle,
        "lea": lea,
        "bob": bob,
        "team": platform,
        "latency": latency,
        "uptime": uptime,
        "other": other,
    }


def digests_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to and m.subject.startswith("Weekly digest")]


def test_first_digest_reports_the_weeks_status_changes_findings_and_stale_key_results(
    org: Organization, team_world: dict[str, Any], now: dt.datetime
) -> None:
    latency = team_world["latency"]
    latency.refresh_from_db()
    assert latency.status == "off_track"  # 40 days in, nothing done
    bob = actor_for(team_world["bob"], org)
    record_checkin(actor=bob, key_result=latency, value=Decimal(45), confidence=7)
    latency.refresh_from_db()
    assert latency.status == "on_track"

    run_notifications(now + dt.timedelta(seconds=1))

    (digest,) = digests_to("lea@acme.test")
    assert "Platform" in digest.subject
    assert "1 status change" in digest.subject
    body = digest.body
    assert "p95 latency budget met (Platform): off track -> on track" in body
    assert f"https://okr.example.com/key-results/{latency.pk}/" in body
    # Uptime has had no check-in since the cycle began (40 days): stale, and no initiative
    # works on it: a new finding.
    stale_part = body.split("STALE KEY RESULTS", 1)[1]
    assert "Uptime 99.9" in stale_part
    findings_part = body.split("NEW FINDINGS", 1)[1].split("STALE KEY RESULTS", 1)[0]
    assert "No initiative works on" in findings_part
    assert "Uptime 99.9" in findings_part
    # Another team's key results are not in Lea's digest.
    assert "Sign-ups up" not in body
    html = digest.alternatives[0].content
    assert "Status changes in the last 7 days" in html
    row = NotificationLog.objects.get(kind=NotificationKind.DIGEST, user=team_world["lea"])
    assert row.period_key == week_key(now.date())
    snapshot: dict[str, Any] = row.snapshot or {}
    assert snapshot["statuses"][str(latency.pk)] == "on_track"
    assert snapshot["findings"]
    # Team members who lead nothing get no digest; Bob gets his reminder.
    assert digests_to("bob@acme.test") == []
    assert any("Check-in day" in m.subject for m in mail.outbox if m.to == ["bob@acme.test"])


def test_next_digest_compares_with_the_previous_one(
    org: Organization, team_world: dict[str, Any], now: dt.datetime
) -> None:
    run_notifications(now)
    assert len(digests_to("lea@acme.test")) == 1
    run_notifications(now + dt.timedelta(hours=2))  # same week: nothing more
    assert len(digests_to("lea@acme.test")) == 1

    latency = team_world["latency"]
    bob = actor_for(team_world["bob"], org)
    record_checkin(actor=bob, key_result=latency, value=Decimal(45))  # off → on track
    # A new initiative of the team, linked to no key result: a new finding.
    factories.make_initiative(
        org, "cache", title="Edge cache", team=team_world["team"], cycle=team_world["cycle"]
    )

    next_week = now + dt.timedelta(days=7)
    run_notifications(next_week)
    _first, second = digests_to("lea@acme.test")
    assert f"since your digest of {week_key(now.date())}" in second.body
    assert "p95 latency budget met (Platform): off track -> on track" in second.body
    findings_part = second.body.split("NEW FINDINGS", 1)[1].split("STALE KEY RESULTS", 1)[0]
    assert "Edge cache" in findings_part
    assert "No initiative works on" not in findings_part  # already reported last week
    assert "Uptime 99.9" in second.body.split("STALE KEY RESULTS", 1)[1]  # still stale
    assert NotificationLog.objects.filter(kind="digest", state=NotificationState.SENT).count() == 2


def test_a_lead_with_nothing_to_report_gets_no_digest(
    org: Organization, team_world: dict[str, Any], now: dt.datetime
) -> None:
    quiet = factories.make_member(org, Role.MEMBER, "quiet@acme.test")
    factories.make_team(org, "empty", name="Empty team", lead=quiet)
    run_notifications(now)
    assert digests_to("quiet@acme.test") == []
    row = NotificationLog.objects.get(kind="digest", user=quiet)
    assert row.state == NotificationState.SKIPPED


def test_digest_follows_the_leads_own_day_and_channel(
    org: Organization, team_world: dict[str, Any], now: dt.datetime
) -> None:
    from milepost.organizations.models import Membership

    Membership.objects.filter(user=team_world["lea"]).update(
        checkin_weekday=(now.weekday() + 1) % 7
    )
    run_notifications(now)
    assert digests_to("lea@acme.test") == []
    run_notifications(now + dt.timedelta(days=1))
    assert len(digests_to("lea@acme.test")) == 1
    Membership.objects.filter(user=team_world["lea"]).update(notification_channel="none")
    run_notifications(now + dt.timedelta(days=8))
    assert len(digests_to("lea@acme.test")) == 1


def test_digest_chat_text_escapes_names(
    org: Organization, team_world: dict[str, Any], now: dt.datetime
) -> None:
    team = team_world["team"]
    team.name = "Platform *core* [ops]"
    team.save()
    run_notifications(now)
    row = NotificationLog.objects.get(kind="digest")
    assert "Platform \\*core\\* \\[ops\\]" in row.body_chat
    assert "https://okr.example.com/health/" in row.body_chat


def test_a_finding_about_an_objective_the_lead_cannot_see_stays_out_of_the_digest(
    org: Organization, team_world: dict[str, Any], now: dt.datetime
) -> None:
    from milepost.roadmap.models import InitiativeKeyResult

    today = now.date()
    boss = factories.make_member(org, Role.ADMIN, "boss@acme.test")
    secret = factories.make_objective(
        team_world["cycle"], "secret", title="Secret plan", owner_user=boss, visibility="private"
    )
    hush = factories.make_key_result(secret, "hush", title="Quiet acquisition", owner=boss)
    # The lead's team works on it, and that work ends after the cycle: a finding naming both.
    late = factories.make_initiative(
        org,
        "late",
        title="Late work",
        team=team_world["team"],
        cycle=team_world["cycle"],
        start_date=today,
        end_date=team_world["cycle"].end_date + dt.timedelta(days=30),
    )
    InitiativeKeyResult.objects.create(organization=org, initiative=late, key_result=hush)
    recompute_organization(org)

    run_notifications(now + dt.timedelta(seconds=1))

    (digest,) = digests_to("lea@acme.test")
    assert "Uptime 99.9" in digest.body  # the digest is there, with the lead's own findings
    assert "Quiet acquisition" not in digest.body
    assert "Secret plan" not in digest.body
    assert "secret/hush" not in digest.body
