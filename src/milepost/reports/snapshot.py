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
membership); a page that finds its evaluation here needs no other query for it. Web pages ask
through `milepost.web.snapshot.page_snapshot`; the API's schedule, findings and priorities
through `milepost.reports.queries`. The cache is
per process, small (least recently used entries go first) and holds only engine output and
key → id maps — never anything decided by who is asking: visibility is
applied by the caller for each actor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections

from milepost.audit.models import AuditEvent
from milepost.engine.collector import cyclic_gc_paused, freeze_long_lived
from milepost.engine.model import CheckInPoint, Plan
from milepost.engine.okr import evaluate_okrs
from milepost.engine.results import OkrReport
from milepost.engine.roadmap import RoadmapReport, evaluate_roadmap
from milepost.okrs.engine_io import checkin_history, organization_today
from milepost.okrs.models import Cycle
from milepost.okrs.plan_rows import checkins_of_key_results_of
from milepost.organizations.models import Organization
from milepost.roadmap.engine_io import LoadedPlan, load_plan_with_ids

MAX_ENTRIES = 16

log = logging.getLogger(__name__)

# What a kept evaluation is filed under: the organization (id, creation time), the cycle and
# the day. The change token it was computed at is kept with it (`_Entry`).
CacheKey = tuple[int, str, int | None, dt.date]


# Guards what pages keep in an evaluation's `extras` (`Snapshot.kept`): threads share it.
_extras_lock = threading.Lock()


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
    # When the plan was read (seconds since the epoch), and how long the evaluation took.
    computed_at: float = field(default=0.0, compare=False)
    cost_seconds: float = field(default=0.0, compare=False)
    # When this evaluation patched check-ins into a kept one (`_plan_after_checkins`): that
    # one's `extras`, and the date before which both have the same check-ins (every changed
    # check-in is dated on or after it). Pages may reuse what only depends on such dates.
    carried: dict[Any, Any] = field(default_factory=dict, compare=False)
    checkins_same_before: dt.date = field(default=dt.date.min, compare=False)

    def kept[T](self, kind: str, key: Hashable, compute: Callable[[], T], *, limit: int) -> T:
        """``compute()``, kept in `extras` with this evaluation: the latest ``limit`` of each
        ``kind``, by ``key``. For what a page derives from the evaluation and the scope asked
        (a roadmap drawing, a dashboard's figures): every viewer of one evaluation with the
        same scope gets the same, and a new evaluation starts without any. Two requests may
        compute the same one at the same moment; the later one is kept."""
        with _extras_lock:
            of_kind: OrderedDict[Hashable, Any] = self.extras.setdefault(kind, OrderedDict())
            if key in of_kind:
                of_kind.move_to_end(key)
                found: T = of_kind[key]
                return found
        value = compute()
        with _extras_lock:
            of_kind[key] = value
            while len(of_kind) > limit:
                of_kind.popitem(last=False)
        return value


@dataclass
class _Entry:
    token: tuple[int | None, str]
    snap: Snapshot


_cache: OrderedDict[CacheKey, _Entry] = OrderedDict()
_in_flight: dict[CacheKey, threading.Event] = {}
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


