"""Key-result progress as of a date: the current value and how far it is from start to target.

Rules (the user contract is docs/concepts.md):

- The *current value* as of a date D is the latest check-in on or before D (of several on the
  same day, the last one recorded), else the start value.
- ``increase`` / ``decrease``: raw = (current - start) / (target - start); the sign of the
  denominator handles direction, so both kinds use the same formula.
- ``binary``: 1 once the current value is >= 1 (1 means done, 0 not done), else 0.
- ``milestones``: weighted share of the key result's milestones done on or before D.
- ``maintain``: 1 while the current value is on the right side of the threshold (the target),
  else 0; `maintain_share_held` reports the share of elapsed days it held.
- Raw progress is rounded to 4 decimal places (half up). The value that rolls up is clamped to
  [0, 1], or to [0, cap] when the organization allows over-achievement.

Check-ins arrive sorted by date (oldest first), so lookups are a binary search, not a scan.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import attrgetter

from milepost.engine.explain import Explanation, LazyExplanation, Term
from milepost.engine.model import (
    CheckInPoint,
    EngineSettings,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
)

ZERO = Decimal(0)
ONE = Decimal(1)
PLACES = Decimal("0.0001")
# Progress values always carry 4 places, so they print alike ("0.0000", not "0" or "-0").
P0 = Decimal("0.0000")
P1 = Decimal("1.0000")

_on = attrgetter("on")


def q4(value: Decimal) -> Decimal:
    """``value`` rounded half up to 4 decimal places (the precision of every progress value)."""
    try:
        # Rounding passed positionally: the keyword form costs twice as much in _decimal.
        rounded = value.quantize(PLACES, ROUND_HALF_UP)
    except InvalidOperation:  # too many digits to hold 4 places: already far beyond any clamp
        return value
    return rounded if rounded else P0  # no negative zero (0 / -6 is -0 in decimal arithmetic)


@dataclass(frozen=True, slots=True)
class ProgressValue:
    """Progress of one key result as of a date.

    ``raw`` may be below 0 or above 1; ``clamped`` is what rolls up and drives status;
    ``current`` is the value used; ``checkin`` the check-in it came from (None: start value).
    """

    raw: Decimal
    clamped: Decimal
    current: Decimal
    explanation: Explanation
    checkin: CheckInPoint | None = None


def checkins_through(kr: KeyResultInput, as_of: date) -> int:
    """How many of ``kr.checkins`` are dated on or before ``as_of`` (they are sorted)."""
    return bisect_right(kr.checkins, as_of, key=_on)


def current_value(kr: KeyResultInput, as_of: date) -> tuple[Decimal, CheckInPoint | None]:
    """The value as of ``as_of``: the latest check-in on or before it, else the start value.

    Returns the value and the check-in it came from (None when it is the start value).
    """
    i = bisect_right(kr.checkins, as_of, key=_on)
    if i:
        point = kr.checkins[i - 1]
        return point.value, point
    return kr.start, None


def holds(kr: KeyResultInput, value: Decimal) -> bool:
    """Whether ``value`` is on the right side of a maintain key result's threshold."""
    if kr.maintain_direction is MaintainDirection.AT_MOST:
        return value <= kr.target
    return value >= kr.target


def milestone_share(kr: KeyResultInput, as_of: date) -> Decimal:
    """Weighted share (4 places) of ``kr.milestones`` done on or before ``as_of``; 0 if none."""
    total = ZERO
    done = ZERO
    for m in kr.milestones:
        total += m.weight
        if m.done_on is not None and m.done_on <= as_of:
            done += m.weight
    if total <= 0:
        return P0
    return q4(done / total)


def raw_progress(kr: KeyResultInput, as_of: date, current: Decimal) -> Decimal:
    """Raw (unclamped) progress of ``kr`` given its current value, rounded to 4 places."""
    kind = kr.kind
    if kind is KeyResultKind.INCREASE or kind is KeyResultKind.DECREASE:
        span = kr.target - kr.start
        if span:
            return q4((current - kr.start) / span)
        # A target equal to the start is invalid input (plan checks reject it); the only
        # meaningful reading is "reached or not".
        reached = current >= kr.target if kind is KeyResultKind.INCREASE else current <= kr.target
        return P1 if reached else P0
    if kind is KeyResultKind.BINARY:
        return P1 if current >= ONE else P0
    if kind is KeyResultKind.MILESTONES:
        return milestone_share(kr, as_of)
    return P1 if holds(kr, current) else P0


def clamp(raw: Decimal, settings: EngineSettings) -> Decimal:
    """Clamp raw progress to [0, 1], or [0, cap] when over-achievement is allowed."""
    if raw <= 0:
        return P0
    if settings.allow_over_achievement:
        cap = settings.over_achievement_cap
        return q4(cap) if raw > cap else raw
    return P1 if raw > ONE else raw


