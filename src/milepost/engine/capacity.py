"""Capacity and money: committed effort per team and ISO week, and where hours and money go.

Weekly load
    An initiative's effort (person-days) is spread evenly over the calendar days from its
    planned start to its planned end, both included, and summed per team and ISO week
    (Monday to Sunday, named like ``2026-W31``). Only committed work counts: initiatives
    that are planned, in progress or done. Proposed, on-hold and cancelled work, and work
    without both dates, is not counted. A team with a capacity of 0 (not set) is never over.

Investment
    Planned vs logged hours and planned (budget) vs actual cost per initiative, rolled up:
    per key result by the initiative's link weights (an initiative linked to two key results
    with weights 3 and 1 puts 75% of its numbers on the first), per objective (the sum over
    its key results), per team (the initiative's team) and in total. Work linked to no key
    result is summed as ``unaligned``. Every initiative counts, cancelled ones too: money
    already spent is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter

from milepost.engine.model import InitiativeInput, InitiativeStatus, Plan

#: Statuses whose effort counts against a team's capacity.
COMMITTED = frozenset(
    {InitiativeStatus.PLANNED, InitiativeStatus.IN_PROGRESS, InitiativeStatus.DONE}
)

_CENT = Decimal("0.01")
_ZERO = Decimal(0)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def iso_week(day: date) -> str:
    """The ISO week a day falls in, e.g. ``2026-W31``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class WeekLoad:
    """A team's committed effort in one ISO week, against its capacity (person-days)."""

    week: str  # "2026-W31"
    monday: date
    load_days: Decimal  # rounded to 0.01
    capacity_days: Decimal
    over: bool  # the load exceeds a capacity that is set (> 0)
    contributions: tuple[tuple[str, Decimal], ...]  # (initiative key, days), biggest first

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


def _spread(initiative: InitiativeInput) -> list[tuple[int, Decimal]]:
    """(Monday as an ordinal, days of effort) for each week the initiative's dates touch."""
    start, end = initiative.start, initiative.end
    effort = initiative.effort_days
    if start is None or end is None or end < start or effort <= 0:
        return []
    # Whole-day integer arithmetic: this runs for every initiative of large tenants.
    first, last = start.toordinal(), end.toordinal()
    total = last - first + 1
    shares: list[tuple[int, Decimal]] = []
    monday = first - start.weekday()
    while monday <= last:
        sunday = monday + 6
        days = (sunday if sunday < last else last) - (first if first > monday else monday) + 1
        shares.append((monday, effort * days / total))
        monday += 7
    return shares


def _biggest_first(contributions: dict[str, Decimal]) -> tuple[tuple[str, Decimal], ...]:
    ordered = sorted(contributions.items())  # by key, so that equal shares stay in key order
    ordered.sort(key=itemgetter(1), reverse=True)  # stable, even reversed
    return tuple((k, v.quantize(_CENT, rounding=ROUND_HALF_UP)) for k, v in ordered)


def weekly_load(plan: Plan) -> dict[str, list[WeekLoad]]:
    """Committed effort per team and ISO week (see the module docstring for the rules).

    Every team of the plan has an entry; its weeks run without gaps from the first to the
    last week any of its committed initiatives touches (weeks in between have load 0).
    """
    capacity = {team.key: Decimal(team.capacity_days_per_week) for team in plan.teams}
    per_team: dict[str, dict[int, dict[str, Decimal]]] = {team.key: {} for team in plan.teams}
    for initiative in plan.initiatives:
        if initiative.team_key is None or initiative.status not in COMMITTED:
            continue
        weeks = per_team.setdefault(initiative.team_key, {})
        key = initiative.key
        for monday, days in _spread(initiative):
            bucket = weeks.get(monday)
            if bucket is None:
                weeks[monday] = {key: days}
            else:
                bucket[key] = bucket.get(key, _ZERO) + days
    result: dict[str, list[WeekLoad]] = {}
    for team_key, weeks in per_team.items():
        loads: list[WeekLoad] = []
        if weeks:
            team_capacity = capacity.get(team_key, _ZERO)
            empty: dict[str, Decimal] = {}
            for monday in range(min(weeks), max(weeks) + 1, 7):
                contributions = weeks.get(monday, empty)
                load = _round(sum(contributions.values(), _ZERO))
                day = date.fromordinal(monday)
                loads.append(
                    WeekLoad(
                        week=iso_week(day),
                        monday=day,
                        load_days=load,
                        capacity_days=team_capacity,
                        over=team_capacity > 0 and load > team_capacity,
                        contributions=_biggest_first(contributions),
                    )
                )
        result[team_key] = loads
    return result


