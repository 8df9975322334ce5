"""Server-drawn SVG charts: a key result's actual values against its expected curve and its
forecast band over the cycle, and the cycle's progress trend against expected.

Everything plotted comes from the engine: check-in values (its input), expected progress
(`engine.expected.expected_value`), the forecast (`engine.forecast`, via the key result's
result), and progress at past dates (`engine.okr.evaluate_key_result`). This module only
scales numbers to pixels and writes SVG; user text is escaped. The SVG uses classes for
colours (the stylesheet) and attributes for geometry, so it passes a strict
Content-Security-Policy, prints, and tests like any HTML.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

from milepost.engine.expected import expected_value
from milepost.engine.model import EngineSettings, KeyResultInput, KeyResultKind
from milepost.engine.okr import evaluate_key_result
from milepost.engine.results import KeyResultResult

WIDTH = 720
HEIGHT = 280
MARGIN_LEFT = 64
MARGIN_RIGHT = 20
MARGIN_TOP = 16
MARGIN_BOTTOM = 34
VALUE_KINDS = (KeyResultKind.INCREASE, KeyResultKind.DECREASE, KeyResultKind.MAINTAIN)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (about `count` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + 1
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks: list[float] = []
    value = first
    while len(ticks) < 20:
        ticks.append(round(value, 10))
        if value >= high:
            break
        value += step
    return ticks


def _fmt_tick(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class _Frame:
    start: dt.date
    end: dt.date
    low: float
    high: float
    width: int = WIDTH
    height: int = HEIGHT

    def x(self, day: dt.date) -> float:
        span = max((self.end - self.start).days, 1)
        inner = self.width - MARGIN_LEFT - MARGIN_RIGHT
        return round(MARGIN_LEFT + inner * (day - self.start).days / span, 1)

    def y(self, value: float) -> float:
        span = self.high - self.low or 1.0
        inner = self.height - MARGIN_TOP - MARGIN_BOTTOM
        return round(MARGIN_TOP + inner * (1 - (value - self.low) / span), 1)


def _axes(frame: _Frame, ticks: Sequence[float], percent: bool) -> list[str]:
    parts = []
    for t in ticks:
        y = frame.y(t)
        parts.append(
            f'<line class="grid-line" x1="{MARGIN_LEFT}" x2="{frame.width - MARGIN_RIGHT}" '
            f'y1="{y}" y2="{y}"/>'
            f'<text x="{MARGIN_LEFT - 8}" y="{y + 4}" text-anchor="end">'
            f"{escape(_fmt_tick(t, percent))}</text>"
        )
    # Month ticks along the bottom.
    day = frame.start.replace(day=1)
    bottom = frame.height - MARGIN_BOTTOM
    while day <= frame.end:
        if day >= frame.start:
            x = frame.x(day)
            parts.append(
                f'<line class="axis" x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 5}"/>'
                f'<text x="{x}" y="{bottom + 18}" text-anchor="middle">{day:%b %-d}</text>'
            )
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    parts.append(
        f'<line class="axis" x1="{MARGIN_LEFT}" x2="{frame.width - MARGIN_RIGHT}" '
        f'y1="{bottom}" y2="{bottom}"/>'
    )
    return parts


def _polyline(points: Sequence[tuple[float, float]], css: str) -> str:
    if not points:
        return ""
    coords = " ".join(f"{x},{y}" for x, y in points)
    return f'<polyline class="{css}" points="{coords}"/>'


def _days(start: dt.date, end: dt.date, limit: int = 120) -> list[dt.date]:
    """Sample days from start to end inclusive (every day for a quarter, fewer beyond)."""
    total = (end - start).days
    if total <= 0:
        return [start]
    step = max(1, math.ceil(total / limit))
    days = [start + dt.timedelta(days=i) for i in range(0, total, step)]
    days.append(end)
    return days


def key_result_chart(
    kr: KeyResultInput,
    result: KeyResultResult,
    today: dt.date,
    settings: EngineSettings,
    *,
    title: str = "",
) -> SafeString:
    """The key result's chart: actual values (or progress, for binary and milestones key
    results) against the expected curve, the forecast to the due date with its 80% band,
    the target and a today line."""
    value_space = kr.kind in VALUE_KINDS
    # The time axis is the cycle's: from its start (a check-in cannot be dated earlier; one
    # recorded before that rule existed is left off the chart rather than stretching it).
    start_day = kr.window_start
    end_day = max(kr.due, today if today <= kr.due + dt.timedelta(days=30) else kr.due)
    samples = _days(kr.window_start, kr.due)

    actual: list[tuple[dt.date, float]]
    expected: list[tuple[dt.date, float]] = []
    if value_space:
        actual = [(c.on, float(c.value)) for c in kr.checkins if c.on >= start_day]
        if kr.kind is not KeyResultKind.MAINTAIN:
            span = float(kr.target - kr.start)
            # The expected curve is expected *progress*; on a value axis it is drawn at the
            # value that progress stands for between start and target.
            expected = [(d, float(kr.start) + float(expected_value(kr, d)) * span) for d in samples]
        values = [v for _, v in actual] + [float(kr.start), float(kr.target)]
    else:
        moments = sorted(
            {c.on for c in kr.checkins} | {today} | {m.done_on for m in kr.milestones if m.done_on}
        )
        actual = [
            (d, float(evaluate_key_result(kr, d, settings, with_forecast=False).progress))
            for d in moments
            if start_day <= d <= today
        ]
        expected = [(d, float(expected_value(kr, d))) for d in samples]
        values = [0.0, 1.0]
    values += [v for _, v in expected]
    fc = result.forecast
    if fc is not None and value_space:
        values += [float(fc.low), float(fc.high), float(fc.value)]
    low, high = min(values), max(values)
    if value_space:
        pad = (high - low) * 0.08 or 1.0
        ticks = nice_ticks(low - pad, high + pad)
        frame = _Frame(start_day, end_day, min(ticks[0], low - pad), max(ticks[-1], high + pad))
    else:  # progress: 0 to 100% (further when over-achievement shows)
        ticks = [0.0, 0.25, 0.5, 0.75, 1.0] + ([high] if high > 1 else [])
        frame = _Frame(start_day, end_day, -0.04, max(high, 1.0) + 0.04)

    parts = _axes(frame, ticks, percent=not value_space)
    if value_space:
        y = frame.y(float(kr.target))
        parts.append(
            f'<line class="target-line" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y}" y2="{y}"/><text x="{WIDTH - MARGIN_RIGHT}" y="{y - 4}" '
            f'text-anchor="end">{"threshold" if kr.kind is KeyResultKind.MAINTAIN else "target"} '
            f"{escape(_fmt_tick(float(kr.target), False))}</text>"
        )
    if fc is not None and value_space and actual:
        last_day, last_value = actual[-1]
        x0, y0 = frame.x(last_day), frame.y(last_value)
        x1 = frame.x(kr.due)
        parts.append(
            f'<polygon class="forecast-band" points="{x0},{y0} {x1},{frame.y(float(fc.high))} '
            f'{x1},{frame.y(float(fc.low))}"/>'
            f'<line class="forecast-line" x1="{x0}" y1="{y0}" x2="{x1}" '
            f'y2="{frame.y(float(fc.value))}"/>'
        )
    parts.append(_polyline([(frame.x(d), frame.y(v)) for d, v in expected], "expected-line"))
    parts.append(_polyline([(frame.x(d), frame.y(v)) for d, v in actual], "actual-line"))
    for d, v in actual:
        shown = _fmt_tick(v, not value_space)
        parts.append(
            f'<circle class="actual-point" cx="{frame.x(d)}" cy="{frame.y(v)}" r="3.5">'
            f"<title>{d:%-d %b}: {escape(shown)}</title></circle>"
        )
    if frame.start <= today <= frame.end:
        x = frame.x(today)
        parts.append(
            f'<line class="today-line" x1="{x}" x2="{x}" y1="{MARGIN_TOP}" '
            f'y2="{HEIGHT - MARGIN_BOTTOM}"/><text class="today-label" x="{x + 4}" '
            f'y="{MARGIN_TOP + 10}">today</text>'
        )
    description = _describe(kr, result, value_space)
    label = escape(title or "Key result chart")
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{label}"><title>{label}</title><desc>{escape(description)}</desc>'
        + "".join(parts)
        + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - built above; every text is escaped  # nosec B308 B703


def _describe(kr: KeyResultInput, result: KeyResultResult, value_space: bool) -> str:
    bits = [f"{len(kr.checkins)} check-ins from {kr.window_start} to {kr.due}."]
    if value_space:
        bits.append(f"Current value {result.current}, target {kr.target}.")
    bits.append(f"Progress {result.progress}, expected {result.expected}.")
    if result.forecast is not None:
        fc = result.forecast
        bits.append(f"Forecast {fc.value} at the due date (80% interval {fc.low} to {fc.high}).")
    else:
        bits.append(f"No forecast: {result.forecast_reason}.")
    return " ".join(bits)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The cycle's overall progress and expected progress at one date."""

    on: dt.date
    progress: Decimal
    expected: Decimal


