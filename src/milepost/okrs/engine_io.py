"""Database rows → engine inputs, and upkeep of the stored progress columns.

The stored columns of key results (``progress``, ``progress_raw``, ``expected``, ``status``,
``confidence``, ``current_value``, ``last_checkin_at``) and objectives (``progress``,
``expected``, ``status``) are a cache of the engine's output for fast lists. They are written
only here, and always from engine results: no formula is repeated in Django code.

Two ways to refresh them, which must always agree (a test proves it):

- `recompute_organization`: load the whole plan (or one cycle's), evaluate it with the engine,
  write every row whose stored value differs. The reference; also what a nightly job runs so
  that expected progress (which moves with the calendar) stays current.
- `recompute_key_result_and_ancestors` / `recompute_objectives_and_ancestors`: after a check-in
  or an edit, evaluate just the changed key results, then roll up their objectives and every
  objective above them through alignment (including links to a parent key result), reading
  the other inputs from their stored columns. A fixed number of queries, whatever the size of
  the organization; rows outside that path are not read for update nor written.

What the engine sees: archived rows are left out, and so is everything in an archived cycle or
under an archived objective. A key result's history is its check-ins minus those replaced by a
correction. Dates are calendar dates in the organization's time zone.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from milepost.bulk_update import update_columns
from milepost.engine.explain import Explanation
from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    MilestoneRef,
    ObjectiveInput,
    ObjectiveState,
    Plan,
    RollupMode,
    Status,
)
from milepost.engine.model import Curve as CurveKind
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.results import KeyResultResult, ObjectiveResult, OkrReport
from milepost.engine.rollup import rollup_objectives
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.okrs.plan_rows import CheckInRow, load_okrs
from milepost.okrs.querysets import live_parent_q
from milepost.organizations.models import Organization
from milepost.prepared import PreparedRows
from milepost.roadmap.models import Milestone

KR_STORED_FIELDS = (
    "progress",
    "progress_raw",
    "expected",
    "status",
    "confidence",
    "current_value",
    "last_checkin_at",
)
OBJECTIVE_STORED_FIELDS = ("progress", "expected", "status")

# The widest values the stored columns hold (max_digits/decimal_places in okrs.models). Raw
# progress is unbounded (a value far past the target); the column keeps the nearest it can.
_RAW_LIMIT = Decimal("99999999.9999")
_PROGRESS_LIMIT = Decimal("99999.9999")
_STORED = Explanation("stored", "read from the stored columns (last computed by the engine)")


class Recomputed(NamedTuple):
    """How many rows a recompute changed."""

    key_results: int
    objectives: int


def organization_today(organization: Organization) -> dt.date:
    """Today's calendar date in the organization's time zone (UTC if it is unknown)."""
    try:
        zone = ZoneInfo(organization.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return timezone.localdate(timezone=zone)


# --- what counts as live ----------------------------------------------------------------


def live_objectives(organization_id: int) -> QuerySet[Objective]:
    """Objectives the engine sees: not archived, in a cycle that is not archived."""
    return Objective.objects.filter(
        organization_id=organization_id, archived_at__isnull=True, cycle__archived_at__isnull=True
    )


def live_key_results(organization_id: int) -> QuerySet[KeyResult]:
    """Key results the engine sees: not archived, under a live objective."""
    return KeyResult.objects.filter(
        organization_id=organization_id,
        archived_at__isnull=True,
        objective__archived_at__isnull=True,
        objective__cycle__archived_at__isnull=True,
    )


class _Edge(NamedTuple):
    child: int
    parent_objective: int | None
    parent_key_result: int | None
    parent_key_result_objective: int | None
    weight: Decimal

    @property
    def parent(self) -> int:
        """The objective this link rolls into (a key result's link: that key result's)."""
        return self.parent_objective or self.parent_key_result_objective or 0


def _live_edges(organization_id: int, *, into: Collection[int] | None = None) -> list[_Edge]:
    """Every alignment link between live objectives / key results of the organization (with
    ``into``: only the links whose parent objective, or parent key result's objective, is one
    of those)."""
    qs = Alignment.objects.all()
    if into is not None:
        wanted = sorted(into)
        qs = qs.filter(
            Q(parent_objective_id__in=wanted) | Q(parent_key_result__objective_id__in=wanted)
        )
    rows = (
        qs.filter(
            organization_id=organization_id,
            archived_at__isnull=True,
            child__archived_at__isnull=True,
            child__cycle__archived_at__isnull=True,
        )
        .filter(live_parent_q())
        .order_by("pk")
        .values_list(
            "child_id",
            "parent_objective_id",
            "parent_key_result_id",
            "parent_key_result__objective_id",
            "weight",
        )
    )
    return [_Edge(*row) for row in rows]


# The live objectives reachable upward from a set of objectives, in one query however deep the
# alignment is (the same liveness rules as `_live_edges`). UNION stops at objectives already
# found, so even a loop in stored data ends.
_ANCESTORS_SQL = """
WITH RECURSIVE up(id) AS (
    SELECT o.id FROM okrs_objective o WHERE o.organization_id = %s AND o.id IN ({seeds})
    UNION
    SELECT COALESCE(a.parent_objective_id, kr.objective_id)
    FROM up
    JOIN okrs_alignment a ON a.child_id = up.id
    JOIN okrs_objective c ON c.id = a.child_id
    JOIN okrs_cycle cc ON cc.id = c.cycle_id
    LEFT JOIN okrs_objective po ON po.id = a.parent_objective_id
    LEFT JOIN okrs_cycle pc ON pc.id = po.cycle_id
    LEFT JOIN okrs_keyresult kr ON kr.id = a.parent_key_result_id
    LEFT JOIN okrs_objective ko ON ko.id = kr.objective_id
    LEFT JOIN okrs_cycle kc ON kc.id = ko.cycle_id
    WHERE a.organization_id = %s AND a.archived_at IS NULL
      AND c.archived_at IS NULL AND cc.archived_at IS NULL
      AND (
        (a.parent_objective_id IS NOT NULL
         AND po.archived_at IS NULL AND pc.archived_at IS NULL)
        OR (a.parent_key_result_id IS NOT NULL
         AND kr.archived_at IS NULL AND ko.archived_at IS NULL AND kc.archived_at IS NULL)
      )
)
SELECT id FROM up
"""


def _with_ancestors(organization_id: int, starts: Collection[int]) -> set[int]:
    """``starts`` and every objective above them through live alignment links."""
    seeds = sorted(starts)
    sql = _ANCESTORS_SQL.format(seeds=", ".join(["%s"] * len(seeds)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, *seeds, organization_id])
        return {int(row[0]) for row in cursor.fetchall()} | set(starts)


# --- rows → engine inputs ------------------------------------------------------------------


class _CheckInLike(Protocol):
    """What `checkin_history` reads of a check-in (a `CheckIn` or a `plan_rows.CheckInRow`)."""

    @property
    def pk(self) -> Any: ...
    @property
    def corrects_id(self) -> int | None: ...
    @property
    def archived_at(self) -> dt.datetime | None: ...
    @property
    def effective_date(self) -> dt.date: ...
    @property
    def recorded_at(self) -> dt.datetime: ...
    @property
    def value(self) -> Decimal: ...


class _CheckInPointLike(_CheckInLike, Protocol):
    """What `key_result_input` reads of a check-in (a `CheckIn` or a `plan_rows.CheckInRow`)."""

    @property
    def confidence(self) -> int | None: ...


_RECORDED_ORDER = operator.attrgetter("effective_date", "recorded_at", "pk")


def checkin_history[C: _CheckInLike](checkins: Iterable[C]) -> list[C]:
    """A key result's history as the engine reads it, oldest first.

    Archived check-ins and check-ins replaced by a correction are left out. Order: effective
    date, then the time the value was first recorded (a correction keeps the place of the
    check-in it corrects, so correcting a morning value does not overtake an evening one).
    Pass every check-in of the key result, corrected ones included.
    """
    rows = [c for c in checkins if c.archived_at is None]
    replaced = {c.corrects_id for c in rows if c.corrects_id is not None}
    if not replaced:  # the usual history: no correction, each check-in is its own origin
        return sorted(rows, key=_RECORDED_ORDER)
    by_id = {c.pk: c for c in rows}

    def origin(c: C) -> C:
        for _ in range(len(by_id)):  # a chain of corrections is never longer than the history
            if c.corrects_id is None or c.corrects_id not in by_id:
                break
            c = by_id[c.corrects_id]
        return c

    def order(c: C) -> tuple[dt.date, dt.datetime, int]:
        first = origin(c)
        return (c.effective_date, first.recorded_at, first.pk)

    return sorted((c for c in rows if c.pk not in replaced), key=order)


def key_result_input(
    kr: KeyResult, checkins: Iterable[_CheckInPointLike], milestones: Iterable[Milestone] = ()
) -> KeyResultInput:
    """The engine's view of a key result (``kr.objective.cycle`` must be loaded).

    Key ``"<objective key>/<kr key>"``; window from the cycle start to the due date (the cycle
    end when none is set); check-ins as in `checkin_history`; milestones that count toward it.
    """
    objective = kr.objective
    cycle = objective.cycle
    history = checkin_history(checkins)
    refs = sorted(
        (m for m in milestones if m.archived_at is None),
        key=lambda m: (m.date, m.key),
    )
    return KeyResultInput(
        key=f"{objective.key}/{kr.key}",
        objective_key=objective.key,
        title=kr.title,
        kind=KeyResultKind(kr.kind),
        start=kr.start_value,
        target=kr.target_value,
        window_start=cycle.start_date,
        due=kr.due_date or cycle.end_date,
        weight=kr.weight,
        curve=CurveKind(kr.curve),
        maintain_direction=MaintainDirection(kr.maintain_direction),
        checkins=tuple(CheckInPoint(c.effective_date, c.value, c.confidence) for c in history),
        milestones=tuple(MilestoneRef(m.key, m.date, m.weight, m.done_on) for m in refs),
        owner=kr.owner.email if kr.owner_id is not None and kr.owner is not None else None,
        unit=kr.unit,
    )


def _group_by_kr(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.key_result_id].append(row)
    return grouped


def load_okr_plan(organization: Organization, *, cycle: Cycle | None = None) -> Plan:
    """The OKR part of the organization's plan, ready for the engine: teams, cycles, objectives
    with their alignment, key results with their check-ins and milestones.

    With ``cycle``, the objectives of that cycle plus every objective aligned below them from
    other cycles (their roll-up needs them). Two queries (three when objectives of other
    cycles align below the cycle's); see `milepost.okrs.plan_rows`.
    """
    return load_okrs(organization, cycle, history=checkin_history).plan


def evaluate_cycle(
    organization: Organization, cycle: Cycle, as_of: dt.date | None = None
) -> OkrReport:
    """The live engine result for a cycle's objectives and key results (forecasts included),
    as of ``as_of`` (default: today in the organization's time zone). This is what the UI shows.

    Objectives from other cycles that feed the roll-up are evaluated but left out of the report.
    """
    day = as_of or organization_today(organization)
    loaded = load_okrs(organization, cycle, history=checkin_history)
    report = evaluate_okrs(loaded.plan, day)
    in_cycle = {k for k, c in loaded.objective_cycle_ids.items() if c == cycle.pk}
    return OkrReport(
        day,
        {k: r for k, r in report.key_results.items() if k.split("/", 1)[0] in in_cycle},
        {k: r for k, r in report.objectives.items() if k in in_cycle},
    )


def evaluate_one_key_result(
    organization: Organization, kr: KeyResult, as_of: dt.date | None = None
) -> KeyResultResult:
    """The live engine result of one key result (forecast included), as `evaluate_cycle`
    gives it, from its own check-ins and milestones alone (a key result's numbers depend on
    nothing else): two queries at most, whatever the size of the cycle.
    ``kr.objective.cycle`` must be loaded."""
    day = as_of or organization_today(organization)
    checkins = list(CheckIn.objects.filter(key_result_id=kr.pk).order_by())
    milestones: list[Milestone] = []
    if kr.kind == KeyResultKind.MILESTONES or kr.curve == CurveKind.STEPPED:
        milestones = list(
            Milestone.objects.filter(key_result_id=kr.pk, archived_at__isnull=True).order_by()
        )
    return evaluate_key_result(
        key_result_input(kr, checkins, milestones), day, organization.engine_settings()
    )


# --- writing the stored columns -------------------------------------------------------------


def _fit(value: Decimal, limit: Decimal) -> Decimal:
    return max(-limit, min(limit, value))


def kr_stored_values(
    result: KeyResultResult, kr: KeyResult, history: Sequence[_CheckInLike]
) -> dict[str, Any]:
    """The stored progress columns (`KR_STORED_FIELDS`) of a key result for its engine result
    and check-in history, fitted to the columns' widths."""
    return {
        "progress": _fit(result.progress, _PROGRESS_LIMIT),
        "progress_raw": _fit(result.progress_raw, _RAW_LIMIT),
        "expected": _fit(result.expected, _PROGRESS_LIMIT),
        "status": result.status.value,
        "confidence": result.confidence,
        "current_value": history[-1].value if history else kr.start_value,
        "last_checkin_at": max((c.recorded_at for c in history), default=None),
    }


def objective_stored_values(result: ObjectiveResult) -> dict[str, Any]:
    """The stored progress columns (`OBJECTIVE_STORED_FIELDS`) of an objective's result."""
    return {
        "progress": _fit(result.progress, _PROGRESS_LIMIT),
        "expected": _fit(result.expected, _PROGRESS_LIMIT),
        "status": result.status.value,
    }


def _apply(row: Any, values: Mapping[str, Any]) -> bool:
    """Set ``values`` on ``row``; whether anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _write(model: type[KeyResult] | type[Objective], rows: list[Any], fields: Sequence[str]) -> int:
    return update_columns(model, rows, fields)


@transaction.atomic(savepoint=False)
def recompute_organization(
    organization: Organization, *, cycle: Cycle | None = None, as_of: dt.date | None = None
) -> Recomputed:
    """Recompute every stored progress column of the organization (or of one cycle and the
    objectives aligned below it) from a full engine evaluation as of ``as_of`` (default:
    today in the organization's time zone). Writes only rows whose values changed."""
    day = as_of or organization_today(organization)
    loaded = load_okrs(organization, cycle, history=checkin_history)
    report = evaluate_okrs(loaded.plan, day, with_forecast=False)
    # Only the stored columns are read back (and written): no other field is touched.
    kr_rows = {
        kr.pk: kr
        for kr in KeyResult.objects.filter(
            organization_id=organization.pk,
            archived_at__isnull=True,
            objective__in=live_objectives(organization.pk)
            .filter(loaded.objective_filter)
            .values("pk"),
        ).only("pk", "start_value", *KR_STORED_FIELDS)
    }
    objective_rows = {
        o.pk: o
        for o in live_objectives(organization.pk)
        .filter(loaded.objective_filter)
        .only("pk", *OBJECTIVE_STORED_FIELDS)
    }
    krs = [
        kr_rows[pk]
        for key, pk in loaded.key_result_ids.items()
        if _apply(
            kr_rows[pk],
            kr_stored_values(report.key_results[key], kr_rows[pk], loaded.histories[key]),
        )
    ]
    objectives = [
        objective_rows[pk]
        for key, pk in loaded.objective_ids.items()
        if _apply(objective_rows[pk], objective_stored_values(report.objectives[key]))
    ]
    return Recomputed(
        _write(KeyResult, krs, KR_STORED_FIELDS),
        _write(Objective, objectives, OBJECTIVE_STORED_FIELDS),
    )


# The check-in path's queries, compiled once per process (`milepost.prepared`): compiling
# them was most of a check-in's CPU (issue 9, W2). Placeholders: ids no row has.
_KR_CHECKINS = PreparedRows(
    lambda kr: CheckIn.objects.filter(key_result_id=kr).order_by().values_list(*CheckInRow._fields),
    kr=-1,
)
_LOCK_OBJECTIVE = PreparedRows(
    lambda org, objective: (
        live_objectives(org)
        .select_for_update(of=("self",))
        .filter(pk=objective)
        .values_list("key", "state", "progress", "expected", "status")
    ),
    org=-1,
    objective=-2,
)


class _StoredKeyResult(NamedTuple):
    """A key result as the roll-up of its objective reads it: its stored numbers."""

    pk: int
    key: str
    objective_id: int
    weight: Decimal
    current_value: Decimal
    progress_raw: Decimal
    progress: Decimal
    expected: Decimal
    status: str
    confidence: int | None


_OBJECTIVE_KEY_RESULTS = PreparedRows(
    lambda org, objective: (
        live_key_results(org)
        .filter(objective_id=objective)
        .order_by("key", "pk")
        .values_list(*_StoredKeyResult._fields)
    ),
    org=-1,
    objective=-2,
)


def _rollup_inputs(
    rows: Iterable[Sequence[Any]],
    objective_keys: Mapping[int, str],
    fresh: Mapping[int, KeyResultResult],
    day: dt.date,
) -> tuple[list[KeyResultInput], dict[str, KeyResultResult], dict[int, str]]:
    """What `rollup_objectives` needs of key results read as `_StoredKeyResult` rows: their
    inputs (only key, objective and weight matter to a roll-up; the rest is filler) and
    results (``fresh`` ones where given, else the stored numbers); and each one's path."""
    inputs: list[KeyResultInput] = []
    results: dict[str, KeyResultResult] = {}
    paths: dict[int, str] = {}
    for row in map(_StoredKeyResult._make, rows):
        objective_key = objective_keys[row.objective_id]
        path = f"{objective_key}/{row.key}"
        paths[row.pk] = path
        inputs.append(
            KeyResultInput(
                path,
                objective_key,
                row.key,
                KeyResultKind.INCREASE,
                Decimal(0),
                Decimal(1),
                day,
                day,
                row.weight,
            )
        )
        results[path] = fresh.get(row.pk) or KeyResultResult(
            path,
            row.current_value,
            row.progress_raw,
            row.progress,
            row.expected,
            Status(row.status),
            row.confidence,
            False,
            None,
            "",
            None,
            _STORED,
        )
    return inputs, results, paths


@transaction.atomic(savepoint=False)
def recompute_key_result_and_ancestors(
    key_result: KeyResult,
    *,
    as_of: dt.date | None = None,
    organization: Organization | None = None,
    also_write: Mapping[str, Any] | None = None,
    before_rollup: Callable[[], object] | None = None,
) -> Recomputed:
    """Re-evaluate one key result and roll up the objectives its change reaches: its own
    objective, and in the ``children`` and ``both`` roll-up modes every objective above it
    (through alignment, including links to a parent key result); write only those rows.

    ``key_result`` is taken as given for its definition (kind, numbers, window, curve,
    ``objective.cycle``; load ``owner`` too to save a query): pass a row just read, or locked,
    in the calling transaction. Its stored columns are updated on the instance and in the
    database; ``also_write`` names further columns of the key result written in the same
    UPDATE (a check-in's version bump).

    ``before_rollup`` runs once the key result is written and before any objective is locked
    (the check-in's audit insert): objectives are locked last, just before the caller's
    commit, so that concurrent check-ins under one objective (or, in the other modes, one
    tree) wait on its row for as short a time as possible (issue 9, W2).

    Called in the check-in transaction: in the default (``key_results``) mode five queries —
    check-ins, the key result's UPDATE, the objective's lock, its key results, its UPDATE —
    the reads compiled once per process, and no row of any other objective is locked, since
    alignment does not move progress in that mode (every check-in used to lock the whole
    chain up to the root, serialising all writes of a tree on its root's row lock).
    """
    organization = organization or Organization.objects.get(pk=key_result.organization_id)
    settings = organization.engine_settings()
    day = as_of or organization_today(organization)
    kr = key_result
    objective = kr.objective
    extra = dict(also_write or {})
    for name, value in extra.items():
        setattr(kr, name, value)
    if (
        kr.organization_id != organization.pk
        or kr.archived_at is not None
        or objective.archived_at is not None
        or objective.cycle.archived_at is not None
    ):  # not something the engine sees: nothing to recompute
        if extra:
            KeyResult.objects.filter(pk=kr.pk).update(**extra)
        if before_rollup is not None:
            before_rollup()
        return Recomputed(0, 0)

    checkins = [CheckInRow(*row) for row in _KR_CHECKINS.rows(kr=kr.pk)]
    milestones: list[Milestone] = []
    if kr.kind == KeyResultKind.MILESTONES or kr.curve == CurveKind.STEPPED:
        milestones = list(
            Milestone.objects.filter(key_result_id=kr.pk, archived_at__isnull=True).order_by()
        )
    result = evaluate_key_result(
        key_result_input(kr, checkins, milestones), day, settings, with_forecast=False
    )
    kr_changed = _apply(kr, kr_stored_values(result, kr, checkin_history(checkins)))
    fields = {name: getattr(kr, name) for name in KR_STORED_FIELDS} if kr_changed else {}
    if fields or extra:
        KeyResult.objects.filter(pk=kr.pk).update(**fields, **extra)
    if before_rollup is not None:
        before_rollup()

    if settings.rollup is not RollupMode.KEY_RESULTS:
        # Alignment moves progress up the chain: the general path rolls up the objective
        # and every ancestor (locked in id order), reading this key result's new columns.
        done = recompute_objectives_and_ancestors(
            organization, objective_ids={objective.pk}, as_of=day
        )
        return Recomputed(int(kr_changed), done.objectives)

    # Only the key result's own objective moves. Lock it before reading its key results, so
    # that a concurrent check-in on a sibling cannot roll it up from this one's old value.
    locked = _LOCK_OBJECTIVE.rows(org=organization.pk, objective=objective.pk)
    if not locked:
        return Recomputed(int(kr_changed), 0)
    key, state, progress, expected, status = locked[0]
    kr_inputs, kr_results, _ = _rollup_inputs(
        _OBJECTIVE_KEY_RESULTS.rows(org=organization.pk, objective=objective.pk),
        {objective.pk: key},
        {kr.pk: result},
        day,
    )
    rolled = rollup_objectives(
        [ObjectiveInput(key=key, title="", cycle_key="", state=ObjectiveState(state))],
        kr_inputs,
        kr_results,
        settings,
        day,
    )
    values = objective_stored_values(rolled[key])
    if (values["progress"], values["expected"], values["status"]) == (progress, expected, status):
        return Recomputed(int(kr_changed), 0)
    Objective.objects.filter(pk=objective.pk).update(**values)
    _apply(objective, values)
    return Recomputed(int(kr_changed), 1)


@transaction.atomic(savepoint=False)
def recompute_objectives_and_ancestors(
    organization: Organization,
    *,
    key_result_ids: Collection[int] = (),
    objective_ids: Collection[int] = (),
    as_of: dt.date | None = None,
) -> Recomputed:
    """Re-evaluate the given key results, then roll up their objectives, the given objectives,
    and every objective above any of them; write the rows whose values changed.

    Objectives on the path are locked (``SELECT ... FOR UPDATE``, in id order) before their
    inputs are read, so two concurrent check-ins under one objective cannot each roll it up
    from the other's stale value. Archived rows (and rows under archived ones) are skipped.
    """
    org_id = organization.pk
    settings = organization.engine_settings()
    day = as_of or organization_today(organization)

    # 1. The key results whose own inputs changed: evaluate them afresh.
    fresh_rows: list[KeyResult] = []
    if key_result_ids:
        fresh_rows = list(
            live_key_results(org_id)
            .filter(pk__in=list(key_result_ids))
            .select_related("objective__cycle", "owner")
            .order_by("pk")
        )
    histories: dict[int, list[CheckIn]] = {}
    fresh: dict[int, KeyResultResult] = {}
    if fresh_rows:
        ids = [kr.pk for kr in fresh_rows]
        checkins = _group_by_kr(CheckIn.objects.filter(key_result_id__in=ids))
        milestones: dict[int, list[Any]] = {}
        if any(
            kr.kind == KeyResultKind.MILESTONES or kr.curve == CurveKind.STEPPED
            for kr in fresh_rows
        ):
            milestones = _group_by_kr(
                Milestone.objects.filter(key_result_id__in=ids, archived_at__isnull=True)
            )
        for kr in fresh_rows:
            kr_in = key_result_input(kr, checkins.get(kr.pk, ()), milestones.get(kr.pk, ()))
            histories[kr.pk] = checkin_history(checkins.get(kr.pk, ()))
            fresh[kr.pk] = evaluate_key_result(kr_in, day, settings, with_forecast=False)

    # 2. The objectives to roll up: theirs, the given ones, and every ancestor.
    starts = {kr.objective_id for kr in fresh_rows} | set(objective_ids)
    if not starts:
        return Recomputed(0, 0)
    # Only the links that matter: up from the starts (one recursive query), and into the
    # objectives rolled up. Loading the whole organization's alignment on every check-in made
    # the write cost grow with the organization (issue 9, W2).
    targets = _with_ancestors(org_id, starts)
    # In `key_results` mode alignment does not change progress: the links are not needed.
    edges = [] if settings.rollup is RollupMode.KEY_RESULTS else _live_edges(org_id, into=targets)
    target_rows = list(
        live_objectives(org_id)
        .select_for_update(of=("self",))
        .filter(pk__in=sorted(targets))
        .order_by("pk")
    )
    targets = {o.pk for o in target_rows}
    if not targets:
        return Recomputed(0, 0)
    keys = {o.pk: o.key for o in target_rows}
    states = {o.pk: o.state for o in target_rows}

    # 3. Their other inputs, from the stored columns.
    previous: dict[str, ObjectiveResult] = {}
    if settings.rollup is not RollupMode.KEY_RESULTS:
        outside = {e.child for e in edges if e.parent in targets} - targets
        for pk, key, state, progress, expected, status in (
            live_objectives(org_id)
            .filter(pk__in=sorted(outside))
            .values_list("pk", "key", "state", "progress", "expected", "status")
        ):
            keys[pk] = key
            states[pk] = state
            previous[key] = ObjectiveResult(key, progress, expected, Status(status), _STORED)
    kr_inputs, kr_results, kr_keys = _rollup_inputs(
        live_key_results(org_id)
        .filter(objective_id__in=sorted(targets))
        .order_by("objective_id", "key", "pk")
        .values_list(*_StoredKeyResult._fields),
        keys,
        fresh,
        day,
    )

    links: dict[int, list[AlignmentLink]] = defaultdict(list)
    for e in edges:
        if e.child not in keys or e.parent not in targets:
            continue
        if e.parent_key_result is not None:
            if e.parent_key_result in kr_keys:
                links[e.child].append(
                    AlignmentLink(parent_key_result=kr_keys[e.parent_key_result], weight=e.weight)
                )
        else:
            links[e.child].append(AlignmentLink(parent_objective=keys[e.parent], weight=e.weight))
    objective_inputs = [
        ObjectiveInput(
            key=keys[pk],
            title="",
            cycle_key="",
            state=ObjectiveState(states[pk]),
            aligns_to=tuple(links.get(pk, ())),
        )
        for pk in sorted(keys)
    ]

    # 4. Roll up with the engine, children first, and write what changed.
    results = rollup_objectives(
        objective_inputs,
        kr_inputs,
        kr_results,
        settings,
        day,
        only={keys[pk] for pk in targets},
        previous=previous,
    )
    changed_krs = [
        kr
        for kr in fresh_rows
        if kr.objective_id in targets
        and _apply(kr, kr_stored_values(fresh[kr.pk], kr, histories[kr.pk]))
    ]
    changed_objectives = [
        o for o in target_rows if _apply(o, objective_stored_values(results[o.key]))
    ]
    return Recomputed(
        _write(KeyResult, changed_krs, KR_STORED_FIELDS),
        _write(Objective, changed_objectives, OBJECTIVE_STORED_FIELDS),
    )