@dataclass(frozen=True, slots=True)
class OverWeek:
    """One week in which a team is over its capacity (see `weeks_over_capacity`)."""

    week: str  # "2026-W31"
    load_days: Decimal  # rounded to 0.01, as in `WeekLoad`
    initiatives: tuple[str, ...]  # keys of the committed work in that week, in plan order


def weeks_over_capacity(plan: Plan, as_of: date) -> dict[str, tuple[Decimal, list[OverWeek]]]:
    """The weeks that end on or after ``as_of`` in which a team's load exceeds its capacity.

    For each such team: (its capacity, those weeks in date order). The loads are exactly the
    ``load_days`` of `weekly_load` (same spreading, same sums in the same order, same
    rounding); only the weeks `weekly_load` would mark ``over`` and that have not ended
    before ``as_of`` are computed, and teams without a capacity are skipped, which is what
    makes this cheap enough for the plan-health check on large plans.
    """
    capacity = {team.key: Decimal(team.capacity_days_per_week) for team in plan.teams}
    # The first Monday whose week (Monday to Sunday) ends on or after as_of.
    from_monday = as_of.toordinal() - 6
    per_team: dict[str, dict[int, dict[str, Decimal]]] = {}
    committed = COMMITTED
    for initiative in plan.initiatives:
        team_key = initiative.team_key
        if team_key is None or initiative.status not in committed:
            continue
        if not capacity.get(team_key, _ZERO) > 0:
            continue  # a team with no capacity set is never over
        start, end = initiative.start, initiative.end
        effort = initiative.effort_days
        if start is None or end is None or end < start or effort <= 0:
            continue
        # The same arithmetic as `_spread`, for the weeks from the current one on.
        first, last = start.toordinal(), end.toordinal()
        total = last - first + 1
        monday = first - start.weekday()
        if monday < from_monday:
            monday += (from_monday - monday + 6) // 7 * 7
        if monday > last:
            continue
        weeks = per_team.get(team_key)
        if weeks is None:
            weeks = per_team[team_key] = {}
        key = initiative.key
        while monday <= last:
            sunday = monday + 6
            days = (sunday if sunday < last else last) - (first if first > monday else monday) + 1
            share = effort * days / total
            bucket = weeks.get(monday)
            if bucket is None:
                weeks[monday] = {key: share}
            else:
                bucket[key] = bucket.get(key, _ZERO) + share
            monday += 7
    result: dict[str, tuple[Decimal, list[OverWeek]]] = {}
    for team_key, weeks in per_team.items():
        team_capacity = capacity[team_key]
        over: list[OverWeek] = []
        for monday in sorted(weeks):
            contributions = weeks[monday]
            load = _round(sum(contributions.values(), _ZERO))
            if load > team_capacity:
                over.append(
                    OverWeek(iso_week(date.fromordinal(monday)), load, tuple(contributions))
                )
        if over:
            result[team_key] = (team_capacity, over)
    return result


@dataclass(frozen=True, slots=True)
class Spend:
    """Effort, hours and money of some work, planned and actual."""

    effort_days: Decimal = _ZERO
    planned_hours: Decimal = _ZERO
    logged_hours: Decimal = _ZERO
    planned_cost: Decimal = _ZERO
    actual_cost: Decimal = _ZERO

    def __add__(self, other: Spend) -> Spend:
        return Spend(
            self.effort_days + other.effort_days,
            self.planned_hours + other.planned_hours,
            self.logged_hours + other.logged_hours,
            self.planned_cost + other.planned_cost,
            self.actual_cost + other.actual_cost,
        )

    def scaled(self, share: Decimal) -> Spend:
        return Spend(
            self.effort_days * share,
            self.planned_hours * share,
            self.logged_hours * share,
            self.planned_cost * share,
            self.actual_cost * share,
        )

    def rounded(self) -> Spend:
        return Spend(
            _round(self.effort_days),
            _round(self.planned_hours),
            _round(self.logged_hours),
            _round(self.planned_cost),
            _round(self.actual_cost),
        )

    @property
    def hours_over(self) -> Decimal:
        """Logged hours beyond the plan (0 when within it)."""
        return max(_ZERO, self.logged_hours - self.planned_hours)

    @property
    def cost_over(self) -> Decimal:
        """Actual cost beyond the plan (0 when within it)."""
        return max(_ZERO, self.actual_cost - self.planned_cost)