def _load(
    organization: Organization,
    cycle: Cycle | None,
    as_of: dt.date,
    previous: Snapshot | None = None,
) -> Snapshot:
    """Read the plan and evaluate it; from `previous` and the check-ins written since when
    nothing else changed (`_plan_after_checkins`), else from scratch."""
    started = time.time()
    patched = _plan_after_checkins(organization, previous) if previous is not None else None
    ids: LoadedPlan | Snapshot
    carried: dict[Any, Any] = {}
    same_before = dt.date.min
    changed_key_results: frozenset[str] = frozenset()
    if patched is not None and previous is not None:
        plan, same_before, changed_key_results = patched
        ids = previous  # the same rows: the same ids
        if previous.extras:
            carried = dict(previous.extras)
        else:  # not used since it was made: what it carried still holds, up to the older date
            carried = previous.carried
            same_before = min(same_before, previous.checkins_same_before)
    else:
        ids = load_plan_with_ids(organization, cycle=cycle)
        plan = ids.plan
    # After check-ins only, just their key results and the objectives above them are
    # evaluated again.
    okr = evaluate_okrs(
        plan,
        as_of,
        same_but_checkins=previous.okr if patched is not None and previous else None,
        changed=changed_key_results,
    )
    return Snapshot(
        as_of=as_of,
        plan=plan,
        okr=okr,
        roadmap=evaluate_roadmap(
            plan,
            as_of,
            okr,
            # Only check-ins changed: the schedule, and the findings that read no check-in,
            # are the kept one's (same plan, same day).
            same_but_checkins=previous.roadmap if patched is not None and previous else None,
            changed=changed_key_results,
        ),
        initiative_ids=ids.initiative_ids,
        milestone_ids=ids.milestone_ids,
        objective_ids=ids.objective_ids,
        key_result_ids=ids.key_result_ids,
        computed_at=started,
        cost_seconds=time.time() - started,
        carried=carried,
        checkins_same_before=same_before,
    )


# Under a stream of changes, at most this share of a process's time re-evaluates a plan in
# the background: an evaluation that took 1.5 s (a 20,000-person organization) is renewed at
# most every 15 s even when the lag setting is shorter. Everyone still sees their own writes.
BACKGROUND_SHARE = 0.1

# How far before a kept evaluation was read its successor looks for changes: a write stamps
# its audit event when it is made and becomes visible when its transaction commits, so a
# change made just before the read may have been invisible to it. Longer than any write's
# transaction.
CHANGE_MARGIN_SECONDS = 30.0
# Beyond this many changes since the kept evaluation, the plan is read anew.
MAX_PATCHED_CHANGES = 2_000


def _plan_after_checkins(
    organization: Organization, previous: Snapshot
) -> tuple[Plan, dt.date, frozenset[str]] | None:
    """`previous`'s plan with the check-in histories of the key results whose check-ins
    changed since it was read, when check-ins are all that changed (the common case: a
    stream of check-ins); the earliest effective date of a changed check-in (`date.min`
    when one is unknown: archived); and the keys of the key results read again. None when
    anything else may have changed. Two queries.

    Every write records an audit event (`milepost.servicekit`), so the events since the
    evaluation was read (with `CHANGE_MARGIN_SECONDS` of margin) say what changed. A
    check-in's record, correction or archiving touches one key result's history only; its
    history is read again whole, so reading one change twice is harmless."""
    since = dt.datetime.fromtimestamp(previous.computed_at - CHANGE_MARGIN_SECONDS, dt.UTC)
    changes = list(
        AuditEvent.objects.filter(organization_id=organization.pk, created_at__gte=since)
        .order_by()
        .values_list("target_type", "target_id")[: MAX_PATCHED_CHANGES + 1]
    )
    if len(changes) > MAX_PATCHED_CHANGES or any(kind != "checkin" for kind, _ in changes):
        return None
    if not changes:
        return previous.plan, dt.date.max, frozenset()
    changed = {pk for _, pk in changes if pk is not None}
    path_of = {pk: path for path, pk in previous.key_result_ids.items()}
    rows = checkins_of_key_results_of(changed)
    dated = {c.pk: c.effective_date for checkins in rows.values() for c in checkins}
    earliest = min((dated.get(pk, dt.date.min) for pk in changed), default=dt.date.max)
    replaced = {
        path_of[kr_id]: checkin_history(checkins)
        for kr_id, checkins in rows.items()
        if kr_id in path_of
    }
    if not replaced:
        return previous.plan, earliest, frozenset()
    key_results = tuple(
        dataclasses.replace(
            kr,
            checkins=tuple(
                CheckInPoint(c.effective_date, c.value, c.confidence) for c in replaced[kr.key]
            ),
        )
        if kr.key in replaced
        else kr
        for kr in previous.plan.key_results
    )
    return (
        dataclasses.replace(previous.plan, key_results=key_results),
        earliest,
        frozenset(replaced),
    )


