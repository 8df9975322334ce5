"""The plain data the engine reads: an organization's plan as frozen dataclasses.

This module is the contract between the engine and everything that feeds it. The Django
apps load rows into these types; the plan-file reader (`milepost.plans`/`engine.planfile`)
parses YAML/JSON into them. Nothing here imports Django or does I/O.

Keys are strings unique within their kind. A key result's key is ``"<objective>/<kr>"``
so it is unique in the whole plan. Decimal is used for every metric value and money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class KeyResultKind(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    MAINTAIN = "maintain"
    BINARY = "binary"
    MILESTONES = "milestones"


class MaintainDirection(StrEnum):
    AT_LEAST = "at_least"  # stay at or above the threshold (the target)
    AT_MOST = "at_most"  # stay at or below the threshold (the target)


class Curve(StrEnum):
    LINEAR = "linear"
    BACK_LOADED = "back_loaded"
    STEPPED = "stepped"


class Status(StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    DONE = "done"


class RollupMode(StrEnum):
    KEY_RESULTS = "key_results"
    CHILDREN = "children"
    BOTH = "both"


class ObjectiveStatusMode(StrEnum):
    WORST = "worst"  # the worst status of its inputs
    GAP = "gap"  # from its own expected-vs-actual gap


class CycleState(StrEnum):
    PLANNING = "planning"
    ACTIVE = "active"
    CLOSED = "closed"


class ObjectiveState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class InitiativeStatus(StrEnum):
    PROPOSED = "proposed"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"


class DependencyType(StrEnum):
    FS = "FS"  # successor starts after predecessor finishes
    SS = "SS"  # successor starts after predecessor starts
    FF = "FF"  # successor finishes after predecessor finishes
    SF = "SF"  # successor finishes after predecessor starts


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Organization settings that change how numbers are computed (all have defaults)."""

    on_track_gap: Decimal = Decimal("0.10")
    at_risk_gap: Decimal = Decimal("0.25")
    allow_over_achievement: bool = False
    over_achievement_cap: Decimal = Decimal("1.5")
    rollup: RollupMode = RollupMode.KEY_RESULTS
    objective_status: ObjectiveStatusMode = ObjectiveStatusMode.WORST
    stale_after_days: int = 14
    max_key_results_per_objective: int = 5
    max_objectives_per_team: int = 5
    output_done_share: Decimal = Decimal("0.8")


@dataclass(frozen=True, slots=True)
class CheckInPoint:
    """One recorded value of a key result. ``on`` is the calendar date in the org timezone."""

    on: date
    value: Decimal
    confidence: int | None = None


@dataclass(frozen=True, slots=True)
class MilestoneRef:
    """A milestone as seen by a `milestones` key result (its weight in that key result)."""

    key: str
    on: date
    weight: Decimal = Decimal(1)
    done_on: date | None = None


@dataclass(frozen=True, slots=True)
class KeyResultInput:
    key: str  # "<objective_key>/<kr_key>"
    objective_key: str
    title: str
    kind: KeyResultKind
    start: Decimal
    target: Decimal
    window_start: date  # the cycle start
    due: date  # defaults to the cycle end
    weight: Decimal = Decimal(1)
    curve: Curve = Curve.LINEAR
    maintain_direction: MaintainDirection = MaintainDirection.AT_LEAST
    checkins: tuple[CheckInPoint, ...] = ()  # sorted by date, oldest first
    milestones: tuple[MilestoneRef, ...] = ()  # for `milestones` kind and `stepped` curve
    owner: str | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class AlignmentLink:
    """The child objective contributes to a parent objective or a parent key result."""

    parent_objective: str | None = None
    parent_key_result: str | None = None  # "<objective_key>/<kr_key>"
    weight: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class ObjectiveInput:
    key: str
    title: str
    cycle_key: str
    team_key: str | None = None
    owner: str | None = None
    weight: Decimal = Decimal(1)
    state: ObjectiveState = ObjectiveState.ACTIVE
    aligns_to: tuple[AlignmentLink, ...] = ()


@dataclass(frozen=True, slots=True)
class TeamInput:
    key: str
    name: str
    parent_key: str | None = None
    capacity_days_per_week: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CycleInput:
    key: str
    name: str
    start: date
    end: date
    state: CycleState = CycleState.ACTIVE


@dataclass(frozen=True, slots=True)
class InitiativeKeyResultLink:
    key_result: str  # "<objective_key>/<kr_key>"
    weight: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class InitiativeInput:
    key: str
    title: str
    team_key: str | None
    status: InitiativeStatus
    start: date | None
    end: date | None
    effort_days: Decimal = Decimal(0)
    budget: Decimal | None = None  # planned cost
    actual_cost: Decimal = Decimal(0)
    planned_hours: Decimal | None = None
    logged_hours: Decimal = Decimal(0)
    tasks_total: int = 0
    tasks_done: int = 0
    key_results: tuple[InitiativeKeyResultLink, ...] = ()
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class MilestoneInput:
    key: str
    name: str
    on: date
    initiative_key: str | None = None
    done_on: date | None = None


@dataclass(frozen=True, slots=True)
class DependencyInput:
    """``predecessor`` and ``successor`` are initiative or milestone keys."""

    predecessor: str
    successor: str
    type: DependencyType = DependencyType.FS
    lag_days: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole organization's plan (or one cycle of it), ready for the engine."""

    organization_name: str = ""
    timezone: str = "UTC"
    settings: EngineSettings = field(default_factory=EngineSettings)
    teams: tuple[TeamInput, ...] = ()
    cycles: tuple[CycleInput, ...] = ()
    objectives: tuple[ObjectiveInput, ...] = ()
    key_results: tuple[KeyResultInput, ...] = ()
    initiatives: tuple[InitiativeInput, ...] = ()
    milestones: tuple[MilestoneInput, ...] = ()
    dependencies: tuple[DependencyInput, ...] = ()
