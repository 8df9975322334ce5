"""My week: the key results I own that need a check-in, my initiatives and tasks, the findings
on things I own, and what changed since my last visit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from milepost.accounts.models import User
from milepost.audit.models import AuditEvent
from milepost.errors import NotFound
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import CheckIn, KeyResult
from milepost.organizations.access import Actor
from milepost.roadmap.models import Initiative
from milepost.web.context import member_view
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
    week = week_start(today, organization.default_checkin_weekday)

    key_results = list(
        KeyResult.objects.visible_to(actor)
        .active()
        .filter(
            owner=user,
            objective__archived_at__isnull=True,
            objective__cycle__archived_at__isnull=True,
            objective__cycle__state="active",
        )
        .select_related("objective", "objective__cycle")
        .order_by("last_checkin_at", "objective__key", "key")
    )
    due: list[KeyResult] = []
    done_this_week: list[KeyResult] = []
    for kr in key_results:
        checked = kr.last_checkin_at is not None and (
            timezone.localtime(kr.last_checkin_at).date() >= week
        )
        (done_this_week if checked else due).append(kr)

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
    mine = Q(target_type="keyresult", target_id__in=[kr.pk for kr in key_results]) | Q(
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
        "done_this_week": done_this_week,
        "initiatives": initiatives,
        "tasks": tasks,
        "since": since,
        "checkins": checkins,
        "events": events,
    }
    return render_page(request, "web/home.html", context, nav="home")
