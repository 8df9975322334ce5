"""Check-in reminders: the right people on the right day (organization time zone, member
override, organization default), the key results listed, the link to the check-in form,
nothing sent twice across restarts, retries, chat through a local receiver, escaping; and the
nightly recompute (once per organization and day)."""

from __future__ import annotations

import datetime as dt
import json
import smtplib
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from milepost.integrations import notifications, reminders
from milepost.integrations.models import (
    AllowedHost,
    ChatWebhook,
    NotificationKind,
    NotificationLog,
    NotificationState,
)
from milepost.integrations.reminders import run_notifications
from milepost.okrs.models import KeyResult, Objective
from milepost.organizations.access import actor_for
from milepost.organizations.models import Membership, Organization, Role
from tests import factories
from tests.integrations.conftest import LocalServer, Reply

UTC = dt.UTC
# Monday 23 November 2026 (ISO week 48).
MONDAY = dt.date(2026, 11, 23)


def at(day: dt.date, hour: int, minute: int = 0, tz: str = "UTC") -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(tz))


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.BASE_URL = "https://okr.example.com"
    settings.NOTIFICATION_SEND_HOUR = 9


@pytest.fixture
def world(org: Organization) -> dict[str, Any]:
    """An active cycle with an objective; Ana owns two key results due for a check-in."""
    cycle = factories.make_cycle(
        org, "q4", start_date=dt.date(2026, 10, 1), end_date=dt.date(2026, 12, 31)
    )
    objective = factories.make_objective(cycle, "grow", title="Grow the business")
    ana = factories.make_member(org, Role.MEMBER, "ana@acme.test")
    ana.full_name = "Ana Lima"
    ana.save(update_fields=["full_name"])
    revenue = factories.make_key_result(
        objective, "revenue", title="Revenue to 100k", owner=ana, unit="kEUR"
    )
    signups = factories.make_key_result(objective, "signups", title="Weekly sign-ups", owner=ana)
    return {"cycle": cycle, "objective": objective, "ana": ana, "krs": [revenue, signups]}


def sent_to(address: str) -> list[EmailMultiAlternatives]:
    return [m for m in mail.outbox if address in m.to]  # type: ignore[misc]


def html_of(message: Any) -> str:
    return str(message.alternatives[0].content)


# --- who gets a reminder, and when ------------------------------------------------------------


def test_reminder_goes_out_on_the_check_in_day_from_nine_in_the_org_time_zone(
    org: Organization, world: dict[str, Any]
) -> None:
    org.timezone = "America/New_York"
    org.save()
    # Monday 08:00 in New York: too early.
    run_notifications(at(MONDAY, 8, tz="America/New_York"))
    # Sunday 21:00 in New York is already Monday 02:00 in UTC: not Monday there.
    run_notifications(at(MONDAY, 2))
    assert mail.outbox == []
    run_notifications(at(MONDAY, 9, 5, tz="America/New_York"))
    assert len(sent_to("ana@acme.test")) == 1
    row = NotificationLog.objects.get(kind=NotificationKind.REMINDER)
    assert row.period_key == "2026-W48"
    assert row.state == NotificationState.SENT
    assert row.channel == "email"


def test_a_time_zone_ahead_of_utc_gets_its_monday_on_utc_sunday(
    org: Organization, world: dict[str, Any]
) -> None:
    org.timezone = "Asia/Tokyo"
    org.save()
    run_notifications(at(MONDAY - dt.timedelta(days=1), 23, 30))  # Monday 08:30 in Tokyo
    assert mail.outbox == []
    run_notifications(at(MONDAY, 0, 30))  # Monday 09:30 in Tokyo, still Monday in UTC
    assert len(sent_to("ana@acme.test")) == 1


def test_member_day_overrides_the_organization_default(
    org: Organization, world: dict[str, Any]
) -> None:
    Membership.objects.filter(user=world["ana"]).update(checkin_weekday=3)  # Thursday
    run_notifications(at(MONDAY, 10))
    assert sent_to("ana@acme.test") == []
    run_notifications(at(MONDAY + dt.timedelta(days=3), 10))
    assert len(sent_to("ana@acme.test")) == 1


