"""Weekly check-in histories that tell a story, from a key result's spec and a seeded RNG.

A story fixes where the key result stands *today* relative to its expected progress (the same
curve the engine uses); the path to that point is drawn backwards from it with a little noise.
The last value is nudged, one unit of its precision at a time, until the gap to expected lands
inside the story's band with a margin, so the engine's status matches the story whatever the
rounding of the unit. Pure: no Django, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from milepost.demo.specs import KRSpec, Story
from milepost.engine.expected import time_share

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Point:
    """One check-in to write."""

    on: date
    value: Decimal
    confidence: int
    note: str


@dataclass(frozen=True, slots=True)
class MilestonePlan:
    """A milestone as seen by a `milestones` key result."""

    on: date
    weight: Decimal
    done_on: date | None


# Gap bands (expected - progress) each story aims for, with a margin inside the engine's
# default thresholds (on track <= 0.10 < at risk <= 0.25 < off track).
_BANDS: dict[Story, tuple[Decimal, Decimal]] = {
    Story.ON_TRACK: (Decimal("-0.08"), Decimal("0.07")),
    Story.RECOVERING: (Decimal("-0.05"), Decimal("0.07")),
    Story.AHEAD: (Decimal("-0.25"), Decimal("-0.05")),
    Story.AT_RISK: (Decimal("0.13"), Decimal("0.22")),
    Story.OFF_TRACK: (Decimal("0.29"), Decimal("2")),
    Story.FLAT: (Decimal("0.29"), Decimal("2")),
}

# The engine's status bands themselves (on track also excludes reaching the target: done).
_ON = (Decimal("-0.9999"), Decimal("0.10"))
_STATUS_BANDS: dict[Story, tuple[Decimal, Decimal]] = {
    Story.ON_TRACK: _ON,
    Story.RECOVERING: _ON,
    Story.AHEAD: _ON,
    Story.AT_RISK: (Decimal("0.1001"), Decimal("0.25")),
    Story.OFF_TRACK: (Decimal("0.2501"), Decimal("2")),
    Story.FLAT: (Decimal("0.2501"), Decimal("2")),
}

NOTES: dict[str, tuple[str, ...]] = {
    "good": (
        "On plan this week.",
        "Steady progress, no blockers.",
        "Moving as expected.",
        "Good week: the latest release helped.",
        "In line with the plan.",
        "Small gain; the trend holds.",
    ),
    "ahead": (
        "Ahead of plan.",
        "Better than expected; watching for seasonality.",
        "Strong week, well above the curve.",
    ),
    "risk": (
        "Slower than planned; reviewing options with the team.",
        "Behind plan while we wait on a dependency.",
        "Slipping. Moved one more person onto it.",
        "Holiday week slowed us down.",
    ),
    "off": (
        "Well behind plan; we need a decision on scope.",
        "Not moving. Raised it in the leadership sync.",
        "Far off the curve. Re-planning with the team.",
    ),
    "dip": (
        "Dip after the incident; recovery plan agreed.",
        "Worse this week. Root cause found, fix in review.",
    ),
    "climb": (
        "Recovering: the fix landed.",
        "Back on the curve.",
        "Second good week in a row.",
    ),
    "flat": ("No change yet.", "Flat again; investigating.", "Still flat."),
    "done": ("Done!", "Target reached.", "Reached it; keeping it there."),
    "hold": ("Holding comfortably.", "Within the threshold.", "Stable."),
    "breach": ("Crossed the threshold this week.", "Over the line; action plan in progress."),
    "pending": ("Not done yet; work in progress.", "Still open.", "Getting closer."),
    "milestone": ("Next milestone in sight.", "Milestone work on schedule.", "Plan on track."),
}


def quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def to_value(spec: KRSpec, progress: float) -> Decimal:
    """The metric value at ``progress`` of the way from start to target, at its precision."""
    start, target = Decimal(spec.start), Decimal(spec.target)
    raw = start + (target - start) * Decimal(repr(progress))
    return raw.quantize(quantum(spec.decimals), rounding=ROUND_HALF_UP)


def progress_of(spec: KRSpec, value: Decimal) -> Decimal:
    """Clamped progress of an increase/decrease value (as the engine computes it)."""
    start, target = Decimal(spec.start), Decimal(spec.target)
    p = ((value - start) / (target - start)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return min(max(p, ZERO), ONE)


def checkin_dates(
    start: date, today: date, last_gap: int, rng: random.Random, *, skip: float = 0.1
) -> list[date]:
    """Weekly dates ending ``last_gap`` days before today, never before the cycle's day 3;
    a week is skipped with probability ``skip`` (never the latest)."""
    dates: list[date] = []
    day = today - timedelta(days=last_gap)
    first = True
    while day >= start + timedelta(days=3):
        if first or rng.random() >= skip:
            dates.append(day)
        first = False
        day -= timedelta(days=7)
    return sorted(dates)


def _expected(spec: KRSpec, start: date, due: date, on: date) -> float:
    return float(time_share(start, due, on, squared=spec.curve == "back_loaded"))


def _confidence(rng: random.Random, low: int, high: int) -> int:
    return max(0, min(10, rng.randint(low, high)))


def _note(rng: random.Random, bank: str) -> str:
    # About a third of check-ins carry no note, as in real life.
    return "" if rng.random() < 0.35 else rng.choice(NOTES[bank])


def _nudge_final(spec: KRSpec, value: Decimal, expected: Decimal) -> Decimal:
    """Move ``value`` one quantum at a time until its gap sits in the story's band; when the
    unit is too coarse for that band (8 hires: steps of 0.125), in the status's whole band."""
    tight = _BANDS.get(spec.story)
    if tight is None:
        return value
    step = quantum(spec.decimals)
    toward_target = step if Decimal(spec.target) > Decimal(spec.start) else -step
    for low, high in (tight, _STATUS_BANDS[spec.story]):
        candidate, previous = value, 0
        for _ in range(1000):
            gap = expected - progress_of(spec, candidate)
            if low <= gap <= high:
                return candidate
            direction = -1 if gap < low else 1
            if previous and direction != previous:
                break  # stepped over the band: it is narrower than one quantum
            previous = direction
            candidate += direction * toward_target
    return value


