"""The cycle dashboard's aggregates, all from engine output or the stored columns the engine
maintains: status and progress distribution, the net confidence score
(`engine.score.net_confidence_score`), objectives by team, findings by severity, investment per
objective (`engine.capacity.investment`), and the trend of the cycle's overall progress
against expected (the engine evaluated at past dates).

The cycle's *overall progress* at a date is the mean of its objectives' progress weighted by
their weights (the same for expected progress): every objective of the cycle counts once,
whatever its level in the alignment.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from milepost.engine.capacity import Investment, Spend, investment
from milepost.engine.model import Plan, Status
from milepost.engine.okr import evaluate_okrs
from milepost.engine.results import ObjectiveResult, OkrReport
from milepost.engine.score import net_confidence_score
from milepost.reports.charts import TrendPoint

STATUS_ORDER = (Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK, Status.DONE, Status.NOT_STARTED)
BUCKETS = (
    (Decimal("0.25"), "0\N{EN DASH}24%"),
    (Decimal("0.5"), "25\N{EN DASH}49%"),
    (Decimal("0.75"), "50\N{EN DASH}74%"),
)
PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Share:
    """One bar of a distribution: how many, and their share of the total (0 to 1)."""

    key: str
    label: str
    count: int
    share: Decimal


def _shares(counts: Sequence[tuple[str, str, int]]) -> list[Share]:
    total = sum(c for _, _, c in counts)
    return [
        Share(key, label, count, (Decimal(count) / total).quantize(PLACES) if total else Decimal(0))
        for key, label, count in counts
    ]


def status_distribution(statuses: Iterable[str]) -> list[Share]:
    """How many key results are in each status (every status listed, in a fixed order)."""
    counts = Counter(statuses)
    return _shares(
        [(s.value, s.value.replace("_", " "), counts.get(s.value, 0)) for s in STATUS_ORDER]
    )


def progress_distribution(progress: Iterable[Decimal]) -> list[Share]:
    """How many key results are in each quarter of progress (100% and beyond together)."""
    counts = [0, 0, 0, 0]
    for p in progress:
        index = next((n for n, (limit, _) in enumerate(BUCKETS) if p < limit), 3)
        counts[index] += 1
    labels = [label for _, label in BUCKETS] + ["75\N{EN DASH}100%"]
    return _shares([(f"q{n}", labels[n], counts[n]) for n in range(4)])


def net_confidence(statuses: Iterable[str]) -> Decimal:
    """The engine's net confidence score (% on track minus % off track) of stored statuses."""
    return net_confidence_score(Status(s) for s in statuses)


def overall(
    results: Iterable[ObjectiveResult], weights: dict[str, Decimal]
) -> tuple[Decimal, Decimal]:
    """(progress, expected) of a set of objectives: their weighted mean (equal weights when
    every weight is zero); (0, 0) for none."""
    rows = [(weights.get(r.key, Decimal(1)), r.progress, r.expected) for r in results]
    if not rows:
        return Decimal(0), Decimal(0)
    total = sum((w for w, _, _ in rows), Decimal(0))
    if total <= 0:
        n = Decimal(len(rows))
        return (
            (sum((p for _, p, _ in rows), Decimal(0)) / n).quantize(PLACES, ROUND_HALF_UP),
            (sum((e for _, _, e in rows), Decimal(0)) / n).quantize(PLACES, ROUND_HALF_UP),
        )
    return (
        (sum((w * p for w, p, _ in rows), Decimal(0)) / total).quantize(PLACES, ROUND_HALF_UP),
        (sum((w * e for w, _, e in rows), Decimal(0)) / total).quantize(PLACES, ROUND_HALF_UP),
    )


def trend_dates(start: dt.date, end: dt.date, today: dt.date, step_days: int = 7) -> list[dt.date]:
    """Weekly dates from the cycle's start to today (or its end, if sooner), today included."""
    last = min(today, end)
    if last < start:
        return []
    days = [start + dt.timedelta(days=n) for n in range(0, (last - start).days + 1, step_days)]
    if days[-1] != last:
        days.append(last)
    return days


