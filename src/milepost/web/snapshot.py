"""The engine's evaluation of a whole plan, kept between requests until the plan changes.

The roadmap, plan health, priorities and the dashboard all read the same evaluation of an
organization's plan (`milepost.roadmap.engine_io.evaluate`): the schedule, the findings, the
priorities, and every key result and objective as of today. Loading the plan takes a fixed
number of queries (three: `milepost.roadmap.engine_io.load_plan_with_ids`, which also gives the
ids of the rows the plan's keys name); evaluating it takes CPU time. Both are needed only when the
plan has changed, so the result is kept in this process, keyed by:

* the organization (its id and creation time, so a rebuilt database never matches),
* the cycle and the date (expected progress moves with the calendar),
* the organization's latest audit event: every write goes through a service that records one
  (`milepost.servicekit`), so a new event means the plan may have changed.

Checking the key costs one query (none for a web page: its GET reads the token with the
membership); a page that finds its evaluation here needs no other query for it. The cache is
per process, small (least recently used entries go first) and holds only engine output and
key → id maps — never anything decided by who is asking: visibility is
applied by the caller for each actor.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from milepost.audit.models import AuditEvent
from milepost.engine.model import Plan
from milepost.engine.okr import evaluate_okrs
from milepost.engine.results import OkrReport
from milepost.engine.roadmap import RoadmapReport, evaluate_roadmap
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Cycle
from milepost.organizations.models import Organization
from milepost.roadmap.engine_io import load_plan_with_ids

MAX_ENTRIES = 16

CacheKey = tuple[int, str, int | None, dt.date, int | None, str]


@dataclass(frozen=True)
class Snapshot:
    """One evaluation of a plan, with the ids of the rows its keys name."""

    as_of: dt.date
    plan: Plan
    okr: OkrReport
    roadmap: RoadmapReport
    initiative_ids: dict[str, int]
    milestone_ids: dict[str, int]
    objective_ids: dict[str, int]
    key_result_ids: dict[str, int]  # "<objective key>/<kr key>" -> id
    # Further engine output derived from this evaluation (investment, trends), computed on
    # first use by the pages that need it and kept with it.
    extras: dict[Any, Any] = field(default_factory=dict, compare=False)


_cache: OrderedDict[CacheKey, Snapshot] = OrderedDict()
_lock = threading.Lock()


def clear() -> None:
    """Forget every kept evaluation (tests use it to measure the first view after a change)."""
    with _lock:
        _cache.clear()


def change_token(organization: Organization) -> tuple[int | None, str]:
    """The organization's latest audit event (id and time): it changes with every write.
    One query."""
    latest = (
        AuditEvent.objects.filter(organization_id=organization.pk)
        .order_by("-created_at", "-id")
        .values_list("id", "created_at")
        .first()
    )
    if latest is None:
        return None, ""
    return latest[0], latest[1].isoformat()


def _load(organization: Organization, cycle: Cycle | None, as_of: dt.date) -> Snapshot:
    loaded = load_plan_with_ids(organization, cycle=cycle)
    okr = evaluate_okrs(loaded.plan, as_of)
    return Snapshot(
        as_of=as_of,
        plan=loaded.plan,
        okr=okr,
        roadmap=evaluate_roadmap(loaded.plan, as_of, okr),
        initiative_ids=loaded.initiative_ids,
        milestone_ids=loaded.milestone_ids,
        objective_ids=loaded.objective_ids,
        key_result_ids=loaded.key_result_ids,
    )


def snapshot(
    organization: Organization,
    cycle: Cycle | None,
    *,
    as_of: dt.date | None = None,
    token: tuple[int | None, str] | None = None,
) -> Snapshot:
    """The engine's evaluation of the organization's plan (one cycle's, or all of it) as of
    `as_of` (default: today in the organization's time zone), from this process's cache when
    nothing changed since it was computed. One query when cached, none when the caller
    passes the organization's `change_token` read earlier in the same read-only request (the
    web reads it with the membership: `milepost.web.context.request_change_token`)."""
    day = as_of or organization_today(organization)
    token_id, token_time = token if token is not None else change_token(organization)
    key: CacheKey = (
        organization.pk,
        organization.created_at.isoformat() if organization.created_at else "",
        cycle.pk if cycle is not None else None,
        day,
        token_id,
        token_time,
    )
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    computed = _load(organization, cycle, day)
    with _lock:
        _cache[key] = computed
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return computed