@dataclass(frozen=True, slots=True)
class Investment:
    """Where effort, hours and money go (see the module docstring).

    Roll-ups are rounded to 0.01; an initiative's own numbers are given as entered.
    """

    initiatives: dict[str, Spend] = field(default_factory=dict)
    key_results: dict[str, Spend] = field(default_factory=dict)
    objectives: dict[str, Spend] = field(default_factory=dict)
    teams: dict[str, Spend] = field(default_factory=dict)
    unaligned: Spend = field(default_factory=Spend)
    total: Spend = field(default_factory=Spend)


_NO_SPEND = Spend()


def _rounded(values: list[Decimal]) -> Spend:
    return Spend(*(v.quantize(_CENT, rounding=ROUND_HALF_UP) for v in values))


def _add_into(totals: dict[str, list[Decimal]], key: str, values: list[Decimal]) -> None:
    current = totals.get(key)
    if current is None:
        totals[key] = list(values)
    else:
        for i, value in enumerate(values):
            current[i] += value


def investment(plan: Plan) -> Investment:
    """Planned vs actual effort, hours and cost per initiative, key result, objective, team.

    Key results, objectives and teams of the plan all appear (with zeros when nothing is
    invested in them); links to unknown key results are ignored.
    """
    kr_objective = {kr.key: kr.objective_key for kr in plan.key_results}
    # Running sums as plain lists (effort, planned hours, logged hours, budget, cost): tens
    # of thousands of intermediate frozen dataclasses would cost more than the arithmetic.
    by_initiative: dict[str, list[Decimal]] = {}
    by_kr: dict[str, list[Decimal]] = {}
    by_objective: dict[str, list[Decimal]] = {}
    by_team: dict[str, list[Decimal]] = {}
    unaligned = [_ZERO] * 5
    total = [_ZERO] * 5
    for initiative in plan.initiatives:
        values = [
            initiative.effort_days,
            initiative.planned_hours if initiative.planned_hours is not None else _ZERO,
            initiative.logged_hours,
            initiative.budget if initiative.budget is not None else _ZERO,
            initiative.actual_cost,
        ]
        _add_into(by_initiative, initiative.key, values)
        for i, value in enumerate(values):
            total[i] += value
        if initiative.team_key is not None:
            _add_into(by_team, initiative.team_key, values)
        links = [link for link in initiative.key_results if link.key_result in kr_objective]
        if not links:
            for i, value in enumerate(values):
                unaligned[i] += value
            continue
        weight_sum = sum((link.weight for link in links), _ZERO)
        for link in links:
            # All-zero weights would divide by zero; they mean "no preference": equal shares.
            share = link.weight / weight_sum if weight_sum > 0 else Decimal(1) / len(links)
            part = [value * share for value in values]
            _add_into(by_kr, link.key_result, part)
            _add_into(by_objective, kr_objective[link.key_result], part)
    return Investment(
        # An initiative's own numbers are its inputs, exact: only shares need rounding.
        initiatives={k: Spend(*v) for k, v in by_initiative.items()},
        key_results={
            kr.key: _rounded(by_kr[kr.key]) if kr.key in by_kr else _NO_SPEND
            for kr in plan.key_results
        },
        objectives={
            **{o.key: _NO_SPEND for o in plan.objectives},
            **{k: _rounded(v) for k, v in by_objective.items()},
        },
        teams={
            **{t.key: _NO_SPEND for t in plan.teams},
            **{k: _rounded(v) for k, v in by_team.items()},
        },
        unaligned=_rounded(unaligned),
        total=_rounded(total),
    )
