"""My week: the key results I own that need a check-in, my initiatives and tasks, the findings
on things I own, and what changed since my last visit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from milepost.accounts.models import User
from milepost.audit.models import AuditEvent
from milepost.errors import NotFound
from milepost.integrations.notifications import effective_preference
from milepost.integrations.reminders import (
    CHECKIN_DUE_AFTER,
    due_for_checkin,
    key_results_checked_in_weekly,
)
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import CheckIn, KeyResult
from milepost.organizations.access import Actor
from milepost.roadmap.models import Initiative
from milepost.web.context import member_view, resolve
from milepost.web.htmx import render_page
from milepost.work.models import Task

SESSION_SINCE_KEY = "milepost_since"
OPEN_INITIATIVE = ("proposed", "planned", "in_progress", "on_hold")
OPEN_TASK = ("todo", "in_progress")
CHANGES_SHOWN = 15


def week_start(today: dt.date, weekday: int) -> dt.date:
    """The most recent `weekday` (0 = Monday) on or before `today`: the start of the current
    check-in week."""
    return today - dt.timedelta(days=(today.weekday() - weekday) % 7)


def _since(request: HttpRequest, user: User) -> dt.datetime:
    """The start of "since your last visit": the previous visit recorded when this session
    began (kept for the whole session so a reload does not empty the list)."""
    stored = request.session.get(SESSION_SINCE_KEY)
    parsed = parse_datetime(stored) if isinstance(stored, str) else None
    if parsed is not None:
        return parsed
    previous = user.last_seen_at or user.date_joined
    request.session[SESSION_SINCE_KEY] = previous.isoformat()
    User.objects.filter(pk=user.pk).update(last_seen_at=timezone.now())
    return previous


@member_view
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    user = actor.user
    if user is None:  # the web always acts for a signed-in person
        raise NotFound("No user.")
    organization = actor.organization
    today = organization_today(organization)
    membership = resolve(request).membership
    weekday = (
        effective_preference(membership, organization).weekday
        if membership is not None
        else organization.default_checkin_weekday
    )
    week = week_start(today, weekday)

    # The reminder's rule, so the page and the reminder never disagree about what is due.
    now = timezone.now()
    key_results = list(
        key_results_checked_in_weekly(actor)
        .select_related("objective", "objective__cycle")
        # Never checked in first, on every database back-end.
        .order_by(F("last_checkin_at").asc(nulls_first=True), "objective__key", "key")
    )
    due = [kr for kr in key_results if due_for_checkin(kr, now)]
    checked_recently = [kr for kr in key_results if not due_for_checkin(kr, now)]

    initiatives = list(
        Initiative.objects.of(organization)
        .active()
        .filter(Q(owner=user) | Q(team_id__in=actor.team_ids), status__in=OPEN_INITIATIVE)
        .select_related("team")
        .order_by("end_date", "key")[:25]
    )
    tasks = list(
        Task.objects.of(organization)
        .active()
        .filter(assignee=user, status__in=OPEN_TASK, initiative__archived_at__isnull=True)
        .select_related("initiative")
        .order_by("due_date", "id")[:25]
    )

    since = _since(request, user)
    checkins = list(
        CheckIn.objects.of(organization)
        .active()
        .filter(key_result__owner=user, recorded_at__gt=since, key_result__archived_at__isnull=True)
        .exclude(author=user)
        .select_related("key_result", "author")
        .order_by("-recorded_at")[:CHANGES_SHOWN]
    )
    my_key_results = (
        KeyResult.objects.visible_to(actor)
        .active()
        .filter(
            owner=user,
            objective__archived_at__isnull=True,
            objective__cycle__archived_at__isnull=True,
            objective__cycle__state="active",
        )
        .values("pk")
    )
    mine = Q(target_type="keyresult", target_id__in=my_key_results) | Q(
        target_type="initiative", target_id__in=[i.pk for i in initiatives if i.owner_id == user.pk]
    )
    events = list(
        AuditEvent.objects.filter(organization_id=organization.pk, created_at__gt=since)
        .filter(mine)
        .exclude(actor_id=user.pk)
        .order_by("-created_at")[:CHANGES_SHOWN]
    )
    context: dict[str, Any] = {
        "today": today,
        "week_start": week,
        "due": due,
        "checked_recently": checked_recently,
        "due_after_days": CHECKIN_DUE_AFTER.days,
        "initiatives": initiatives,
        "tasks": tasks,
        "since": since,
        "checkins": checkins,
        "events": events,
    }
    return render_page(request, "web/home.html", context, nav="home")
