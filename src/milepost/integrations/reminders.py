"""Check-in reminders, weekly digests and the nightly recompute: what is due, and when.

`run_notifications(now)` is what the worker calls on every pass. For each live organization,
in the organization's time zone:

* **Nightly recompute** — on the first pass of each local day, `recompute_organization`
  refreshes the stored progress and status columns (expected progress moves with the calendar
  even when nobody checks in). Once per organization and day (a `NotificationLog` job row).
* **Reminders** — from `send_hour()` (09:00 by default) on each member's check-in day (their
  own, else the organization's default), one message listing the key results they own that
  are due for a check-in: in an active cycle, not archived, objective open, not done (a held
  ``maintain`` key result is done, yet still due: it shows week by week that it holds), and no
  check-in for `CHECKIN_DUE_AFTER` (6 days). Each links straight to the key result's check-in
  form. Nothing due: nothing is sent (the row is kept as ``skipped``).
* **Digests** — the same day and hour, each team lead gets a digest of the teams they lead
  (see `milepost.integrations.digests`).

The period of a reminder or a digest is the ISO week of the local date (``2026-W47``): one per
person and week, whatever happens to the worker. A member whose channel is ``none`` gets
neither; ``chat`` without a webhook falls back to email. If the worker is down for a whole
check-in day, that week's reminder is not sent late.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from milepost.engine.model import KeyResultKind, ObjectiveState, Status
from milepost.integrations import notifications
from milepost.integrations.models import (
    ChatWebhook,
    NotificationKind,
    NotificationLog,
    NotificationState,
)
from milepost.integrations.notifications import CHAT, EMAIL, NONE, Message, effective_preference
from milepost.okrs.engine_io import recompute_organization
from milepost.okrs.models import KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization, Role, TeamMember
from milepost.web.format import STATUS_LABELS, number, percent

log = logging.getLogger(__name__)

CHECKIN_DUE_AFTER = dt.timedelta(days=6)
PEOPLE_PER_PASS = 500  # reminders and digests prepared per organization and pass
JOBS_PER_PASS = 50
OPEN_OBJECTIVE = (ObjectiveState.DRAFT.value, ObjectiveState.ACTIVE.value)


def send_hour() -> int:
    """The local hour (0-23) from which reminders and digests go out: the
    ``NOTIFICATION_SEND_HOUR`` setting, from ``MILEPOST_NOTIFICATION_SEND_HOUR`` (default 9)."""
    return int(getattr(settings, "NOTIFICATION_SEND_HOUR", 9))


# --- calendar -----------------------------------------------------------------------------------


def organization_zone(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def week_key(day: dt.date) -> str:
    """The ISO week of `day`: ``"2026-W47"``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _start_of(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def week_end(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The instant the ISO week of `day` ends (next Monday 00:00 in `zone`)."""
    return _start_of(day + dt.timedelta(days=7 - day.weekday()), zone)


def absolute_url(path: str) -> str:
    """`path` on this installation (``MILEPOST_BASE_URL``)."""
    return f"{str(settings.BASE_URL).rstrip('/')}{path}"


def checkin_url(key_result: KeyResult) -> str:
    """The key result's page, scrolled to its check-in form."""
    return absolute_url(reverse("web:key-result-detail", args=[key_result.pk]) + "#checkin")


def preferences_url() -> str:
    return absolute_url(reverse("web:notification-preferences"))


def markdown_escape(text: str) -> str:
    """`text` safe inside chat Markdown: no links, emphasis, code or mentions of its own
    (``@`` gets a zero-width space after it, which no chat service reads as a mention)."""
    out = []
    for ch in text.replace("\r", " ").replace("\n", " "):
        if ch in "\\`*_[]<>|~":
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@\u200b")
        else:
            out.append(ch)
    return "".join(out)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, ("", status.replace("_", " ")))[1]


# --- who is due today ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    membership: Membership
    actor: Actor
    channel: str  # email | chat (resolved: chat without a webhook is email)
    weekday: int


def _day_filter(organization: Organization, weekday: int) -> Q:
    own = Q(checkin_weekday=weekday)
    if organization.default_checkin_weekday == weekday:
        return own | Q(checkin_weekday__isnull=True)
    return own


def _channel_filter(organization: Organization) -> Q:
    chosen = Q(notification_channel__in=[EMAIL, CHAT])
    if notifications.organization_channel(organization) == NONE:
        return chosen
    return chosen | ~Q(notification_channel__in=[EMAIL, CHAT, NONE])


def recipients_due(
    organization: Organization,
    *,
    kind: str,
    weekday: int,
    period_key: str,
    only_users: Iterable[int] | None = None,
    limit: int = PEOPLE_PER_PASS,
) -> list[Recipient]:
    """Members whose check-in day is `weekday`, whose channel is not ``none``, and who have no
    `kind` notification for `period_key` yet (optionally among `only_users`)."""
    claimed = NotificationLog.objects.filter(
        organization=organization, kind=kind, period_key=period_key, user__isnull=False
    ).values("user_id")
    qs: QuerySet[Membership] = (
        Membership.objects.filter(
            organization=organization, archived_at__isnull=True, user__is_active=True
        )
        .filter(_day_filter(organization, weekday), _channel_filter(organization))
        .exclude(user_id__in=claimed)
        .select_related("user")
        .order_by("user_id")
    )
    if only_users is not None:
        qs = qs.filter(user_id__in=list(only_users))
    memberships = list(qs[:limit])
    if not memberships:
        return []
    teams: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id in TeamMember.objects.filter(
        organization=organization, user_id__in=[m.user_id for m in memberships]
    ).values_list("user_id", "team_id"):
        teams[user_id].add(team_id)
    chat_users = set(
        ChatWebhook.objects.filter(
            organization=organization, user_id__in=[m.user_id for m in memberships]
        ).values_list("user_id", flat=True)
    )
    found = []
    for m in memberships:
        preference = effective_preference(m, organization)
        channel = CHAT if preference.channel == CHAT and m.user_id in chat_users else EMAIL
        actor = Actor(
            organization=organization,
            role=Role(m.role),
            user=m.user,
            team_ids=frozenset(teams.get(m.user_id, ())),
            label=m.user.email,
        )
        found.append(Recipient(m, actor, channel, preference.weekday))
    return found


# --- reminders ----------------------------------------------------------------------------------


def key_results_checked_in_weekly(actor: Actor) -> QuerySet[KeyResult]:
    """The key results `actor` owns (and can see) that ask for a weekly check-in: not
    archived, in an active cycle, objective open, and not done, except a `maintain` key
    result, which is done while it holds and needs a check-in every week to show it still
    does. Reminders and My week both start from this set."""
    return (
        KeyResult.objects.visible_to(actor)
        .filter(
            owner_id=actor.user_id,
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__state__in=OPEN_OBJECTIVE,
            objective__cycle__archived_at__isnull=True,
            objective__cycle__state="active",
        )
        .exclude(Q(status=Status.DONE.value) & ~Q(kind=KeyResultKind.MAINTAIN.value))
    )


def due_for_checkin(key_result: KeyResult, now: dt.datetime) -> bool:
    """Whether `key_result` (one of `key_results_checked_in_weekly`) is due for a check-in at
    `now`: no check-in at all, or none for `CHECKIN_DUE_AFTER`. The one rule for "due", used
    by the reminder and by My week."""
    last = key_result.last_checkin_at
    return last is None or last < now - CHECKIN_DUE_AFTER


def key_results_due(actor: Actor, now: dt.datetime) -> list[KeyResult]:
    """The key results `actor` owns (and can see) that are due for a check-in at `now` (the
    reminder's list): `key_results_checked_in_weekly` for which `due_for_checkin` holds."""
    # Filtered here rather than in SQL so that "due" has a single definition; one person
    # owns a handful of key results.
    candidates = (
        key_results_checked_in_weekly(actor)
        .select_related("objective__cycle")
        .order_by("objective__cycle__start_date", "objective__key", "key", "pk")
    )
    return [kr for kr in candidates if due_for_checkin(kr, now)]


def _with_unit(value: str, unit: str) -> str:
    if not unit:
        return value
    return f"{value}{unit}" if unit in {"%", "‰"} else f"{value} {unit}"


def _kr_line(kr: KeyResult, zone: ZoneInfo) -> dict[str, Any]:
    last = kr.last_checkin_at.astimezone(zone).date().isoformat() if kr.last_checkin_at else ""
    return {
        "title": kr.title,
        "objective": kr.objective.title,
        "cycle": kr.objective.cycle.name,
        "progress": percent(kr.progress),
        "value": _with_unit(number(kr.current_value), kr.unit),
        "status": status_label(kr.status),
        "last_checkin": last,
        "url": checkin_url(kr),
    }


def reminder_message(recipient: Recipient, key_results: list[KeyResult]) -> Message:
    """The reminder: every due key result with a link to its check-in form."""
    organization = recipient.actor.organization
    zone = organization_zone(organization)
    user = recipient.membership.user
    count = len(key_results)
    items = [_kr_line(kr, zone) for kr in key_results]
    context: dict[str, Any] = {
        "name": user.full_name or user.email,
        "organization": organization.name,
        "items": items,
        "count": count,
        "weekday": notifications.WEEKDAY_NAMES[recipient.weekday],
        "preferences_url": preferences_url(),
        "due_days": CHECKIN_DUE_AFTER.days,
    }
    subject = (
        f"Check-in day: {count} key result{'s' if count != 1 else ''} to update "
        f"({organization.name})"
    )
    lines = [
        f"**{markdown_escape(organization.name)}: it is check-in day.** "
        f"{count} key result{'s' if count != 1 else ''} of yours "
        f"{'have' if count != 1 else 'has'} had no check-in for {CHECKIN_DUE_AFTER.days} days "
        "or more:",
        "",
    ]
    for item in items:
        last = (
            f", last check-in {item['last_checkin']}"
            if item["last_checkin"]
            else ", no check-in yet"
        )
        lines.append(
            f"- [{markdown_escape(item['title'])}]({item['url']}) "
            f"({markdown_escape(item['objective'])}): {item['progress']}, "
            f"{item['status'].lower()}{last}"
        )
    lines += ["", f"[Change the day or the channel]({context['preferences_url']})"]
    return Message(
        subject=subject,
        text=render_to_string("integrations/email/reminder.txt", context),
        html=render_to_string("integrations/email/reminder.html", context),
        chat="\n".join(lines),
    )


@dataclass
class NotificationSummary:
    """What one pass of `run_notifications` did."""

    reminders_claimed: int = 0
    digests_claimed: int = 0
    nothing_to_send: int = 0
    messages_sent: int = 0
    messages_failed: int = 0
    interrupted: int = 0
    recomputed: int = 0
    recompute_failed: int = 0
    errors: int = 0

    @property
    def did_anything(self) -> bool:
        return any(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in asdict(self).items() if v)


def claim_or_record_failure(
    recipient: Recipient,
    *,
    kind: str,
    period: str,
    until: dt.datetime,
    now: dt.datetime,
    prepare: Callable[[], tuple[Message | None, int, Any]],
    summary: NotificationSummary,
) -> None:
    """Claim `recipient`'s `kind` notification for `period` with what `prepare` returns
    (message, items, snapshot; no message: nothing to send). If preparing it fails, the
    failure is logged and recorded as a failed row, so one person's problem neither stops
    the others nor comes back on every pass."""
    organization = recipient.actor.organization
    user = recipient.membership.user
    common: dict[str, Any] = {
        "organization": organization,
        "user": user,
        "kind": kind,
        "period_key": period,
        "retry_until": until,
        "now": now,
    }
    try:
        message, items, snapshot = prepare()
    except Exception as exc:
        summary.errors += 1
        log.exception("preparing the %s of user %s failed", kind, user.pk)
        notifications.claim(
            **common, state=NotificationState.FAILED, error=f"could not be prepared: {exc}"
        )
        return
    if message is None:
        if notifications.claim(**common, state=NotificationState.SKIPPED):
            summary.nothing_to_send += 1
        return
    claimed = notifications.claim(
        **common, channel=recipient.channel, message=message, items=items, snapshot=snapshot
    )
    if claimed is not None:
        if kind == NotificationKind.DIGEST:
            summary.digests_claimed += 1
        else:
            summary.reminders_claimed += 1


def _claim_reminders(
    organization: Organization, local: dt.datetime, now: dt.datetime, summary: NotificationSummary
) -> None:
    day = local.date()
    period = week_key(day)
    until = week_end(day, organization_zone(organization))
    for recipient in recipients_due(
        organization, kind=NotificationKind.REMINDER, weekday=day.weekday(), period_key=period
    ):

        def prepare(recipient: Recipient = recipient) -> tuple[Message | None, int, Any]:
            due = key_results_due(recipient.actor, now)
            return (reminder_message(recipient, due) if due else None), len(due), None

        claim_or_record_failure(
            recipient,
            kind=NotificationKind.REMINDER,
            period=period,
            until=until,
            now=now,
            prepare=prepare,
            summary=summary,
        )


# --- the nightly recompute ------------------------------------------------------------------------


def _claim_recompute(organization: Organization, local: dt.datetime, now: dt.datetime) -> None:
    day = local.date()
    # Looked up first: on all but one pass a day the row exists, and a refused insert costs
    # more (and an error line in PostgreSQL's log).
    if NotificationLog.objects.filter(
        organization=organization,
        kind=NotificationKind.RECOMPUTE,
        period_key=day.isoformat(),
        user__isnull=True,
    ).exists():
        return
    notifications.claim(
        organization=organization,
        kind=NotificationKind.RECOMPUTE,
        period_key=day.isoformat(),
        retry_until=_start_of(day + dt.timedelta(days=1), organization_zone(organization)),
        now=now,
    )


def _run_recomputes(now: dt.datetime, summary: NotificationSummary) -> None:
    rows = list(
        NotificationLog.objects.filter(
            kind=NotificationKind.RECOMPUTE,
            state=NotificationState.PENDING,
            next_attempt_at__lte=now,
        )
        .select_related("organization")
        .order_by("next_attempt_at", "pk")[:JOBS_PER_PASS]
    )
    for row in rows:
        if not notifications.start_attempt(row, now):
            continue
        try:
            changed = recompute_organization(row.organization)
        except Exception as exc:
            summary.recompute_failed += 1
            log.exception("nightly recompute of organization %s failed", row.organization_id)
            notifications.finish_attempt(row, now, f"recompute failed: {exc}")
            continue
        row.items = changed.key_results + changed.objectives
        row.save(update_fields=["items"])
        notifications.finish_attempt(row, now, None)
        summary.recomputed += 1


# --- one pass -------------------------------------------------------------------------------------


def run_notifications(now: dt.datetime) -> NotificationSummary:
    """Do what is due at `now`: the nightly recomputes, then claim today's reminders and
    digests, then send every pending message (new ones and retries). Each organization's
    failure is logged and never stops the others."""
    from milepost.integrations.digests import claim_digests

    summary = NotificationSummary()
    summary.interrupted = notifications.mark_interrupted(now)
    hour = send_hour()
    for organization in Organization.objects.active().order_by("pk"):
        local = now.astimezone(organization_zone(organization))
        try:
            _claim_recompute(organization, local, now)
            if local.hour >= hour:
                _claim_reminders(organization, local, now, summary)
                claim_digests(organization, local, now, summary)
        except Exception:
            summary.errors += 1
            log.exception("notifications of organization %s failed", organization.pk)
    _run_recomputes(now, summary)
    delivered = notifications.deliver_due(now)
    summary.messages_sent += delivered.sent
    summary.messages_failed += delivered.failed
    return summary