def test_organization_default_day_applies_to_members_who_did_not_choose(
    org: Organization, world: dict[str, Any]
) -> None:
    org.default_checkin_weekday = 2  # Wednesday
    org.save()
    bob = factories.make_member(org, Role.MEMBER, "bob@acme.test")
    factories.make_key_result(world["objective"], "nps", owner=bob)
    Membership.objects.filter(user=bob).update(checkin_weekday=0)  # Bob keeps Monday
    run_notifications(at(MONDAY, 10))
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]
    run_notifications(at(MONDAY + dt.timedelta(days=2), 10))
    assert len(sent_to("ana@acme.test")) == 1
    assert len(sent_to("bob@acme.test")) == 1


def test_channel_none_sends_nothing_and_the_member_choice_beats_the_default(
    org: Organization, world: dict[str, Any]
) -> None:
    Membership.objects.filter(user=world["ana"]).update(notification_channel="none")
    bob = factories.make_member(org, Role.MEMBER, "bob@acme.test")
    factories.make_key_result(world["objective"], "nps", owner=bob)
    run_notifications(at(MONDAY, 10))
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]

    # The organization turns reminders off by default; a member who chose email keeps them.
    mail.outbox.clear()
    org.default_notification_channel = "none"
    org.save()
    Membership.objects.filter(user=world["ana"]).update(notification_channel="email")
    run_notifications(at(MONDAY + dt.timedelta(days=7), 10))
    assert [m.to for m in mail.outbox] == [["ana@acme.test"]]


def test_archived_members_inactive_people_and_archived_organizations_get_nothing(
    org: Organization, world: dict[str, Any]
) -> None:
    world["ana"].is_active = False
    world["ana"].save(update_fields=["is_active"])
    run_notifications(at(MONDAY, 10))
    world["ana"].is_active = True
    world["ana"].save(update_fields=["is_active"])
    org.archived_at = timezone.now()
    org.save()
    run_notifications(at(MONDAY, 11))
    assert mail.outbox == []


# --- what the reminder lists ---------------------------------------------------------------------


def test_reminder_lists_exactly_the_key_results_due_for_a_check_in(
    org: Organization, world: dict[str, Any]
) -> None:
    ana = world["ana"]
    objective: Objective = world["objective"]
    now = at(MONDAY, 10)
    recent = factories.make_key_result(
        objective, "recent", title="Checked in two days ago", owner=ana
    )
    KeyResult.objects.filter(pk=recent.pk).update(last_checkin_at=now - dt.timedelta(days=2))
    older = factories.make_key_result(objective, "older", title="Checked in a week ago", owner=ana)
    KeyResult.objects.filter(pk=older.pk).update(last_checkin_at=now - dt.timedelta(days=7))
    factories.make_key_result(objective, "done", title="Already done", owner=ana, status="done")
    factories.make_key_result(
        objective, "gone", title="Archived key result", owner=ana, archived_at=now
    )
    factories.make_key_result(objective, "theirs", title="Someone else's")
    closed = factories.make_objective(world["cycle"], "closed", state="closed")
    factories.make_key_result(closed, "c", title="Under a closed objective", owner=ana)
    planning = factories.make_cycle(org, "q1", state="planning")
    factories.make_key_result(
        factories.make_objective(planning, "next", state="draft"),
        "p",
        title="Next cycle",
        owner=ana,
    )
    ended = factories.make_cycle(org, "q3", state="closed")
    factories.make_key_result(
        factories.make_objective(ended, "old"), "e", title="Last cycle", owner=ana
    )

    run_notifications(now)

    (message,) = sent_to("ana@acme.test")
    listed = {kr.title for kr in KeyResult.objects.filter(owner=ana) if kr.title in message.body}
    assert listed == {"Revenue to 100k", "Weekly sign-ups", "Checked in a week ago"}
    assert "3 key results" in message.subject
    assert NotificationLog.objects.get(kind="reminder").items == 3