def trend_chart(
    points: Sequence[TrendPoint], start: dt.date, end: dt.date, today: dt.date
) -> SafeString:
    """The cycle's overall progress at each date against the expected progress."""
    frame = _Frame(start, end, 0.0, 1.0, height=220)
    parts = _axes(frame, [0.0, 0.25, 0.5, 0.75, 1.0], percent=True)
    parts.append(
        _polyline([(frame.x(p.on), frame.y(float(p.expected))) for p in points], "expected-line")
    )
    parts.append(
        _polyline([(frame.x(p.on), frame.y(float(p.progress))) for p in points], "actual-line")
    )
    for p in points:
        parts.append(
            f'<circle class="actual-point" cx="{frame.x(p.on)}" cy="{frame.y(float(p.progress))}" '
            f'r="3"><title>{p.on:%-d %b}: {float(p.progress) * 100:.0f}% '
            f"(expected {float(p.expected) * 100:.0f}%)</title></circle>"
        )
    if start <= today <= end:
        x = frame.x(today)
        parts.append(
            f'<line class="today-line" x1="{x}" x2="{x}" y1="{MARGIN_TOP}" '
            f'y2="{220 - MARGIN_BOTTOM}"/>'
        )
    last = points[-1] if points else None
    desc = (
        f"Overall progress {float(last.progress) * 100:.0f}% against "
        f"{float(last.expected) * 100:.0f}% expected on {last.on}."
        if last
        else "No data yet."
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} 220" role="img" '
        f'aria-label="Cycle progress against expected"><title>Cycle progress against expected'
        f"</title><desc>{escape(desc)}</desc>" + "".join(parts) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - built above; every text is escaped  # nosec B308 B703