def active_series(
    spec: KRSpec,
    *,
    start: date,
    due: date,
    today: date,
    rng: random.Random,
    milestones: Sequence[MilestonePlan] = (),
) -> list[Point]:
    """The check-ins of a key result in the active cycle, oldest first, telling its story."""
    story = spec.story
    last_gap = rng.randint(23, 30) if story is Story.STALE else rng.randint(0, 4)
    dates = checkin_dates(start, today, last_gap, rng)
    if not dates:
        return []
    e_today = _expected(spec, start, due, today)
    if spec.kind == "maintain":
        points = _maintain(spec, dates, rng)
    elif spec.kind == "binary":
        points = _binary(spec, dates, rng)
    elif spec.kind == "milestones":
        points = _milestones(dates, rng, milestones)
    else:
        points = _metric(spec, dates, start, due, e_today, rng)
    if spec.confidence is not None or spec.note:
        last = points[-1]
        points[-1] = Point(
            last.on,
            last.value,
            spec.confidence if spec.confidence is not None else last.confidence,
            spec.note or last.note,
        )
    return points


def _metric(
    spec: KRSpec,
    dates: Sequence[date],
    start: date,
    due: date,
    e_today: float,
    rng: random.Random,
) -> list[Point]:
    story = spec.story
    n = len(dates)
    expected = [_expected(spec, start, due, d) for d in dates]
    if story is Story.STALE:
        # Last seen a little ahead of the curve; the curve has moved on since.
        final = min(expected[-1] + 0.12, 0.95)
    else:
        final = {
            Story.ON_TRACK: e_today + rng.uniform(-0.05, 0.04),
            Story.AHEAD: min(e_today + rng.uniform(0.09, 0.16), 0.95),
            Story.AT_RISK: e_today - rng.uniform(0.15, 0.2),
            Story.OFF_TRACK: max(e_today - rng.uniform(0.33, 0.42), 0.02),
            Story.RECOVERING: e_today - rng.uniform(0.0, 0.03),
            Story.FLAT: rng.uniform(-0.02, 0.02),
            Story.DONE: 1.0,
        }.get(story, e_today)
    ratio = final / expected[-1] if expected[-1] > 0 else 1.0
    dip_from = next((i for i in range(n) if n > 1 and i / (n - 1) >= 0.35), n - 1)
    climb_from = next((i for i in range(n) if n > 1 and i / (n - 1) >= 0.7), n - 1)
    path: list[float] = []
    for i, e in enumerate(expected):
        x = i / (n - 1) if n > 1 else 1.0
        if story is Story.FLAT:
            p = rng.uniform(-0.03, 0.03)
        elif story is Story.DONE:
            p = min(1.0, e * 1.8 + rng.uniform(-0.02, 0.02))
        elif story is Story.RECOVERING and x < 0.35:
            p = e * 0.95 + rng.uniform(-0.01, 0.01)
        elif story is Story.RECOVERING and x < 0.7:
            # A clear setback: 20 points lost over the dip weeks.
            peak = path[dip_from - 1] if dip_from else 0.0
            p = peak - 0.2 * (i - dip_from + 1) / max(climb_from - dip_from, 1)
        elif story is Story.RECOVERING:
            lowest = min(path) if path else 0.0
            p = lowest + (final - lowest) * (i - climb_from + 1) / (n - climb_from)
        else:
            p = e * ratio + rng.uniform(-0.02, 0.02)
        path.append(p)
    path[-1] = final
    values = [to_value(spec, p) for p in path]
    if story is Story.DONE:
        values[-1] = Decimal(spec.target).quantize(quantum(spec.decimals))
    elif story is not Story.STALE:
        values[-1] = _nudge_final(
            spec, values[-1], Decimal(repr(e_today)).quantize(Decimal("0.0001"))
        )
    banks = {
        Story.ON_TRACK: ("good", 7, 8),
        Story.AHEAD: ("ahead", 8, 9),
        Story.AT_RISK: ("risk", 5, 6),
        Story.OFF_TRACK: ("off", 3, 4),
        Story.FLAT: ("flat", 3, 5),
        Story.DONE: ("done", 9, 10),
        Story.STALE: ("good", 6, 7),
        Story.RECOVERING: ("climb", 6, 8),
    }
    bank, low, high = banks.get(story, ("good", 7, 8))
    points: list[Point] = []
    for i, (d, v) in enumerate(zip(dates, values, strict=True)):
        x = i / (n - 1) if n > 1 else 1.0
        b, lo, hi = bank, low, high
        if story is Story.RECOVERING and 0.35 <= x < 0.7:
            b, lo, hi = "dip", 3, 5
        elif story in (Story.AT_RISK, Story.OFF_TRACK) and x < 0.3:
            b, lo, hi = "good", 6, 8  # everyone starts optimistic
        points.append(Point(d, v, _confidence(rng, lo, hi), _note(rng, b)))
    return points