def test_a_held_maintain_key_result_is_still_reminded_every_week(
    org: Organization, world: dict[str, Any]
) -> None:
    ana = world["ana"]
    objective: Objective = world["objective"]
    now = at(MONDAY, 10)
    KeyResult.objects.filter(owner=ana).update(last_checkin_at=now - dt.timedelta(days=1))
    # Uptime at or above 99.5 holds at 99.9, so it is done; its last check-in was 8 days ago.
    held = factories.make_key_result(
        objective,
        "uptime",
        title="Uptime holds",
        owner=ana,
        kind="maintain",
        maintain_direction="at_least",
        start_value=Decimal("99.9"),
        target_value=Decimal("99.5"),
        status="done",
    )
    KeyResult.objects.filter(pk=held.pk).update(last_checkin_at=now - dt.timedelta(days=8))
    # A done key result of any other kind asks for nothing more.
    factories.make_key_result(objective, "done", title="Already done", owner=ana, status="done")

    assert [kr.title for kr in reminders.key_results_due(actor_for(ana, org), now)] == [
        "Uptime holds"
    ]
    run_notifications(now)
    (message,) = sent_to("ana@acme.test")
    assert "Uptime holds" in message.body
    assert "Already done" not in message.body
    assert NotificationLog.objects.get(kind="reminder").items == 1
    held.refresh_from_db()
    assert held.status == "done"  # still held after the nightly recompute


def test_each_key_result_links_straight_to_its_check_in_form(
    org: Organization, world: dict[str, Any], client: Client
) -> None:
    run_notifications(at(MONDAY, 10))
    (message,) = sent_to("ana@acme.test")
    for kr in world["krs"]:
        link = f"https://okr.example.com/key-results/{kr.pk}/#checkin"
        assert link in message.body
        assert f'href="{link}"' in html_of(message)
    # The link opens the key result's page, which has the check-in form at that anchor.
    client.force_login(world["ana"])
    url = urlsplit(f"https://okr.example.com/key-results/{world['krs'][0].pk}/#checkin")
    page = client.get(url.path).content.decode()
    assert f'id="{url.fragment}"' in page
    assert 'name="value"' in page


def test_nothing_due_sends_nothing_and_is_not_looked_at_again_that_week(
    org: Organization,
    world: dict[str, Any],
) -> None:
    now = at(MONDAY, 10)
    KeyResult.objects.filter(owner=world["ana"]).update(last_checkin_at=now - dt.timedelta(days=1))
    run_notifications(now)
    assert mail.outbox == []
    row = NotificationLog.objects.get(kind="reminder")
    assert row.state == NotificationState.SKIPPED
    # A key result that becomes due later that day waits for next week's reminder.
    KeyResult.objects.filter(owner=world["ana"]).update(last_checkin_at=None)
    run_notifications(now + dt.timedelta(hours=1))
    assert mail.outbox == []


def test_reminder_escapes_titles_in_html_and_chat(org: Organization, world: dict[str, Any]) -> None:
    KeyResult.objects.filter(pk=world["krs"][0].pk).update(
        title='<script>alert("x")</script> [click](http://evil.test) @channel'
    )
    run_notifications(at(MONDAY, 10))
    (message,) = sent_to("ana@acme.test")
    html = html_of(message)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    chat = NotificationLog.objects.get(kind="reminder").body_chat
    assert "\\<script\\>" in chat
    assert "\\[click\\](http://evil.test)" in chat
    assert "@channel" not in chat  # a zero-width space breaks the mention


# --- never twice ----------------------------------------------------------------------------------


def test_running_again_in_the_same_week_sends_nothing_more(
    org: Organization, world: dict[str, Any]
) -> None:
    run_notifications(at(MONDAY, 10))
    run_notifications(at(MONDAY, 10, 1))
    run_notifications(at(MONDAY, 15))
    assert len(sent_to("ana@acme.test")) == 1
    # The next week is a new period.
    run_notifications(at(MONDAY + dt.timedelta(days=7), 10))
    assert len(sent_to("ana@acme.test")) == 2
    assert sorted(
        NotificationLog.objects.filter(kind="reminder").values_list("period_key", flat=True)
    ) == [
        "2026-W48",
        "2026-W49",
    ]


