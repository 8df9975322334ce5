"""Evaluate OKRs: every key result's progress, expected progress, status, confidence and
forecast, then every objective's roll-up. The one entry point the apps and the CLI call.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal
from operator import attrgetter

from milepost.engine.expected import expected_value, explain_expected
from milepost.engine.explain import Explanation, LazyExplanation, Term
from milepost.engine.forecast import forecast
from milepost.engine.model import CheckInPoint, EngineSettings, KeyResultInput, Plan, Status
from milepost.engine.progress import clamp, explain_progress, raw_progress
from milepost.engine.results import KeyResultResult, OkrReport
from milepost.engine.rollup import build_alignment, rollup_objectives
from milepost.engine.status import confidence_disagrees, explain_status, status_value

NO_FORECAST_REQUESTED = "forecast not requested"

_on = attrgetter("on")


_Measured = tuple[Decimal, CheckInPoint | None, int | None, Decimal, Decimal, Decimal, Status]


def _measure(kr: KeyResultInput, as_of: date, settings: EngineSettings) -> _Measured:
    """(current, its check-in, confidence, raw, clamped, expected, status) as of ``as_of``."""
    checkins = kr.checkins
    # Usually the latest check-in is on or before the date: skip the search then.
    i = len(checkins)
    if i and checkins[-1].on > as_of:
        i = bisect_right(checkins, as_of, key=_on)
    point: CheckInPoint | None
    confidence: int | None = None
    if i:
        point = checkins[i - 1]
        current = point.value
        j = i
        while j:
            j -= 1
            confidence = checkins[j].confidence
            if confidence is not None:
                break
    else:
        point = None
        current = kr.start
    raw = raw_progress(kr, as_of, current)
    clamped = clamp(raw, settings)
    expected = expected_value(kr, as_of)
    status = status_value(clamped, expected, as_of, kr.window_start, settings)
    return current, point, confidence, raw, clamped, expected, status


def evaluate_key_result(
    kr: KeyResultInput, as_of: date, settings: EngineSettings, *, with_forecast: bool = True
) -> KeyResultResult:
    """Everything the product shows about one key result as of ``as_of``.

    Confidence is the latest confidence given in a check-in on or before ``as_of`` (None if
    none was). ``with_forecast=False`` skips the forecast (None, reason
    ``"forecast not requested"``) where only progress and status are needed.
    """
    current, point, confidence, raw, clamped, expected, status = _measure(kr, as_of, settings)
    disagrees = confidence_disagrees(status, confidence)
    if with_forecast:
        fc, reason = forecast(kr, as_of)
    else:
        fc, reason = None, NO_FORECAST_REQUESTED
    # The explanation recomputes the (cheap, deterministic) numbers when it is first read,
    # so all it keeps is the inputs.
    explanation = LazyExplanation(_explain_key_result, kr, as_of, settings, reason)
    return KeyResultResult(
        kr.key,
        current,
        raw,
        clamped,
        expected,
        status,
        confidence,
        disagrees,
        fc,
        reason,
        point.on if point is not None else None,
        explanation,
    )


def _explain_key_result(
    kr: KeyResultInput, as_of: date, settings: EngineSettings, forecast_reason: str
) -> Explanation:
    current, point, confidence, raw, clamped, expected, status = _measure(kr, as_of, settings)
    disagrees = confidence_disagrees(status, confidence)
    progress = explain_progress(kr, as_of, settings, current, point, raw, clamped)
    exp = explain_expected(kr, as_of, expected)
    st = explain_status(status, clamped, expected, as_of, kr.window_start, settings)
    if confidence is None:
        conf = Term("confidence", "none", "no check-in gave a confidence")
    else:
        conf = Term(
            "confidence",
            f"{confidence}/10",
            "disagrees with the status" if disagrees else "consistent with the status",
        )
    notes = [*progress.notes, *exp.notes, *st.notes]
    if disagrees:
        notes.append(
            f"confidence {confidence}/10 disagrees with status {status.value.replace('_', ' ')}"
        )
    if forecast_reason:
        notes.append(f"no forecast: {forecast_reason}")
    return Explanation(
        "key_result",
        f"progress {progress.summary}; expected {exp.summary}; {st.summary}",
        (
            *progress.terms,
            *(t for t in exp.terms if t.label != "expected"),
            Term("expected", str(expected), exp.rule),
            *(t for t in st.terms if t.label not in {"progress", "expected"}),
            Term("status", status.value, st.rule),
            conf,
        ),
        tuple(notes),
    )


def evaluate_okrs(plan: Plan, as_of: date, *, with_forecast: bool = True) -> OkrReport:
    """Evaluate every key result and objective of ``plan`` as of ``as_of``.

    Raises `AlignmentCycleError` if the objectives' alignment has a loop.
    """
    settings = plan.settings
    kr_results = {
        kr.key: evaluate_key_result(kr, as_of, settings, with_forecast=with_forecast)
        for kr in plan.key_results
    }
    graph = build_alignment(plan.objectives, plan.key_results)
    objectives = rollup_objectives(
        plan.objectives, plan.key_results, kr_results, settings, as_of, graph=graph
    )
    return OkrReport(as_of, kr_results, objectives)
