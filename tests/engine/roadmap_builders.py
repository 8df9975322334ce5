"""Small builders for the roadmap engine tests (plain engine inputs, no Django)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from milepost.engine.explain import Explanation
from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    CycleInput,
    CycleState,
    DependencyInput,
    DependencyType,
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    MilestoneInput,
    ObjectiveInput,
    ObjectiveState,
    Plan,
    Status,
    TeamInput,
)
from milepost.engine.results import KeyResultResult, OkrReport

JUL1 = date(2026, 7, 1)  # a Wednesday
SEP30 = date(2026, 9, 30)


def day(value: int | date) -> date:
    """``value`` days after 1 July 2026, or the date itself."""
    return JUL1 + timedelta(days=value) if isinstance(value, int) else value


def jul(n: int) -> date:
    return date(2026, 7, n)


def ini(
    key: str,
    start: int | date | None = None,
    end: int | date | None = None,
    *,
    team: str | None = "web",
    status: InitiativeStatus = InitiativeStatus.PLANNED,
    effort: str | int = 0,
    krs: tuple[str | tuple[str, str | int], ...] = (),
    budget: str | int | None = None,
    actual_cost: str | int = 0,
    planned_hours: str | int | None = None,
    logged_hours: str | int = 0,
    tasks: tuple[int, int] = (0, 0),
) -> InitiativeInput:
    links = tuple(
        InitiativeKeyResultLink(k, Decimal(1))
        if isinstance(k, str)
        else InitiativeKeyResultLink(k[0], Decimal(k[1]))
        for k in krs
    )
    return InitiativeInput(
        key=key,
        title=key.title(),
        team_key=team,
        status=status,
        start=day(start) if start is not None else None,
        end=day(end) if end is not None else None,
        effort_days=Decimal(effort),
        budget=Decimal(budget) if budget is not None else None,
        actual_cost=Decimal(actual_cost),
        planned_hours=Decimal(planned_hours) if planned_hours is not None else None,
        logged_hours=Decimal(logged_hours),
        tasks_done=tasks[0],
        tasks_total=tasks[1],
        key_results=links,
    )


def mile(key: str, on: int | date, *, done_on: date | None = None) -> MilestoneInput:
    return MilestoneInput(key=key, name=key.title(), on=day(on), done_on=done_on)


def dep(a: str, b: str, kind: str = "FS", lag: int = 0) -> DependencyInput:
    return DependencyInput(a, b, DependencyType(kind), lag)


def team(key: str = "web", capacity: str | int = 10) -> TeamInput:
    return TeamInput(key=key, name=key.title(), capacity_days_per_week=Decimal(capacity))


def cycle(
    key: str = "q3",
    start: date = JUL1,
    end: date = SEP30,
    state: CycleState = CycleState.ACTIVE,
) -> CycleInput:
    return CycleInput(key=key, name=key.upper(), start=start, end=end, state=state)


def objective(
    key: str,
    *,
    cycle_key: str = "q3",
    team_key: str | None = "web",
    state: ObjectiveState = ObjectiveState.ACTIVE,
    aligns_to: tuple[AlignmentLink, ...] = (),
) -> ObjectiveInput:
    return ObjectiveInput(
        key=key,
        title=key.title(),
        cycle_key=cycle_key,
        team_key=team_key,
        state=state,
        aligns_to=aligns_to,
    )


def keyresult(
    key: str,
    *,
    kind: KeyResultKind = KeyResultKind.INCREASE,
    due: date = SEP30,
    window_start: date = JUL1,
    checkins: tuple[date, ...] = (),
) -> KeyResultInput:
    return KeyResultInput(
        key=key,
        objective_key=key.split("/")[0],
        title=key.split("/")[1].title(),
        kind=kind,
        start=Decimal(0),
        target=Decimal(100),
        window_start=window_start,
        due=due,
        checkins=tuple(CheckInPoint(on, Decimal(10)) for on in checkins),
    )


def result(
    key: str,
    status: Status = Status.ON_TRACK,
    progress: str | int = "0.5",
    confidence: int | None = None,
) -> KeyResultResult:
    value = Decimal(progress)
    return KeyResultResult(
        key=key,
        current=value * 100,
        progress_raw=value,
        progress=min(Decimal(1), max(Decimal(0), value)),
        expected=value,
        status=status,
        confidence=confidence,
        confidence_disagrees=False,
        forecast=None,
        forecast_reason="fewer than 3 check-ins",
        last_checkin_on=None,
        explanation=Explanation(rule="test", summary="test"),
    )


def report(as_of: date, *results: KeyResultResult) -> OkrReport:
    return OkrReport(as_of=as_of, key_results={r.key: r for r in results})


def schedule_plan(
    *items: InitiativeInput | MilestoneInput, deps: tuple[DependencyInput, ...] = ()
) -> Plan:
    """A plan holding just schedule items and dependencies."""
    return Plan(
        initiatives=tuple(i for i in items if isinstance(i, InitiativeInput)),
        milestones=tuple(m for m in items if isinstance(m, MilestoneInput)),
        dependencies=deps,
    )