def _maintain(spec: KRSpec, dates: Sequence[date], rng: random.Random) -> list[Point]:
    start, target = Decimal(spec.start), Decimal(spec.target)
    margin = abs(start - target)
    good_side = 1 if spec.direction == "at_least" else -1
    breach_from = len(dates) - 1 if spec.story is Story.BREACHED else len(dates)
    points: list[Point] = []
    for i, d in enumerate(dates):
        if i >= breach_from:
            offset = -good_side * margin * Decimal(repr(rng.uniform(0.2, 0.6)))
            bank, lo, hi = "breach", 5, 6
        else:
            offset = good_side * margin * Decimal(repr(rng.uniform(0.4, 1.3)))
            bank, lo, hi = "hold", 8, 9
        value = (target + offset).quantize(quantum(spec.decimals), rounding=ROUND_HALF_UP)
        if value == target:  # exactly on the threshold still holds; keep the story clear
            value += good_side * quantum(spec.decimals) * (-1 if i >= breach_from else 1)
        points.append(Point(d, value, _confidence(rng, lo, hi), _note(rng, bank)))
    return points


def _binary(spec: KRSpec, dates: Sequence[date], rng: random.Random) -> list[Point]:
    done_from = max(1, int(len(dates) * 0.6)) if spec.story is Story.DONE else len(dates)
    return [
        Point(
            d,
            ONE if i >= done_from else ZERO,
            _confidence(rng, 9, 10) if i >= done_from else _confidence(rng, 6, 7),
            _note(rng, "done" if i >= done_from else "pending"),
        )
        for i, d in enumerate(dates)
    ]


def _milestones(
    dates: Sequence[date], rng: random.Random, milestones: Sequence[MilestonePlan]
) -> list[Point]:
    total = sum((m.weight for m in milestones), ZERO)
    points: list[Point] = []
    for d in dates:
        done = sum((m.weight for m in milestones if m.done_on and m.done_on <= d), ZERO)
        share = (done / total).quantize(Decimal("0.01")) if total else ZERO
        points.append(Point(d, share, _confidence(rng, 6, 8), _note(rng, "milestone")))
    return points


def closed_series(spec: KRSpec, *, start: date, end: date, rng: random.Random) -> list[Point]:
    """A full cycle of weekly check-ins ending near ``end`` at the spec's ``final`` progress."""
    final = spec.final if spec.final is not None else 0.5
    dates = checkin_dates(start, end, rng.randint(0, 3), rng, skip=0.0)
    n = len(dates)
    if spec.kind == "maintain":
        return _maintain(spec, dates, rng)
    if spec.kind == "binary":
        done = spec.final is not None and spec.final >= 1
        cut = max(1, int(n * 0.7)) if done else n
        return [
            Point(d, ONE if i >= cut else ZERO, _confidence(rng, 5, 9), _note(rng, "pending"))
            for i, d in enumerate(dates)
        ]
    shape = rng.uniform(0.8, 1.4)
    points: list[Point] = []
    for i, d in enumerate(dates):
        x = (i + 1) / n
        p = final if i == n - 1 else final * x**shape + rng.uniform(-0.03, 0.03)
        # Confidence drifts toward what the end will show: the calibration report reads it.
        conf = round(4 + 5 * final + rng.uniform(-1.5, 1.5) * (1 - x))
        bank = "good" if final >= 0.7 else "risk" if final >= 0.4 else "off"
        points.append(Point(d, to_value(spec, p), _confidence(rng, conf, conf), _note(rng, bank)))
    return points
