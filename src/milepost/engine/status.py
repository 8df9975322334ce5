"""Status of a key result (or objective) at a date, and how it compares with confidence.

- ``not_started`` before the window starts;
- ``done`` when clamped progress is 1 or more;
- otherwise from gap = expected - clamped progress: ``on_track`` if gap <= on-track gap
  (default 0.10), ``at_risk`` if gap <= at-risk gap (default 0.25), ``off_track`` beyond.

Statuses rank, best to worst: done, not_started, on_track, at_risk, off_track. "Worst" means
"needs the most attention": a key result that has not started asks nothing of anyone yet,
so it ranks better than one that is running, and anything running ranks below done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from milepost.engine.explain import Explanation, LazyExplanation, Term
from milepost.engine.model import EngineSettings, Status
from milepost.engine.progress import ONE

#: Worst first. `worst_status` picks the earliest present.
STATUS_SEVERITY: tuple[Status, ...] = (
    Status.OFF_TRACK,
    Status.AT_RISK,
    Status.ON_TRACK,
    Status.NOT_STARTED,
    Status.DONE,
)
_RANK = {s: i for i, s in enumerate(STATUS_SEVERITY)}

#: Confidence at or above this while off track, or at or below `LOW_CONFIDENCE` while on
#: track or done, is a disagreement worth flagging.
HIGH_CONFIDENCE = 7
LOW_CONFIDENCE = 3


def status_from_gap(progress: Decimal, expected: Decimal, settings: EngineSettings) -> Status:
    """Status from clamped progress and expected progress, for a started item."""
    if progress >= ONE:
        return Status.DONE
    gap = expected - progress
    if gap <= settings.on_track_gap:
        return Status.ON_TRACK
    if gap <= settings.at_risk_gap:
        return Status.AT_RISK
    return Status.OFF_TRACK


def status_value(
    progress_clamped: Decimal,
    expected: Decimal,
    as_of: date,
    window_start: date,
    settings: EngineSettings,
) -> Status:
    """The status `key_result_status` returns, without building its explanation."""
    if as_of < window_start:
        return Status.NOT_STARTED
    return status_from_gap(progress_clamped, expected, settings)


def key_result_status(
    progress_clamped: Decimal,
    expected: Decimal,
    as_of: date,
    window_start: date,
    settings: EngineSettings,
) -> tuple[Status, Explanation]:
    """Status of a key result at ``as_of`` and the rule that chose it."""
    status = status_value(progress_clamped, expected, as_of, window_start, settings)
    return status, LazyExplanation(
        explain_status, status, progress_clamped, expected, as_of, window_start, settings
    )


def explain_status(
    status: Status,
    progress: Decimal,
    expected: Decimal,
    as_of: date,
    window_start: date | None,
    settings: EngineSettings,
) -> Explanation:
    """Why ``status`` was chosen (``window_start`` None: the item has no window of its own)."""
    if status is Status.NOT_STARTED:
        when = f"the window starts {window_start}" if window_start else "no input has started"
        return Explanation(
            "status.not_started",
            f"not started: {as_of} is before the window ({when})",
            (Term("as of", str(as_of)),),
        )
    terms = (Term("progress", str(progress), "clamped"), Term("expected", str(expected)))
    if status is Status.DONE:
        return Explanation("status.done", f"done: progress {progress} reached 1", terms)
    gap = expected - progress
    on, risk = settings.on_track_gap, settings.at_risk_gap
    if status is Status.ON_TRACK:
        why = f"gap {gap} <= {on}"
    elif status is Status.AT_RISK:
        why = f"{on} < gap {gap} <= {risk}"
    else:
        why = f"gap {gap} > {risk}"
    return Explanation(
        f"status.{status.value}",
        f"{status.value.replace('_', ' ')}: expected {expected} - progress {progress} = "
        f"gap {gap}; {why}",
        (
            *terms,
            Term("gap", str(gap), "expected - progress"),
            Term("on-track gap", str(on), "organization setting"),
            Term("at-risk gap", str(risk), "organization setting"),
        ),
    )


def confidence_disagrees(status: Status, confidence: int | None) -> bool:
    """True when the owner's confidence contradicts the status.

    That is: confidence >= 7 while off track, or confidence <= 3 while on track or done.
    No confidence never disagrees.
    """
    if confidence is None:
        return False
    if confidence >= HIGH_CONFIDENCE:
        return status is Status.OFF_TRACK
    if confidence <= LOW_CONFIDENCE:
        return status is Status.ON_TRACK or status is Status.DONE
    return False


def worst_status(statuses: Iterable[Status]) -> Status:
    """The worst of ``statuses`` (see `STATUS_SEVERITY`); ``not_started`` when empty."""
    best = len(STATUS_SEVERITY)
    for s in statuses:
        rank = _RANK[s]
        if rank < best:
            best = rank
            if rank == 0:
                break
    return STATUS_SEVERITY[best] if best < len(STATUS_SEVERITY) else Status.NOT_STARTED
