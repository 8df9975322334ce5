"""Expected progress of a key result at a date, from its curve over [window start, due date].

- ``linear``: elapsed share = (D - window start) / (due - window start) in days, clamped
  to [0, 1].
- ``back_loaded``: the linear share squared (slow start, most of the result near the end, as
  for lagging metrics).
- ``stepped``: the weighted share of the key result's milestones whose planned date is on or
  before D; with no milestones it falls back to linear and says so.

Every value is rounded half up to 4 decimal places.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from milepost.engine.explain import Explanation, LazyExplanation, Term
from milepost.engine.model import Curve, KeyResultInput
from milepost.engine.progress import P0, P1, ZERO, q4

# Shares depend only on (elapsed days, window days): a handful of distinct values per cycle,
# so they are computed once. Bounded so odd inputs cannot grow it without limit.
_SHARES: dict[tuple[int, int, bool], Decimal] = {}
_SHARES_MAX = 65_536


def elapsed_days(window_start: date, due: date, as_of: date) -> tuple[int, int]:
    """(elapsed days clamped to the window, window length in days)."""
    total = (due - window_start).days
    elapsed = (as_of - window_start).days
    if elapsed < 0:
        elapsed = 0
    elif elapsed > total:
        elapsed = max(total, 0)
    return elapsed, total


def time_share(window_start: date, due: date, as_of: date, *, squared: bool = False) -> Decimal:
    """Elapsed share of the window at ``as_of`` in [0, 1] (squared for back-loaded).

    A window of zero or negative length is all-or-nothing: 0 before the due date, 1 from it.
    """
    elapsed, total = elapsed_days(window_start, due, as_of)
    if total <= 0:
        return P1 if as_of >= due else P0
    key = (elapsed, total, squared)
    share = _SHARES.get(key)
    if share is None:
        if len(_SHARES) >= _SHARES_MAX:
            _SHARES.clear()
        exact = Decimal(elapsed) / Decimal(total)
        share = q4(exact * exact if squared else exact)
        _SHARES[key] = share
    return share


def stepped_share(kr: KeyResultInput, as_of: date) -> Decimal:
    """Weighted share (4 places) of milestones planned on or before ``as_of``."""
    total = ZERO
    due = ZERO
    for m in kr.milestones:
        total += m.weight
        if m.on <= as_of:
            due += m.weight
    if total <= 0:
        return P0
    return q4(due / total)


def expected_value(kr: KeyResultInput, as_of: date) -> Decimal:
    """Expected progress of ``kr`` at ``as_of`` (the number only; see `expected_progress`)."""
    curve = kr.curve
    if curve is Curve.STEPPED and kr.milestones:
        if as_of < kr.window_start:
            return P0
        return stepped_share(kr, as_of)
    return time_share(kr.window_start, kr.due, as_of, squared=curve is Curve.BACK_LOADED)


def expected_progress(kr: KeyResultInput, as_of: date) -> tuple[Decimal, Explanation]:
    """Expected progress of ``kr`` at ``as_of`` from its curve, with the formula used."""
    value = expected_value(kr, as_of)
    return value, LazyExplanation(explain_expected, kr, as_of, value)


def explain_expected(kr: KeyResultInput, as_of: date, value: Decimal) -> Explanation:
    """The explanation of `expected_value` for ``kr`` at ``as_of``."""
    elapsed, total = elapsed_days(kr.window_start, kr.due, as_of)
    window = Term("window", f"{kr.window_start} to {kr.due}", f"{total} days")
    notes: list[str] = []
    if as_of < kr.window_start:
        notes.append(f"{as_of} is before the window starts; nothing is expected yet")
    elif as_of > kr.due:
        notes.append(f"{as_of} is after the due date; everything is expected")
    curve = kr.curve
    if curve is Curve.STEPPED and kr.milestones:
        total_w = sum((m.weight for m in kr.milestones), ZERO)
        due_w = sum((m.weight for m in kr.milestones if m.on <= as_of), ZERO)
        terms = tuple(
            Term(
                f"milestone {m.key}",
                str(m.on),
                f"weight {m.weight}, {'due by' if m.on <= as_of else 'after'} {as_of}",
            )
            for m in kr.milestones
        )
        return Explanation(
            "expected.stepped",
            f"stepped: milestone weight planned by {as_of} {due_w} / total {total_w} = {value}",
            (window, *terms, Term("expected", str(value))),
            tuple(notes),
        )
    if curve is Curve.STEPPED:
        notes.append("stepped curve without milestones: falls back to linear")
    days = Term("elapsed days", str(elapsed), f"as of {as_of}")
    if total <= 0:
        notes.append("the window has no length: 0 before the due date, 1 from it")
    if curve is Curve.BACK_LOADED:
        return Explanation(
            "expected.back_loaded",
            f"back-loaded: ({elapsed} / {total})^2 = {value}",
            (window, days, Term("expected", str(value))),
            tuple(notes),
        )
    return Explanation(
        "expected.linear",
        f"linear: {elapsed} / {total} days = {value}",
        (window, days, Term("expected", str(value))),
        tuple(notes),
    )
