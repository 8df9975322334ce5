"""Confidence calibration: how well owners' confidence matched what their key results achieved.

Each check-in that gives a confidence is a *forecast*: confidence ``c`` (0-10) says "the key
result will be achieved with probability ``c / 10``". The *outcome* is 1 when the key result's
score at close is at least 0.7 (graded ``achieved``, see `milepost.engine.score`), else 0.

Over a group of forecasts (one owner's, one team's, or everyone's in a cycle):

* **Brier score** = mean of ``(c / 10 - outcome)²``: 0 is perfect foresight, 0.25 is what a
  constant 5/10 earns, 1 is confidently wrong every time. Lower is better.
* **Mean confidence** = mean of ``c / 10``; **hit rate** = mean of the outcomes (over the same
  forecasts, so a key result checked in on more often weighs more).
* **Bias** = mean confidence - hit rate. Above ``+tolerance`` (default 0.10) the group is
  *over-confident* (it expected more than it achieved), below ``-tolerance``
  *under-confident*, otherwise *well calibrated*. With fewer than ``min_forecasts`` (default
  3) forecasts there are *too few check-ins* to judge, and the tendency says so.

Numbers are Decimals rounded half up to 4 places. A team's forecasts are those on key results
of objectives the team owns; an owner's, those on key results they own (whoever typed the
check-in: the owner answers for the confidence of their key result).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from milepost.engine.explain import Explanation, Term
from milepost.engine.model import Plan
from milepost.engine.results import OkrReport
from milepost.engine.score import score

ACHIEVED_SCORE = Decimal("0.7")
DEFAULT_TOLERANCE = Decimal("0.10")
DEFAULT_MIN_FORECASTS = 3
_Q4 = Decimal("0.0001")
_TEN = Decimal(10)
_ZERO = Decimal(0)

OVER = "over-confident"
UNDER = "under-confident"
CALIBRATED = "well calibrated"
TOO_FEW = "too few check-ins"


def _q4(value: Decimal) -> Decimal:
    return value.quantize(_Q4, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Forecasts:
    """The confidences given on one key result, and whether it was achieved in the end."""

    key_result: str
    confidences: tuple[int, ...]  # each 0-10, in check-in order
    achieved: bool
    owner: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class Calibration:
    """How one group's confidence matched the results (see the module docstring)."""

    forecasts: int
    key_results: int
    brier: Decimal | None  # None without forecasts
    mean_confidence: Decimal | None
    hit_rate: Decimal | None
    bias: Decimal | None
    tendency: str
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    overall: Calibration
    owners: dict[str, Calibration] = field(default_factory=dict)
    teams: dict[str, Calibration] = field(default_factory=dict)


def calibrate(
    items: Iterable[Forecasts],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    min_forecasts: int = DEFAULT_MIN_FORECASTS,
    label: str = "everyone",
) -> Calibration:
    """The Brier score, mean confidence, hit rate, bias and tendency of ``items`` together."""
    rows = [i for i in items if i.confidences]
    n = sum(len(i.confidences) for i in rows)
    if n == 0:
        return Calibration(
            0,
            0,
            None,
            None,
            None,
            None,
            TOO_FEW,
            Explanation(
                "calibration.none",
                f"{label}: no check-in gave a confidence, so there is nothing to compare",
            ),
        )
    squares = _ZERO
    probability_sum = _ZERO
    hits = 0
    for item in rows:
        outcome = Decimal(1) if item.achieved else _ZERO
        for c in item.confidences:
            p = Decimal(c) / _TEN
            squares += (p - outcome) ** 2
            probability_sum += p
            if item.achieved:
                hits += 1
    total = Decimal(n)
    brier = _q4(squares / total)
    mean_confidence = _q4(probability_sum / total)
    hit_rate = _q4(Decimal(hits) / total)
    bias = _q4(probability_sum / total - Decimal(hits) / total)
    if n < min_forecasts:
        tendency = TOO_FEW
    elif bias > tolerance:
        tendency = OVER
    elif bias < -tolerance:
        tendency = UNDER
    else:
        tendency = CALIBRATED
    achieved = sum(1 for i in rows if i.achieved)
    explanation = Explanation(
        "calibration.brier",
        f"{label}: Brier score {brier} over {n} forecasts on {len(rows)} key results; "
        f"mean confidence {mean_confidence} vs hit rate {hit_rate}: bias {bias:+} ({tendency})",
        (
            Term("forecasts", str(n), "check-ins that gave a confidence"),
            Term(
                "key results",
                str(len(rows)),
                f"{achieved} achieved (score ≥ {ACHIEVED_SCORE}), {len(rows) - achieved} not",
            ),
            Term("sum of squared errors", str(squares), "Σ (confidence/10 - outcome)²"),
            Term("Brier score", str(brier), "sum of squared errors / forecasts (0 is perfect)"),
            Term("mean confidence", str(mean_confidence), "mean of confidence/10"),
            Term("hit rate", str(hit_rate), "share of the forecasts whose key result was achieved"),
            Term(
                "bias",
                f"{bias:+}",
                f"mean confidence - hit rate; beyond ±{tolerance} is over- or under-confident",
            ),
        ),
        (f"fewer than {min_forecasts} forecasts: too few to judge",) if n < min_forecasts else (),
    )
    return Calibration(n, len(rows), brier, mean_confidence, hit_rate, bias, tendency, explanation)


def calibration_report(
    items: Iterable[Forecasts],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    min_forecasts: int = DEFAULT_MIN_FORECASTS,
) -> CalibrationReport:
    """Calibration of everyone, of each owner and of each team over ``items``. Owners and
    teams with no forecast at all are left out."""
    rows = [i for i in items if i.confidences]
    by_owner: dict[str, list[Forecasts]] = defaultdict(list)
    by_team: dict[str, list[Forecasts]] = defaultdict(list)
    for item in rows:
        if item.owner is not None:
            by_owner[item.owner].append(item)
        if item.team is not None:
            by_team[item.team].append(item)

    def group(key: str, members: list[Forecasts]) -> Calibration:
        return calibrate(members, tolerance=tolerance, min_forecasts=min_forecasts, label=key)

    return CalibrationReport(
        overall=calibrate(rows, tolerance=tolerance, min_forecasts=min_forecasts),
        owners={k: group(k, v) for k, v in sorted(by_owner.items())},
        teams={k: group(k, v) for k, v in sorted(by_team.items())},
    )


def forecasts_from_plan(
    plan: Plan, report: OkrReport, *, outcomes: Mapping[str, bool] | None = None
) -> list[Forecasts]:
    """One `Forecasts` per key result of ``plan``: the confidences of its check-ins up to the
    report's date, achieved when the score of its progress in ``report`` is at least 0.7
    (``outcomes`` may give the outcome of a key result instead). Owner and team come from the
    key result's owner and its objective's team."""
    teams = {o.key: o.team_key for o in plan.objectives}
    items = []
    for kr in plan.key_results:
        result = report.key_results.get(kr.key)
        if result is None:
            continue
        if outcomes is not None and kr.key in outcomes:
            achieved = outcomes[kr.key]
        else:
            achieved = score(result.progress).value >= ACHIEVED_SCORE
        items.append(
            Forecasts(
                key_result=kr.key,
                confidences=tuple(
                    c.confidence
                    for c in kr.checkins
                    if c.confidence is not None and c.on <= report.as_of
                ),
                achieved=achieved,
                owner=kr.owner,
                team=teams.get(kr.objective_key),
            )
        )
    return items
