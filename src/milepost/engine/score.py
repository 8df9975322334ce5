"""Scores at cycle close, and the net confidence score of a set of key results."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from milepost.engine.model import Status
from milepost.engine.progress import ONE, ZERO
from milepost.engine.results import Score

TENTH = Decimal("0.1")
MISSED_MAX = Decimal("0.3")
PARTIAL_MAX = Decimal("0.6")


def score(progress_clamped: Decimal) -> Score:
    """Score of a key result or objective at close.

    Progress is clamped to [0, 1] (even where over-achievement is allowed), rounded half up
    to 0.1, and graded: 0.0-0.3 ``missed``, 0.4-0.6 ``partial``, 0.7-1.0 ``achieved``.
    """
    value = min(max(progress_clamped, ZERO), ONE).quantize(TENTH, rounding=ROUND_HALF_UP)
    if value <= MISSED_MAX:
        grade = "missed"
    elif value <= PARTIAL_MAX:
        grade = "partial"
    else:
        grade = "achieved"
    return Score(value, grade)


def net_confidence_score(statuses: Iterable[Status]) -> Decimal:
    """% on track - % off track over ``statuses``, in [-100, 100], rounded half up to 0.1.

    ``done`` counts as on track (it is the best kind of on track); ``at_risk`` and
    ``not_started`` count in the total only. An empty set scores 0.
    """
    total = on = off = 0
    for s in statuses:
        total += 1
        if s is Status.ON_TRACK or s is Status.DONE:
            on += 1
        elif s is Status.OFF_TRACK:
            off += 1
    if not total:
        return Decimal("0.0")
    return (Decimal(100 * (on - off)) / Decimal(total)).quantize(TENTH, rounding=ROUND_HALF_UP)
