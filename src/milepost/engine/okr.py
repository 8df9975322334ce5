"""Evaluate OKRs: every key result's progress, expected progress, status, confidence and
forecast, then every objective's roll-up. The one entry point the apps and the CLI call.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import attrgetter

from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.expected import expected_value, explain_expected, time_share
from milepost.engine.explain import Explanation, Term, lazy_explanation
from milepost.engine.forecast import forecast
from milepost.engine.model import (
    CheckInPoint,
    Curve,
    EngineSettings,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    Plan,
    Status,
)
from milepost.engine.progress import (
    ONE,
    P0,
    P1,
    PLACES,
    ZERO,
    clamp,
    explain_progress,
    q4,
    raw_progress,
)
from milepost.engine.results import DeferredForecast, KeyResultResult, OkrReport
from milepost.engine.rollup import ancestors, build_alignment, rollup_objectives
from milepost.engine.status import (
    HIGH_CONFIDENCE,
    LOW_CONFIDENCE,
    confidence_disagrees,
    explain_status,
    status_value,
)

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
    ``"forecast not requested"``) where only progress and status are needed. The forecast
    (and every explanation) is computed when first read.
    """
    return _evaluate_key_results((kr,), as_of, settings, with_forecast)[kr.key]


def _evaluate_key_results(
    key_results: Iterable[KeyResultInput],
    as_of: date,
    settings: EngineSettings,
    with_forecast: bool,
) -> dict[str, KeyResultResult]:
    """`evaluate_key_result` for each of ``key_results``, by key, in one tight loop.

    This is the hot loop of every roll-up (tens of thousands of key results), so the rules
    of `_measure` (progress.py, expected.py, status.py) are inlined here on local names; the
    property tests check that both give the same results.
    """
    results: dict[str, KeyResultResult] = {}
    increase = KeyResultKind.INCREASE
    decrease = KeyResultKind.DECREASE
    binary = KeyResultKind.BINARY
    maintain = KeyResultKind.MAINTAIN
    stepped = Curve.STEPPED
    back_loaded = Curve.BACK_LOADED
    at_most = MaintainDirection.AT_MOST
    not_started = Status.NOT_STARTED
    done = Status.DONE
    on_track = Status.ON_TRACK
    at_risk = Status.AT_RISK
    off_track = Status.OFF_TRACK
    on_gap = settings.on_track_gap
    risk_gap = settings.at_risk_gap
    over = settings.allow_over_achievement
    cap = settings.over_achievement_cap
    capped = q4(cap)
    zero, one, p0, p1, places, half_up = ZERO, ONE, P0, P1, PLACES, ROUND_HALF_UP
    # Expected progress depends only on the window and the curve: computed once per window.
    shares: dict[tuple[date, date, bool], Decimal] = {}
    new_result = KeyResultResult.deferred
    no_forecast = NO_FORECAST_REQUESTED
    for kr in key_results:
        checkins = kr.checkins
        # The current value: usually the latest check-in is on or before the date.
        i = len(checkins)
        if i and checkins[-1].on > as_of:
            i = bisect_right(checkins, as_of, key=_on)
        confidence: int | None
        if i:
            point = checkins[i - 1]
            current = point.value
            last_on: date | None = point.on
            confidence = point.confidence
            j = i - 1
            while confidence is None and j:
                j -= 1
                confidence = checkins[j].confidence
        else:
            current = kr.start
            last_on = None
            confidence = None
        # Raw progress (progress.raw_progress), rounded half up to 4 places.
        kind = kr.kind
        if kind is increase or kind is decrease:
            start = kr.start
            span = kr.target - start
            if span:
                exact = (current - start) / span
                try:
                    raw = exact.quantize(places, half_up)
                except InvalidOperation:  # as q4: far beyond any clamp
                    raw = exact
                else:
                    if not raw:
                        raw = p0
            else:
                raw = raw_progress(kr, as_of, current)
        elif kind is binary:
            raw = p1 if current >= one else p0
        elif kind is maintain:
            if kr.maintain_direction is at_most:
                raw = p1 if current <= kr.target else p0
            else:
                raw = p1 if current >= kr.target else p0
        else:
            raw = raw_progress(kr, as_of, current)
        # Clamped progress (progress.clamp).
        if raw <= zero:
            clamped = p0
        elif over:
            clamped = capped if raw > cap else raw
        else:
            clamped = p1 if raw > one else raw
        # Expected progress (expected.expected_value).
        curve = kr.curve
        window_start = kr.window_start
        if curve is stepped and kr.milestones:
            expected = expected_value(kr, as_of)
        else:
            window = (window_start, kr.due, curve is back_loaded)
            found = shares.get(window)
            if found is None:
                found = shares[window] = time_share(
                    window_start, window[1], as_of, squared=window[2]
                )
            expected = found
        # Status (status.status_value) and whether confidence disagrees with it.
        if as_of < window_start:
            status = not_started
        elif clamped >= one:
            status = done
        else:
            gap = expected - clamped
            if gap <= on_gap:
                status = on_track
            elif gap <= risk_gap:
                status = at_risk
            else:
                status = off_track
        if confidence is None:
            disagrees = False
        elif confidence >= HIGH_CONFIDENCE:
            disagrees = status is off_track
        elif confidence <= LOW_CONFIDENCE:
            disagrees = status is on_track or status is done
        else:
            disagrees = False
        fc: DeferredForecast | None
        reason: DeferredForecast | str
        if with_forecast:
            fc = reason = DeferredForecast(forecast, kr, as_of)
        else:
            fc, reason = None, no_forecast
        # The explanation recomputes the (cheap, deterministic) numbers when it is first
        # read, so all it keeps is the inputs.
        results[kr.key] = new_result(
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
            last_on,
            lazy_explanation(_explain_key_result, kr, as_of, settings, reason),
        )
    return results


