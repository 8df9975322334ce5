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


def _spread(initiative: InitiativeInput) -> list[tuple[date, Decimal]]:
    """(Monday, days of effort) for each week the initiative's dates touch."""
    start, end = initiative.start, initiative.end
    if start is None or end is None or end < start or initiative.effort_days <= 0:
        return []
    total_days = (end - start).days + 1
    effort = Decimal(initiative.effort_days)
    shares: list[tuple[date, Decimal]] = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        first = max(start, monday)
        last = min(end, monday + timedelta(days=6))
        days = (last - first).days + 1
        shares.append((monday, effort * days / total_days))
        monday += timedelta(days=7)
    return shares


def weekly_load(plan: Plan) -> dict[str, list[WeekLoad]]:
    """Committed effort per team and ISO week (see the module docstring for the rules).

    Every team of the plan has an entry; its weeks run without gaps from the first to the
    last week any of its committed initiatives touches (weeks in between have load 0).
    """
    capacity = {team.key: Decimal(team.capacity_days_per_week) for team in plan.teams}
    per_team: dict[str, dict[date, dict[str, Decimal]]] = {team.key: {} for team in plan.teams}
    for initiative in plan.initiatives:
        if initiative.team_key is None or initiative.status not in COMMITTED:
            continue
        weeks = per_team.setdefault(initiative.team_key, {})
        for monday, days in _spread(initiative):
            by_initiative = weeks.setdefault(monday, {})
            by_initiative[initiative.key] = by_initiative.get(initiative.key, _ZERO) + days
    result: dict[str, list[WeekLoad]] = {}
    for team_key, weeks in per_team.items():
        loads: list[WeekLoad] = []
        if weeks:
            monday, last = min(weeks), max(weeks)
            team_capacity = capacity.get(team_key, _ZERO)
            while monday <= last:
                contributions = weeks.get(monday, {})
                load = _round(sum(contributions.values(), _ZERO))
                loads.append(
                    WeekLoad(
                        week=iso_week(monday),
                        monday=monday,
                        load_days=load,
                        capacity_days=team_capacity,
                        over=team_capacity > 0 and load > team_capacity,
                        contributions=tuple(
                            sorted(
                                ((k, _round(v)) for k, v in contributions.items()),
                                key=lambda kv: (-kv[1], kv[0]),
                            )
                        ),
                    )
                )
                monday += timedelta(days=7)
        result[team_key] = loads
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
    """Where effort, hours and money go, rounded to 0.01 (see the module docstring)."""

    initiatives: dict[str, Spend] = field(default_factory=dict)
    key_results: dict[str, Spend] = field(default_factory=dict)
    objectives: dict[str, Spend] = field(default_factory=dict)
    teams: dict[str, Spend] = field(default_factory=dict)
    unaligned: Spend = field(default_factory=Spend)
    total: Spend = field(default_factory=Spend)


def initiative_spend(initiative: InitiativeInput) -> Spend:
    """One initiative's planned and actual numbers (a missing plan counts as 0)."""
    return Spend(
        effort_days=Decimal(initiative.effort_days),
        planned_hours=Decimal(initiative.planned_hours or 0),
        logged_hours=Decimal(initiative.logged_hours),
        planned_cost=Decimal(initiative.budget or 0),
        actual_cost=Decimal(initiative.actual_cost),
    )


def investment(plan: Plan) -> Investment:
    """Planned vs actual effort, hours and cost per initiative, key result, objective, team.

    Key results and objectives of the plan all appear (with zeros when nothing is invested
    in them); links to unknown key results are ignored.
    """
    kr_objective = {kr.key: kr.objective_key for kr in plan.key_results}
    by_initiative: dict[str, Spend] = {}
    by_kr: dict[str, Spend] = {kr.key: Spend() for kr in plan.key_results}
    by_objective: dict[str, Spend] = {o.key: Spend() for o in plan.objectives}
    by_team: dict[str, Spend] = {t.key: Spend() for t in plan.teams}
    unaligned = Spend()
    total = Spend()
    for initiative in plan.initiatives:
        spend = initiative_spend(initiative)
        by_initiative[initiative.key] = spend
        total += spend
        if initiative.team_key is not None:
            by_team[initiative.team_key] = by_team.get(initiative.team_key, Spend()) + spend
        links = [link for link in initiative.key_results if link.key_result in kr_objective]
        if not links:
            unaligned += spend
            continue
        weight_sum = sum((Decimal(link.weight) for link in links), _ZERO)
        for link in links:
            # All-zero weights would divide by zero; they mean "no preference": equal shares.
            share = Decimal(link.weight) / weight_sum if weight_sum > 0 else Decimal(1) / len(links)
            part = spend.scaled(share)
            by_kr[link.key_result] += part
            objective = kr_objective[link.key_result]
            by_objective[objective] = by_objective.get(objective, Spend()) + part
    return Investment(
        initiatives={k: v.rounded() for k, v in by_initiative.items()},
        key_results={k: v.rounded() for k, v in by_kr.items()},
        objectives={k: v.rounded() for k, v in by_objective.items()},
        teams={k: v.rounded() for k, v in by_team.items()},
        unaligned=unaligned.rounded(),
        total=total.rounded(),
    )