def snapshot(
    organization: Organization,
    cycle: Cycle | None,
    *,
    as_of: dt.date | None = None,
    token: tuple[int | None, str] | None = None,
    fresh_after: float | None = None,
) -> Snapshot:
    """The engine's evaluation of the organization's plan (one cycle's, or all of it) as of
    `as_of` (default: today in the organization's time zone), from this process's cache when
    nothing changed since it was computed. One query when cached, none when the caller
    passes the organization's `change_token` read earlier in the same read-only request (the
    web reads it with the membership: `milepost.web.context.request_change_token`).

    Under a stream of writes (check-ins every second) recomputing for every change would
    keep the process busy with nothing else, and make every page wait for it. So with
    ``settings.MILEPOST_LIVE_LAG_SECONDS`` above 0, an evaluation made before the latest
    change is still served — unless it was computed before ``fresh_after`` (the time of the
    asking person's own last write: they always see it); once it is older than the lag (or
    than ten times its own cost, `BACKGROUND_SHARE`) it is computed anew in a background
    thread while it is served. Requests that must wait for a
    new evaluation at the same moment share one computation."""
    day = as_of or organization_today(organization)
    current = token if token is not None else change_token(organization)
    key: CacheKey = (
        organization.pk,
        organization.created_at.isoformat() if organization.created_at else "",
        cycle.pk if cycle is not None else None,
        day,
    )
    lag = float(settings.MILEPOST_LIVE_LAG_SECONDS)
    asked_at = time.time()
    own_write = min(fresh_after or 0.0, asked_at)
    while True:
        with _lock:
            entry = _cache.get(key)
            if entry is not None and (
                entry.token == current or (lag > 0 and entry.snap.computed_at >= own_write)
            ):
                refresh_after = max(lag, entry.snap.cost_seconds / BACKGROUND_SHARE)
                if entry.token != current and entry.snap.computed_at < asked_at - refresh_after:
                    # Older than the lag: still served, and computed anew in the background
                    # (once), so that no request waits for a whole-plan evaluation. A costly
                    # evaluation is renewed less often: at most `BACKGROUND_SHARE` of the
                    # process's time goes to renewing it.
                    _refresh_in_background(key, organization, cycle, day, current, entry.snap)
                _cache.move_to_end(key)
                return entry.snap
            running = _in_flight.get(key)
            if running is None:
                running = _in_flight[key] = threading.Event()
                break
        # Another request of this process is computing it: wait, then look again (its
        # result serves if it is recent enough for this request; else compute anew).
        running.wait(timeout=120)
    try:
        computed = _load_and_store(
            key, current, organization, cycle, day, entry.snap if entry is not None else None
        )
    finally:
        with _lock:
            _in_flight.pop(key, None)
        running.set()
    return computed


@cyclic_gc_paused()
def _load_and_store(
    key: CacheKey,
    token: tuple[int | None, str],
    organization: Organization,
    cycle: Cycle | None,
    day: dt.date,
    previous: Snapshot | None,
) -> Snapshot:
    """`_load` the evaluation and keep it under ``key``. The collector waits meanwhile, and
    the evaluation is then frozen (`freeze_long_lived`): it lives until the plan changes
    (a million objects at full size), and no collection should rescan it in the middle of a
    request — neither the young one right after it is built nor every full one after."""
    computed = _load(organization, cycle, day, previous)
    with _lock:
        _cache[key] = _Entry(token, computed)
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    freeze_long_lived()
    return computed


def _refresh_in_background(
    key: CacheKey,
    organization: Organization,
    cycle: Cycle | None,
    day: dt.date,
    token: tuple[int | None, str],
    previous: Snapshot,
) -> None:
    """Compute the evaluation for `key` in a thread of its own, unless one is being computed
    already (call with `_lock` held)."""
    if key in _in_flight:
        return
    done = _in_flight[key] = threading.Event()

    def refresh() -> None:
        try:
            _load_and_store(key, token, organization, cycle, day, previous)
        except Exception:
            log.exception("refreshing the plan evaluation of organization %s failed", key[0])
        finally:
            with _lock:
                _in_flight.pop(key, None)
            done.set()
            connections.close_all()  # this thread's own connections

    threading.Thread(target=refresh, name="milepost-plan-refresh", daemon=True).start()
