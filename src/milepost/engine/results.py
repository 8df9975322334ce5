"""What the engine returns: plain frozen dataclasses, each with its explanation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from milepost.engine.explain import Explanation
from milepost.engine.model import Severity, Status


@dataclass(frozen=True, slots=True)
class Forecast:
    """Least-squares projection of the value at the due date, with an 80% interval."""

    value: Decimal
    low: Decimal
    high: Decimal
    progress: Decimal  # raw progress the projected value would give
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class KeyResultResult:
    key: str
    current: Decimal  # value as of the date (latest check-in on/before it, else start)
    progress_raw: Decimal
    progress: Decimal  # clamped (or capped when over-achievement is allowed)
    expected: Decimal
    status: Status
    confidence: int | None
    confidence_disagrees: bool
    forecast: Forecast | None
    forecast_reason: str  # why there is no forecast ("" when there is one)
    last_checkin_on: date | None
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    key: str
    progress: Decimal
    expected: Decimal
    status: Status
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class OkrReport:
    as_of: date
    key_results: dict[str, KeyResultResult] = field(default_factory=dict)
    objectives: dict[str, ObjectiveResult] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Score:
    value: Decimal  # clamped progress rounded to 0.1
    grade: str  # "missed" | "partial" | "achieved"


@dataclass(frozen=True, slots=True)
class ScheduledItem:
    key: str
    duration_days: int
    earliest_start: date
    earliest_finish: date
    latest_start: date
    latest_finish: date
    slack_days: int
    critical: bool


@dataclass(frozen=True, slots=True)
class Schedule:
    items: dict[str, ScheduledItem]
    critical_paths: tuple[tuple[str, ...], ...]
    project_start: date | None
    project_finish: date | None


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable, e.g. "kr-uncovered"
    severity: Severity
    message: str  # a sentence a manager understands
    objects: tuple[str, ...]  # keys of the objects involved ("objective:seo", "kr:seo/pv", ...)


@dataclass(frozen=True, slots=True)
class PriorityResult:
    key: str  # initiative key
    rank: int
    score: Decimal
    aligned: bool
    explanation: Explanation
