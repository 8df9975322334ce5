from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from milepost.engine.expected import expected_progress
from milepost.engine.model import Curve
from tests.engine.okr_builders import DUE, day, kr, ms


def test_linear_is_elapsed_share_of_days() -> None:
    value, why = expected_progress(kr(), date(2026, 8, 15))
    assert value == Decimal("0.4945")  # 45 of 91 days
    assert why.rule == "expected.linear"
    assert why.summary == "linear: 45 / 91 days = 0.4945"


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [(day(-10), "0"), (day(0), "0.0000"), (DUE, "1.0000"), (day(200), "1.0000")],
)
def test_linear_is_clamped_to_the_window(as_of: date, expected: str) -> None:
    value, _ = expected_progress(kr(), as_of)
    assert value == Decimal(expected)


def test_before_and_after_window_say_so() -> None:
    _, early = expected_progress(kr(), day(-1))
    assert any("before the window" in n for n in early.notes)
    _, late = expected_progress(kr(), day(120))
    assert any("after the due date" in n for n in late.notes)


def test_back_loaded_is_linear_share_squared() -> None:
    value, why = expected_progress(kr(curve=Curve.BACK_LOADED), date(2026, 8, 15))
    assert value == Decimal("0.2445")  # (45/91)^2 = 0.24454...
    assert why.rule == "expected.back_loaded"
    assert "(45 / 91)^2" in why.summary
    assert expected_progress(kr(curve=Curve.BACK_LOADED), DUE)[0] == 1


def test_back_loaded_is_below_linear_inside_the_window() -> None:
    for n in range(1, 91):
        linear, _ = expected_progress(kr(), day(n))
        back, _ = expected_progress(kr(curve=Curve.BACK_LOADED), day(n))
        assert back < linear


def test_stepped_is_share_of_milestone_weights_planned_by_date() -> None:
    stepped = kr(
        curve=Curve.STEPPED,
        milestones=(ms("a", 30, weight=1), ms("b", 60, weight=2), ms("c", 90, weight=1)),
    )
    assert expected_progress(stepped, day(29))[0] == 0
    assert expected_progress(stepped, day(30))[0] == Decimal("0.2500")
    value, why = expected_progress(stepped, day(75))
    assert value == Decimal("0.7500")
    assert why.rule == "expected.stepped"
    assert "3 / total 4" in why.summary
    assert expected_progress(stepped, day(-3))[0] == 0


def test_stepped_without_milestones_falls_back_to_linear_and_says_so() -> None:
    value, why = expected_progress(kr(curve=Curve.STEPPED), date(2026, 8, 15))
    assert value == Decimal("0.4945")
    assert why.rule == "expected.linear"
    assert any("falls back to linear" in n for n in why.notes)


def test_window_without_length_is_all_or_nothing() -> None:
    same_day = kr(window_start=day(10), due=day(10))
    assert expected_progress(same_day, day(9))[0] == 0
    value, why = expected_progress(same_day, day(10))
    assert value == 1
    assert any("no length" in n for n in why.notes)


def test_due_date_before_window_start_does_not_crash() -> None:
    odd = kr(window_start=day(10), due=day(5))
    assert expected_progress(odd, day(7))[0] == 1
    assert expected_progress(odd, day(4))[0] == 0
