"""What the engine returns: plain frozen dataclasses, each with its explanation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVarTuple

from milepost.engine.explain import Explanation
from milepost.engine.model import Severity, Status

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class Forecast:
    """Least-squares projection of the value at the due date, with an 80% interval."""

    value: Decimal
    low: Decimal
    high: Decimal
    progress: Decimal  # raw progress the projected value would give
    explanation: Explanation


class DeferredForecast:
    """A key result's forecast and its reason, computed by ``factory(*args)`` when first read.

    The engine evaluates tens of thousands of key results at once and most forecasts are
    never looked at; a `KeyResultResult` may hold one of these in place of its ``forecast``
    and ``forecast_reason`` (see `KeyResultResult.deferred`). Reading either field computes
    the pair once and keeps it, so the result behaves exactly as if it had been computed up
    front (same values, equality, hash, repr and pickling).
    """

    __slots__ = ("_args", "_factory", "_value")

    def __init__(self, factory: Callable[[*Ts], tuple[Forecast | None, str]], *args: *Ts) -> None:
        self._factory: Callable[..., tuple[Forecast | None, str]] | None = factory
        self._args: tuple[object, ...] = args
        self._value: tuple[Forecast | None, str] = (None, "")

    def resolve(self) -> tuple[Forecast | None, str]:
        """(forecast, reason): computed on the first call, then kept."""
        factory = self._factory
        if factory is not None:
            self._value = factory(*self._args)
            self._factory = None
            self._args = ()
        return self._value


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

    @classmethod
    def deferred(
        cls,
        key: str,
        current: Decimal,
        progress_raw: Decimal,
        progress: Decimal,
        expected: Decimal,
        status: Status,
        confidence: int | None,
        confidence_disagrees: bool,
        forecast: Forecast | DeferredForecast | None,
        forecast_reason: str | DeferredForecast,
        last_checkin_on: date | None,
        explanation: Explanation,
    ) -> KeyResultResult:
        """The same result as the constructor, built faster, with the forecast possibly deferred.

        Pass one `DeferredForecast` as both ``forecast`` and ``forecast_reason`` to compute
        them when first read. The engine builds a result per key result on every roll-up;
        this skips the frozen dataclass's per-field ``object.__setattr__`` calls.
        """
        self = _new(cls)
        _set_key(self, key)
        _set_current(self, current)
        _set_progress_raw(self, progress_raw)
        _set_progress(self, progress)
        _set_expected(self, expected)
        _set_status(self, status)
        _set_confidence(self, confidence)
        _set_confidence_disagrees(self, confidence_disagrees)
        _set_forecast(self, forecast)
        _set_forecast_reason(self, forecast_reason)
        _set_last_checkin_on(self, last_checkin_on)
        _set_explanation(self, explanation)
        return self


# The slots of KeyResultResult, set directly by `KeyResultResult.deferred`.
_new = object.__new__
_slot: dict[str, Any] = {
    name: KeyResultResult.__dict__[name] for name in KeyResultResult.__dataclass_fields__
}
_set_key = _slot["key"].__set__
_set_current = _slot["current"].__set__
_set_progress_raw = _slot["progress_raw"].__set__
_set_progress = _slot["progress"].__set__
_set_expected = _slot["expected"].__set__
_set_status = _slot["status"].__set__
_set_confidence = _slot["confidence"].__set__
_set_confidence_disagrees = _slot["confidence_disagrees"].__set__
_set_forecast = _slot["forecast"].__set__
_set_forecast_reason = _slot["forecast_reason"].__set__
_set_last_checkin_on = _slot["last_checkin_on"].__set__
_set_explanation = _slot["explanation"].__set__
_get_forecast = _slot["forecast"].__get__
_get_forecast_reason = _slot["forecast_reason"].__get__


def _resolved(result: KeyResultResult, held: DeferredForecast) -> tuple[Forecast | None, str]:
    fc, reason = held.resolve()
    _set_forecast(result, fc)
    _set_forecast_reason(result, reason)
    return fc, reason


def _read_forecast(result: KeyResultResult) -> Forecast | None:
    held = _get_forecast(result)
    if type(held) is DeferredForecast:
        return _resolved(result, held)[0]
    fc: Forecast | None = held
    return fc


def _read_forecast_reason(result: KeyResultResult) -> str:
    held = _get_forecast_reason(result)
    if type(held) is DeferredForecast:
        return _resolved(result, held)[1]
    reason: str = held
    return reason


# ``forecast`` and ``forecast_reason`` read through these properties, so a deferred forecast
# is computed on first read; they write the slots, which the dataclass's own __init__,
# __setstate__ and replace() go through unchanged.
for _name, _prop in (
    ("forecast", property(_read_forecast, _set_forecast)),
    ("forecast_reason", property(_read_forecast_reason, _set_forecast_reason)),
):
    setattr(KeyResultResult, _name, _prop)


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    key: str
    progress: Decimal
    expected: Decimal
    status: Status
    explanation: Explanation

    @classmethod
    def fast(
        cls,
        key: str,
        progress: Decimal,
        expected: Decimal,
        status: Status,
        explanation: Explanation,
    ) -> ObjectiveResult:
        """The same result as the constructor, built without its per-field overhead."""
        self = _new(cls)
        _set_o_key(self, key)
        _set_o_progress(self, progress)
        _set_o_expected(self, expected)
        _set_o_status(self, status)
        _set_o_explanation(self, explanation)
        return self


_set_o_key = ObjectiveResult.__dict__["key"].__set__
_set_o_progress = ObjectiveResult.__dict__["progress"].__set__
_set_o_expected = ObjectiveResult.__dict__["expected"].__set__
_set_o_status = ObjectiveResult.__dict__["status"].__set__
_set_o_explanation = ObjectiveResult.__dict__["explanation"].__set__


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