def maintain_share_held(kr: KeyResultInput, as_of: date) -> Decimal:
    """Share (4 places) of elapsed days on which a maintain key result held its threshold.

    The days counted run from ``kr.window_start`` to ``as_of`` or ``kr.due``, whichever is
    earlier, both included. On each day the value in effect is the latest check-in on or before
    that day (the start value before the first one). Before the window starts there are no
    elapsed days and the share is 1 if the current value holds, else 0.
    """
    start = kr.window_start
    end = min(as_of, kr.due)
    checkins = kr.checkins
    if end < start:
        value, _ = current_value(kr, as_of)
        return P1 if holds(kr, value) else P0
    first = bisect_right(checkins, start, key=_on)
    last = bisect_right(checkins, end, key=_on)
    value = checkins[first - 1].value if first else kr.start
    held = 0
    day = start
    for point in checkins[first:last]:
        if holds(kr, value):
            held += (point.on - day).days
        day = point.on
        value = point.value
    if holds(kr, value):
        held += (end - day).days + 1
    return q4(Decimal(held) / Decimal((end - start).days + 1))


def key_result_progress(kr: KeyResultInput, as_of: date, settings: EngineSettings) -> ProgressValue:
    """Progress of ``kr`` as of ``as_of``: raw, clamped, the current value and why."""
    current, checkin = current_value(kr, as_of)
    raw = raw_progress(kr, as_of, current)
    clamped = clamp(raw, settings)
    explanation = LazyExplanation(
        explain_progress, kr, as_of, settings, current, checkin, raw, clamped
    )
    return ProgressValue(raw, clamped, current, explanation, checkin)


def _current_term(
    kr: KeyResultInput, as_of: date, current: Decimal, checkin: CheckInPoint | None
) -> Term:
    if checkin is None:
        return Term("current", str(current), f"start value: no check-in on or before {as_of}")
    return Term("current", str(current), f"check-in on {checkin.on}")


def _clamp_note(raw: Decimal, clamped: Decimal, settings: EngineSettings) -> tuple[str, ...]:
    if raw == clamped:
        return ()
    if raw < 0:
        return (f"raw progress {raw} is below 0; {clamped} rolls up",)
    if settings.allow_over_achievement:
        return (
            f"raw progress {raw} is above the over-achievement cap "
            f"{settings.over_achievement_cap}; {clamped} rolls up",
        )
    return (f"raw progress {raw} is above 1 (over-achievement not allowed); 1 rolls up",)


def explain_progress(
    kr: KeyResultInput,
    as_of: date,
    settings: EngineSettings,
    current: Decimal,
    checkin: CheckInPoint | None,
    raw: Decimal,
    clamped: Decimal,
) -> Explanation:
    """The explanation of a progress value computed by `key_result_progress`."""
    kind = kr.kind
    cur = _current_term(kr, as_of, current, checkin)
    result_terms = (Term("raw progress", str(raw)), Term("clamped progress", str(clamped)))
    notes = _clamp_note(raw, clamped, settings)
    if kind is KeyResultKind.INCREASE or kind is KeyResultKind.DECREASE:
        terms = (Term("start", str(kr.start)), Term("target", str(kr.target)), cur, *result_terms)
        if kr.target == kr.start:
            return Explanation(
                f"progress.{kind.value}",
                f"target equals start ({kr.target}): progress is {raw} "
                f"({'reached' if raw else 'not reached'})",
                terms,
                ("target must differ from start; treated as reached or not", *notes),
            )
        extra: tuple[str, ...] = ()
        wrong_way = (kind is KeyResultKind.INCREASE) == (kr.target < kr.start)
        if wrong_way:
            extra = (
                f"kind is {kind.value} but the target lies on the other side of the start; "
                "the formula follows the target",
            )
        return Explanation(
            f"progress.{kind.value}",
            f"({current} - {kr.start}) / ({kr.target} - {kr.start}) = {raw}",
            terms,
            (*extra, *notes),
        )
    if kind is KeyResultKind.BINARY:
        return Explanation(
            "progress.binary",
            f"binary: current value {current} is {'done (>= 1)' if raw else 'not done (< 1)'}, "
            f"progress {raw}",
            (cur, *result_terms),
            notes,
        )
    if kind is KeyResultKind.MILESTONES:
        terms_m = tuple(
            Term(
                f"milestone {m.key}",
                "done" if m.done_on is not None and m.done_on <= as_of else "not done",
                f"weight {m.weight}, due {m.on}"
                + (f", done on {m.done_on}" if m.done_on is not None else ""),
            )
            for m in kr.milestones
        )
        total = sum((m.weight for m in kr.milestones), ZERO)
        done = sum(
            (m.weight for m in kr.milestones if m.done_on is not None and m.done_on <= as_of),
            ZERO,
        )
        no_ms = ("no milestones linked; progress is 0",) if not kr.milestones else ()
        return Explanation(
            "progress.milestones",
            f"milestones: weight done {done} / total weight {total} = {raw}",
            (*terms_m, *result_terms),
            (*no_ms, *notes),
        )
    side = "at or below" if kr.maintain_direction is MaintainDirection.AT_MOST else "at or above"
    share = maintain_share_held(kr, as_of)
    return Explanation(
        "progress.maintain",
        f"maintain {side} {kr.target}: current value {current} "
        f"{'holds' if raw else 'does not hold'}, progress {raw}",
        (
            Term("threshold", str(kr.target), f"stay {side}"),
            cur,
            *result_terms,
            Term("share of elapsed days held", str(share), f"since {kr.window_start}"),
        ),
        notes,
    )