def cycle_trend(
    plan: Plan,
    cycle_key: str,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    objective_keys: set[str] | None = None,
    known: Iterable[TrendPoint] = (),
    today_report: OkrReport | None = None,
) -> list[TrendPoint]:
    """The overall progress of the cycle's objectives (or of `objective_keys` among them) at
    each week since the cycle started, from the engine evaluated as of each date. ``known``:
    points computed earlier for the same objectives from the same check-ins up to their
    dates; those dates are not evaluated again. ``today_report``: the plan's evaluation as
    of ``today`` when one is at hand (a page's kept evaluation): the last point reads it
    instead of evaluating the whole plan once more (a third of a second at full size)."""
    reuse = {p.on: p for p in known}
    keys = {
        o.key
        for o in plan.objectives
        if o.cycle_key == cycle_key and (objective_keys is None or o.key in objective_keys)
    }
    weights = {o.key: o.weight for o in plan.objectives if o.key in keys}
    points = []
    for day in trend_dates(start, end, today):
        if (point := reuse.get(day)) is not None:
            points.append(point)
            continue
        if today_report is not None and today_report.as_of == day:
            report = today_report
        else:
            report = evaluate_okrs(plan, day, with_forecast=False)
        progress, expected = overall(
            (r for k, r in report.objectives.items() if k in keys), weights
        )
        points.append(TrendPoint(day, progress, expected))
    return points


@dataclass(frozen=True, slots=True)
class InvestmentRow:
    key: str
    title: str
    spend: Spend


def investment_by_objective(
    plan: Plan, visible_keys: set[str], computed: Investment | None = None
) -> tuple[list[InvestmentRow], Spend]:
    """Planned vs actual hours and cost per objective the viewer may see (most spent first),
    and what went to work aligned to no key result."""
    inv = computed if computed is not None else investment(plan)
    titles = {o.key: o.title for o in plan.objectives}
    rows = [
        InvestmentRow(key, titles.get(key, key), spend)
        for key, spend in inv.objectives.items()
        if key in visible_keys
        and (spend.logged_hours or spend.actual_cost or spend.planned_cost or spend.planned_hours)
    ]
    rows.sort(key=lambda r: (-r.spend.actual_cost, -r.spend.logged_hours, r.title))
    return rows, inv.unaligned


@dataclass(frozen=True, slots=True)
class TeamGroup:
    """A team's objectives on the dashboard: the first ones shown, and how many there are."""

    name: str
    team_id: int | None  # None: objectives owned by no team
    shown: list[Any]
    total: int
    attention: int  # objectives at risk or off track

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


_ATTENTION = {Status.AT_RISK.value, Status.OFF_TRACK.value}


def team_groups(
    objectives: Iterable[Any], *, per_team: int, teams: int
) -> tuple[list[TeamGroup], int]:
    """Objectives grouped by their owner team ("No team" last), teams needing attention (the
    most objectives at risk or off track) first, then by name; in each group the objectives
    needing attention first, then in the given order. Each objective needs ``owner_team_id``,
    ``team_name`` and ``status``. At most `teams` groups of at most
    `per_team` objectives; also returns how many teams were left out. The dashboard of a
    20,000-person company stays a page, not a list of 7,500 objectives."""
    groups: dict[int | None, list[Any]] = defaultdict(list)
    names: dict[int | None, str] = {None: "No team"}
    for o in objectives:
        groups[o.owner_team_id].append(o)
        if o.owner_team_id is not None:
            names[o.owner_team_id] = o.team_name
    made = []
    for team_id, items in groups.items():
        urgent = [o for o in items if o.status in _ATTENTION]
        rest = [o for o in items if o.status not in _ATTENTION]
        made.append(
            TeamGroup(names[team_id], team_id, (urgent + rest)[:per_team], len(items), len(urgent))
        )
    made.sort(key=lambda g: (g.team_id is None, -g.attention, g.name.lower()))
    return made[:teams], max(0, len(made) - teams)
