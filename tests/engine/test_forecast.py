from __future__ import annotations

import math
import statistics
from decimal import Decimal

import pytest

from milepost.engine.forecast import forecast, t_quantile_90
from milepost.engine.model import KeyResultKind
from tests.engine.okr_builders import ck, day, kr, ms


def t_cdf(x: float, df: int) -> float:
    """Student's t CDF by Simpson integration of the density (independent of the table)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    steps = 4000
    h = x / steps
    total = 0.0
    for i in range(steps + 1):
        t = i * h
        f = c * (1 + t * t / df) ** (-(df + 1) / 2)
        total += f if i in (0, steps) else (4 * f if i % 2 else 2 * f)
    return 0.5 + total * h / 3


@pytest.mark.parametrize("df", [*range(1, 36), 40, 60, 120, 500])
def test_t_quantile_is_the_090_quantile(df: int) -> None:
    assert t_cdf(t_quantile_90(df), df) == pytest.approx(0.9, abs=2e-6)


def test_t_quantile_rejects_no_degrees_of_freedom() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        t_quantile_90(0)


def test_exact_line_projects_exactly_with_no_spread() -> None:
    line = kr(start=1000, target=2000, checkins=(ck(0, 1000), ck(10, 1100), ck(20, 1200)))
    fc, reason = forecast(line, day(25))
    assert reason == ""
    assert fc is not None
    assert fc.value == Decimal("1910.0000")  # 1000 + 10/day * 91 days
    assert fc.low == fc.value
    assert fc.high == fc.value
    assert fc.progress == Decimal("0.9100")
    assert fc.explanation.rule == "forecast.least_squares"
    assert "3 check-ins" in fc.explanation.summary


def test_noisy_line_matches_textbook_least_squares_and_interval() -> None:
    days = [3, 9, 17, 30, 41, 52]
    values = [1210, 1290, 1350, 1520, 1580, 1720]
    k = kr(
        start=1200, target=2500, checkins=tuple(ck(d, v) for d, v in zip(days, values, strict=True))
    )
    fc, _ = forecast(k, day(60))
    assert fc is not None
    slope, intercept = statistics.linear_regression(days, values)
    y_due = intercept + slope * 91
    residuals = [v - (intercept + slope * d) for d, v in zip(days, values, strict=True)]
    s = math.sqrt(sum(r * r for r in residuals) / (len(days) - 2))
    mean_x = statistics.fmean(days)
    sxx = sum((d - mean_x) ** 2 for d in days)
    half = 1.533206 * s * math.sqrt(1 + 1 / 6 + (91 - mean_x) ** 2 / sxx)  # t(0.9, 4)
    assert float(fc.value) == pytest.approx(y_due, abs=1e-4)
    assert float(fc.low) == pytest.approx(y_due - half, abs=1e-4)
    assert float(fc.high) == pytest.approx(y_due + half, abs=1e-4)
    assert fc.low < fc.value < fc.high
    assert fc.progress == ((fc.value - 1200) / 1300).quantize(Decimal("0.0001"))


@pytest.mark.parametrize("count", [0, 1, 2])
def test_fewer_than_three_checkins_gives_no_forecast_and_says_so(count: int) -> None:
    k = kr(checkins=tuple(ck(i * 5, i) for i in range(count)))
    assert forecast(k, day(60)) == (None, f"fewer than 3 check-ins (have {count})")


def test_only_checkins_in_window_and_up_to_the_date_count() -> None:
    k = kr(checkins=(ck(-5, 1), ck(2, 2), ck(4, 3), ck(30, 4), ck(40, 5)))
    # Before the window and after the as-of date are ignored: only days 2 and 4 remain.
    assert forecast(k, day(10)) == (None, "fewer than 3 check-ins (have 2)")
    fc, _ = forecast(k, day(40))
    assert fc is not None
    assert fc.explanation.notes == ("1 check-in(s) before the window ignored",)


def test_checkins_all_on_one_day_have_no_trend() -> None:
    k = kr(checkins=(ck(5, 1), ck(5, 2), ck(5, 3)))
    fc, reason = forecast(k, day(10))
    assert fc is None
    assert reason == "all 3 check-ins are on one day; there is no trend"


def test_decrease_forecast_progress_follows_direction() -> None:
    bounce = kr(
        kind=KeyResultKind.DECREASE,
        start=10,
        target=4,
        checkins=(ck(0, 10), ck(30, 9), ck(60, 8)),
    )
    fc, _ = forecast(bounce, day(60))
    assert fc is not None
    assert fc.value == Decimal("6.9667")  # 10 - 1/30 * 91
    assert fc.progress == Decimal("0.5056")


@pytest.mark.parametrize("kind", [KeyResultKind.BINARY, KeyResultKind.MILESTONES])
def test_binary_and_milestones_have_no_trend(kind: KeyResultKind) -> None:
    k = kr(kind=kind, checkins=(ck(1, 0), ck(2, 0), ck(3, 1)), milestones=(ms("a", 10),))
    fc, reason = forecast(k, day(10))
    assert fc is None
    assert "no value trend" in reason


def test_forecast_is_reproducible() -> None:
    k = kr(checkins=tuple(ck(d, Decimal(d * d) / 7) for d in range(0, 60, 4)))
    first, _ = forecast(k, day(60))
    second, _ = forecast(k, day(60))
    assert first == second
