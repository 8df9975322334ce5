"""Forecast: a least-squares line through a key result's check-ins, projected to the due date.

Points are the check-ins dated from the window start to the as-of date (or the due date, if
earlier); x is days since the window start, y the value. The line y = a + b x is fitted by
ordinary least squares and evaluated at the due date. The 80% prediction interval is

    y(x0) +/- t(0.90, n - 2) * s * sqrt(1 + 1/n + (x0 - mean x)^2 / Sxx)

with s the residual standard deviation. Fewer than three points give no forecast, and the
reason says so. Binary and milestone key results have no value trend and get no forecast.

Arithmetic is in binary floating point (`math.fsum` and the extended-precision
`math.sumprod`, so results are reproducible); the projected values are converted to Decimal
rounded to 4 places.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from decimal import Decimal
from math import fsum, isfinite, sqrt, sumprod
from operator import attrgetter

from milepost.engine.explain import Explanation, Term, lazy_explanation
from milepost.engine.model import KeyResultInput, KeyResultKind
from milepost.engine.progress import raw_progress
from milepost.engine.results import Forecast

MIN_POINTS = 3

_on = attrgetter("on")

# One-sided 0.90 quantiles of Student's t for 1..30 degrees of freedom (two-sided 80%).
_T90 = (
    3.077684,
    1.885618,
    1.637744,
    1.533206,
    1.475884,
    1.439756,
    1.414924,
    1.396815,
    1.383029,
    1.372184,
    1.363430,
    1.356217,
    1.350171,
    1.345030,
    1.340606,
    1.336757,
    1.333379,
    1.330391,
    1.327728,
    1.325341,
    1.323188,
    1.321237,
    1.319460,
    1.317836,
    1.316345,
    1.314972,
    1.313703,
    1.312527,
    1.311434,
    1.310415,
)
_T90_LEN = len(_T90)
_Z90 = 1.2815515655446004  # standard normal 0.90 quantile


def t_quantile_90(df: int) -> float:
    """Student's t 0.90 quantile for ``df`` degrees of freedom (table to 30, then expansion).

    Beyond 30 degrees of freedom the Cornish-Fisher expansion around the normal quantile is
    accurate to better than 1e-5.
    """
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T90):
        return _T90[df - 1]
    z = _Z90
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    v = float(df)
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


# (count, first used index, first and last dates, slope, intercept, residual sd, t, value,
# low, high): one fitted trend, as `_fit` returns it.
_Fit = tuple[int, int, date, date, float, float, float, float, Decimal, Decimal, Decimal]


def forecast(kr: KeyResultInput, as_of: date) -> tuple[Forecast | None, str]:
    """Project ``kr``'s value at its due date from its check-ins up to ``as_of``.

    Returns the forecast and ``""``, or None and the reason there is none (for example
    ``"fewer than 3 check-ins (have 2)"``).
    """
    fit = _fit(kr, as_of)
    if isinstance(fit, str):
        return None, fit
    value = fit[8]
    progress = raw_progress(kr, kr.due, value)
    # The explanation is built from the fit when it is first read.
    explanation = lazy_explanation(_explain_fit, kr, fit, progress)
    return Forecast(value, fit[9], fit[10], progress, explanation), ""


def _fit(kr: KeyResultInput, as_of: date) -> _Fit | str:
    """The fitted trend of ``kr`` as of ``as_of``, or the reason there is none."""
    kind = kr.kind
    if kind is KeyResultKind.BINARY:
        return "a binary key result has no value trend to forecast"
    if kind is KeyResultKind.MILESTONES:
        return "a milestones key result has no value trend to forecast"
    checkins = kr.checkins
    count = len(checkins)
    if count < MIN_POINTS:
        return f"fewer than {MIN_POINTS} check-ins (have {count})"
    due = kr.due
    end = as_of if as_of < due else due
    # Usually every check-in is inside [window start, end]: skip the searches then.
    start = kr.window_start
    lo = 0 if checkins[0].on >= start else bisect_left(checkins, start, key=_on)
    hi = count if checkins[-1].on <= end else bisect_right(checkins, end, key=_on)
    n = hi - lo
    if n < MIN_POINTS:
        return f"fewer than {MIN_POINTS} check-ins (have {max(n, 0)})"
    points = checkins[lo:hi] if n != count else checkins
    origin = start.toordinal()
    # x: whole days since the window start (exact integers); y: the values as floats.
    xs = [p.on.toordinal() - origin for p in points]
    ys = [float(p.value) for p in points]
    sx = sum(xs)
    n_sxx = n * sumprod(xs, xs) - sx * sx  # n * Sxx, exact in integers
    if n_sxx == 0:
        return f"all {n} check-ins are on one day; there is no trend"
    sy = fsum(ys)
    sxx = n_sxx / n
    sxy = sumprod(xs, ys) - sx * sy / n
    syy = sumprod(ys, ys) - sy * sy / n
    slope = sxy / sxx
    mean_x = sx / n
    mean_y = sy / n
    x_due = due.toordinal() - origin
    y_due = mean_y + slope * (x_due - mean_x)
    sse = syy - slope * sxy
    if sse < 0:  # rounding on an exact line
        sse = 0.0
    df = n - 2
    s = sqrt(sse / df)
    t = _T90[df - 1] if df <= _T90_LEN else t_quantile_90(df)
    half = t * s * sqrt(1 + 1 / n + (x_due - mean_x) ** 2 / sxx)
    if not (isfinite(y_due) and isfinite(half)):
        return "the trend could not be computed (values too large)"
    return (
        n,
        lo,
        points[0].on,
        points[-1].on,
        slope,
        mean_y - slope * mean_x,
        s,
        t,
        Decimal(f"{y_due:.4f}"),
        Decimal(f"{y_due - half:.4f}"),
        Decimal(f"{y_due + half:.4f}"),
    )


def _explain_fit(kr: KeyResultInput, fit: _Fit, progress: Decimal) -> Explanation:
    n, lo, first, last, slope, intercept, s, t, value, low, high = fit
    return _explain_forecast(
        kr, (n, lo, first, last, n - 2), (slope, intercept, s, t), (value, low, high, progress)
    )


def _explain_forecast(
    kr: KeyResultInput,
    counts: tuple[int, int, date, date, int],
    fit: tuple[float, float, float, float],
    projected: tuple[Decimal, Decimal, Decimal, Decimal],
) -> Explanation:
    n, lo, first, last, df = counts
    slope, intercept, s, t = fit
    value, low, high, progress = projected
    x_due = (kr.due - kr.window_start).days
    return Explanation(
        "forecast.least_squares",
        f"trend {slope:+.4g} per day through {n} check-ins projects {value} on {kr.due} "
        f"(80% interval {low} to {high}), progress {progress}",
        (
            Term("check-ins used", str(n), f"{first} to {last}"),
            Term("slope", f"{slope:.6g}", "value per day"),
            Term("intercept", f"{intercept:.6g}", f"value at {kr.window_start}"),
            Term("days to due date", str(x_due), f"from {kr.window_start}"),
            Term("residual standard deviation", f"{s:.6g}"),
            Term("t quantile", f"{t:.4f}", f"0.90, {df} degrees of freedom"),
            Term("projected value", str(value), f"on {kr.due}"),
            Term("80% interval", f"{low} to {high}"),
            Term("projected progress", str(progress), "raw, from start to target"),
        ),
        (f"{lo} check-in(s) before the window ignored",) if lo else (),
    )