def _explain_key_result(
    kr: KeyResultInput,
    as_of: date,
    settings: EngineSettings,
    forecast_reason: str | DeferredForecast,
) -> Explanation:
    if isinstance(forecast_reason, DeferredForecast):
        forecast_reason = forecast_reason.resolve()[1]
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


def evaluate_okrs(
    plan: Plan,
    as_of: date,
    *,
    with_forecast: bool = True,
    same_but_checkins: OkrReport | None = None,
    changed: Collection[str] = (),
) -> OkrReport:
    """Evaluate every key result and objective of ``plan`` as of ``as_of``.

    ``same_but_checkins``: the report (as of the same date, with the same ``with_forecast``)
    of a plan that differs from ``plan`` only in the check-ins of the key results
    ``changed`` (their keys). Those are evaluated again, and the objectives they belong to
    and every objective above those roll up again; everything else is taken from it (after
    a check-in on a 30,000-key-result plan: a fraction of the work).

    Raises `AlignmentCycleError` if the objectives' alignment has a loop.
    """
    settings = plan.settings
    # Hundreds of thousands of small objects are built here and none forms a reference
    # cycle; a cyclic collection in the middle would only rescan them.
    with cyclic_gc_paused():
        graph = build_alignment(plan.objectives, plan.key_results)
        if same_but_checkins is None or same_but_checkins.as_of != as_of:
            kr_results = _evaluate_key_results(plan.key_results, as_of, settings, with_forecast)
            objectives = rollup_objectives(
                plan.objectives, plan.key_results, kr_results, settings, as_of, graph=graph
            )
            return OkrReport(as_of, kr_results, objectives)
        keys = set(changed)
        again = [kr for kr in plan.key_results if kr.key in keys]
        kr_results = dict(same_but_checkins.key_results)
        kr_results.update(_evaluate_key_results(again, as_of, settings, with_forecast))
        owners = {kr.objective_key for kr in again}
        above = {a for owner in owners for a in ancestors(owner, graph)}
        objectives = rollup_objectives(
            plan.objectives,
            plan.key_results,
            kr_results,
            settings,
            as_of,
            only=owners | above,
            previous=same_but_checkins.objectives,
            graph=graph,
        )
        return OkrReport(as_of, kr_results, objectives)