def test_a_crash_between_claim_and_send_sends_it_once_after_the_restart(
    org: Organization, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(now: dt.datetime, **kwargs: Any) -> Any:
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(notifications, "deliver_due", die)
        with pytest.raises(SystemExit):
            run_notifications(at(MONDAY, 10))
    row = NotificationLog.objects.get(kind="reminder")
    assert row.state == NotificationState.PENDING  # claimed, with the message, not sent
    assert mail.outbox == []
    run_notifications(at(MONDAY, 10, 1))  # the restarted worker
    run_notifications(at(MONDAY, 10, 2))
    assert len(sent_to("ana@acme.test")) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (NotificationState.SENT, 1)


def test_a_crash_after_sending_before_recording_it_is_never_sent_again(
    org: Organization, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_finish = notifications.finish_attempt

    def die(row: NotificationLog, now: dt.datetime, error: str | None) -> None:
        if row.kind == NotificationKind.REMINDER:
            raise SystemExit("killed")
        real_finish(row, now, error)

    with monkeypatch.context() as patch:
        patch.setattr(notifications, "finish_attempt", die)
        with pytest.raises(SystemExit):
            run_notifications(at(MONDAY, 10))
    assert len(sent_to("ana@acme.test")) == 1  # it went out, but the row still says sending
    run_notifications(at(MONDAY, 10, 5))  # restarted within the lease: left alone
    run_notifications(at(MONDAY, 11))  # after the lease: interrupted, not resent
    run_notifications(at(MONDAY, 12))
    assert len(sent_to("ana@acme.test")) == 1
    row = NotificationLog.objects.get(kind="reminder")
    assert row.state == NotificationState.INTERRUPTED


def test_two_workers_claiming_the_same_reminder_send_it_once(
    org: Organization, world: dict[str, Any]
) -> None:
    now = at(MONDAY, 10)
    first = notifications.claim(
        organization=org,
        user=world["ana"],
        kind=NotificationKind.REMINDER,
        period_key="2026-W48",
        retry_until=now + dt.timedelta(days=1),
        now=now,
    )
    second = notifications.claim(
        organization=org,
        user=world["ana"],
        kind=NotificationKind.REMINDER,
        period_key="2026-W48",
        retry_until=now + dt.timedelta(days=1),
        now=now,
    )
    assert first is not None
    assert second is None
    assert notifications.start_attempt(first, now) is True
    stale_copy = NotificationLog.objects.get(pk=first.pk)
    stale_copy.state = NotificationState.PENDING  # what a second worker read a moment ago
    assert notifications.start_attempt(stale_copy, now) is False


@pytest.fixture
def flaky_smtp(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Email fails while the list holds a positive count (one failure per attempt)."""
    failures = [0]
    real_send = EmailMultiAlternatives.send

    def send(self: EmailMultiAlternatives, *args: Any, **kwargs: Any) -> int:
        if failures[0] > 0:
            failures[0] -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    return failures


def test_a_failed_send_is_retried_later_in_the_same_period(
    org: Organization, world: dict[str, Any], flaky_smtp: list[int]
) -> None:
    flaky_smtp[0] = 1
    now = at(MONDAY, 10)
    run_notifications(now)
    row = NotificationLog.objects.get(kind="reminder")
    assert (row.state, row.attempts) == (NotificationState.PENDING, 1)
    assert "Connection unexpectedly closed" in row.last_error
    assert row.next_attempt_at == now + notifications.FIRST_BACKOFF
    run_notifications(now + dt.timedelta(minutes=1))  # not yet
    assert mail.outbox == []
    run_notifications(now + dt.timedelta(minutes=6))
    run_notifications(now + dt.timedelta(minutes=30))
    assert len(sent_to("ana@acme.test")) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (NotificationState.SENT, 2, "")


def test_retries_stop_after_the_last_attempt(
    org: Organization, world: dict[str, Any], flaky_smtp: list[int]
) -> None:
    flaky_smtp[0] = 100
    now = at(MONDAY, 10)
    for minutes in range(0, 60 * 24, 30):
        run_notifications(now + dt.timedelta(minutes=minutes))
    row = NotificationLog.objects.get(kind="reminder")
    assert (row.state, row.attempts) == (NotificationState.FAILED, notifications.MAX_ATTEMPTS)
    assert mail.outbox == []


def test_retries_stop_when_the_week_ends(
    org: Organization, world: dict[str, Any], flaky_smtp: list[int]
) -> None:
    flaky_smtp[0] = 100
    Membership.objects.filter(user=world["ana"]).update(checkin_weekday=6)  # Sunday
    sunday = MONDAY + dt.timedelta(days=6)
    run_notifications(at(sunday, 22, 30))
    run_notifications(at(sunday, 23, 50))
    row = NotificationLog.objects.get(kind="reminder")
    assert row.state == NotificationState.FAILED
    assert row.attempts == 2


# --- chat ----------------------------------------------------------------------------------------


def test_chat_reminder_reaches_a_local_webhook_receiver(
    org: Organization, world: dict[str, Any], server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/hooks/okr"] = Reply(200, b"ok")
    ChatWebhook.objects.create(
        organization=org,
        user=world["ana"],
        url=f"json://127.0.0.1:{server.port}/hooks/okr",
        service="JSON",
    )
    Membership.objects.filter(user=world["ana"]).update(notification_channel="chat")
    run_notifications(at(MONDAY, 10))
    assert mail.outbox == []
    (request,) = server.received
    assert request.method == "POST"
    assert request.path == "/hooks/okr"
    body = json.loads(request.body)
    assert "Check-in day" in body["title"]
    for kr in world["krs"]:
        assert f"https://okr.example.com/key-results/{kr.pk}/#checkin" in body["message"]
    assert "Revenue to 100k" in body["message"]
    assert NotificationLog.objects.get(kind="reminder").channel == "chat"


def test_chat_failure_is_recorded_and_retried(
    org: Organization, world: dict[str, Any], server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/hooks/okr"] = Reply(500, b"down")
    ChatWebhook.objects.create(
        organization=org,
        user=world["ana"],
        url=f"json://127.0.0.1:{server.port}/hooks/okr",
        service="JSON",
    )
    Membership.objects.filter(user=world["ana"]).update(notification_channel="chat")
    now = at(MONDAY, 10)
    run_notifications(now)
    row = NotificationLog.objects.get(kind="reminder")
    assert row.state == NotificationState.PENDING
    assert "500" in row.last_error
    server.routes["/hooks/okr"] = Reply(200, b"ok")
    run_notifications(now + dt.timedelta(minutes=6))
    row.refresh_from_db()
    assert row.state == NotificationState.SENT
    assert len(server.received) == 2


def test_chat_to_a_host_no_longer_allowed_is_not_sent(
    org: Organization, world: dict[str, Any], server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/hooks/okr"] = Reply(200, b"ok")
    ChatWebhook.objects.create(
        organization=org,
        user=world["ana"],
        url=f"json://127.0.0.1:{server.port}/hooks/okr",
        service="JSON",
    )
    Membership.objects.filter(user=world["ana"]).update(notification_channel="chat")
    allowed.delete()
    run_notifications(at(MONDAY, 10))
    assert server.received == []
    row = NotificationLog.objects.get(kind="reminder")
    assert "allowed hosts" in row.last_error


def test_chat_without_a_webhook_falls_back_to_email(
    org: Organization, world: dict[str, Any]
) -> None:
    org.default_notification_channel = "chat"
    org.save()
    run_notifications(at(MONDAY, 10))
    assert len(sent_to("ana@acme.test")) == 1
    assert NotificationLog.objects.get(kind="reminder").channel == "email"


# --- organizations are separate -------------------------------------------------------------------


def test_each_organization_on_its_own_calendar(
    org: Organization, other_org: Organization, world: dict[str, Any]
) -> None:
    other_org.timezone = "Pacific/Auckland"  # Monday 10:00 UTC is Monday 23:00 there
    other_org.default_checkin_weekday = 1  # Tuesday
    other_org.save()
    zoe = factories.make_member(other_org, Role.MEMBER, "zoe@globex.test")
    Membership.objects.create(organization=other_org, user=world["ana"], role=Role.MEMBER)
    cycle = factories.make_cycle(other_org, "g1")
    objective = factories.make_objective(cycle, "g")
    factories.make_key_result(objective, "z", owner=zoe, title="Globex KR")
    factories.make_key_result(objective, "a", owner=world["ana"], title="Ana's Globex KR")
    run_notifications(at(MONDAY, 10))
    assert [m.to for m in mail.outbox] == [["ana@acme.test"]]
    assert "Globex" not in mail.outbox[0].body
    run_notifications(at(MONDAY, 21))  # Tuesday 10:00 in Auckland
    assert sorted(m.to[0] for m in mail.outbox[1:]) == ["ana@acme.test", "zoe@globex.test"]


# --- the nightly recompute -----------------------------------------------------------------------


def test_nightly_recompute_runs_once_per_organization_and_local_day(
    org: Organization, world: dict[str, Any]
) -> None:
    kr: KeyResult = world["krs"][0]
    KeyResult.objects.filter(pk=kr.pk).update(expected=Decimal("0.0001"), status="done")
    run_notifications(at(MONDAY, 1))
    kr.refresh_from_db()
    assert kr.expected > Decimal("0.0001")  # expected progress as of today, from the engine
    assert kr.status != "done"
    row = NotificationLog.objects.get(kind=NotificationKind.RECOMPUTE)
    assert (row.period_key, row.state, row.user_id) == ("2026-11-23", NotificationState.SENT, None)
    assert row.items >= 1
    KeyResult.objects.filter(pk=kr.pk).update(status="done")
    run_notifications(at(MONDAY, 2))
    kr.refresh_from_db()
    assert kr.status == "done"  # not recomputed again that day
    run_notifications(at(MONDAY + dt.timedelta(days=1), 0, 5))
    assert NotificationLog.objects.filter(kind=NotificationKind.RECOMPUTE).count() == 2


def test_a_failing_recompute_is_retried_and_does_not_stop_reminders(
    org: Organization, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def broken(organization: Organization, **kwargs: Any) -> Any:
        calls.append(organization.pk)
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(reminders, "recompute_organization", broken)
    now = at(MONDAY, 10)
    summary = run_notifications(now)
    assert summary.recompute_failed == 1
    assert len(sent_to("ana@acme.test")) == 1
    row = NotificationLog.objects.get(kind=NotificationKind.RECOMPUTE)
    assert row.state == NotificationState.PENDING
    assert "database hiccup" in row.last_error
    monkeypatch.undo()
    run_notifications(now + dt.timedelta(minutes=10))
    row.refresh_from_db()
    assert row.state == NotificationState.SENT
    assert calls == [org.pk]


def test_one_persons_broken_reminder_does_not_stop_the_others(
    org: Organization, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = factories.make_member(org, Role.MEMBER, "bob@acme.test")
    factories.make_key_result(world["objective"], "nps", owner=bob)
    real = reminders.key_results_due

    def broken_for_ana(actor: Any, now: dt.datetime) -> list[KeyResult]:
        if actor.user == world["ana"]:
            raise ValueError("bad data")
        return real(actor, now)

    monkeypatch.setattr(reminders, "key_results_due", broken_for_ana)
    summary = run_notifications(at(MONDAY, 10))
    assert summary.errors == 1
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]
    row = NotificationLog.objects.get(kind="reminder", user=world["ana"])
    assert row.state == NotificationState.FAILED
    assert "bad data" in row.last_error
    run_notifications(at(MONDAY, 11))  # recorded: not tried again on every pass
    assert run_notifications(at(MONDAY, 12)).errors == 0
