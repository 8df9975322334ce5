"""Confidence calibration: Brier score and over/under-confidence on hand-computed examples,
from a plan's check-ins, and properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.calibration import (
    CALIBRATED,
    OVER,
    TOO_FEW,
    UNDER,
    Forecasts,
    calibrate,
    calibration_report,
    forecasts_from_plan,
)
from milepost.engine.model import CheckInPoint, KeyResultInput, KeyResultKind, ObjectiveInput, Plan
from milepost.engine.okr import evaluate_okrs

D = Decimal


def test_hand_computed_example() -> None:
    # Ada: "signups" achieved, confidences 8 and 6; "churn" missed, confidences 7, 5, 3.
    #   squared errors: (0.8-1)² + (0.6-1)² = 0.04 + 0.16 = 0.20
    #                   (0.7-0)² + (0.5-0)² + (0.3-0)² = 0.49 + 0.25 + 0.09 = 0.83
    #   Brier = 1.03 / 5 = 0.206; mean confidence = 2.9 / 5 = 0.58; hit rate = 2 / 5 = 0.4
    #   bias = 0.58 - 0.4 = +0.18 > 0.10: over-confident.
    # Ben: "nps" achieved, confidences 4, 5, 6; "uptime" achieved, confidence 5.
    #   squared errors: 0.36 + 0.25 + 0.16 + 0.25 = 1.02; Brier = 1.02 / 4 = 0.255
    #   mean confidence = 2.0 / 4 = 0.5; hit rate = 1; bias = -0.5: under-confident.
    items = [
        Forecasts("g/signups", (8, 6), True, owner="ada", team="growth"),
        Forecasts("g/churn", (7, 5, 3), False, owner="ada", team="growth"),
        Forecasts("p/nps", (4, 5, 6), True, owner="ben", team="platform"),
        Forecasts("p/uptime", (5,), True, owner="ben", team="platform"),
        Forecasts("p/silent", (), False, owner="cy", team="platform"),
    ]

    report = calibration_report(items)

    ada = report.owners["ada"]
    assert (ada.forecasts, ada.key_results) == (5, 2)
    assert ada.brier == D("0.2060")
    assert ada.mean_confidence == D("0.5800")
    assert ada.hit_rate == D("0.4000")
    assert ada.bias == D("0.1800")
    assert ada.tendency == OVER
    ben = report.owners["ben"]
    assert (ben.brier, ben.mean_confidence, ben.hit_rate, ben.bias) == (
        D("0.2550"),
        D("0.5000"),
        D("1.0000"),
        D("-0.5000"),
    )
    assert ben.tendency == UNDER
    assert "cy" not in report.owners  # no forecast at all
    growth = report.teams["growth"]  # the same key results as Ada's
    assert (growth.brier, growth.bias, growth.tendency) == (ada.brier, ada.bias, ada.tendency)
    assert report.teams["platform"].forecasts == 4
    overall = report.overall
    assert overall.forecasts == 9
    assert overall.brier == D("0.2278")  # (1.03 + 1.02) / 9 = 0.22777…
    assert overall.bias == D("-0.1222")  # 4.9 / 9 - 6 / 9
    assert "Brier score 0.2060 over 5 forecasts" in ada.explanation.summary
    assert any(t.label == "bias" and t.value == "+0.1800" for t in ada.explanation.terms)


def test_overall_bias_is_computed_over_every_forecast() -> None:
    report = calibration_report(
        [
            Forecasts("a/x", (8, 6), True, owner="ada"),
            Forecasts("a/y", (7, 5, 3), False, owner="ada"),
            Forecasts("b/x", (4, 5, 6), True, owner="ben"),
            Forecasts("b/y", (5,), True, owner="ben"),
        ]
    )
    # mean confidence 4.9 / 9 = 0.5444, hit rate 6 / 9 = 0.6667: bias -0.1222.
    assert report.overall.mean_confidence == D("0.5444")
    assert report.overall.hit_rate == D("0.6667")
    assert report.overall.bias == D("-0.1222")
    assert report.overall.tendency == UNDER


def test_well_calibrated_and_too_few() -> None:
    good = calibrate([Forecasts("a", (9, 9, 8), True), Forecasts("b", (2, 1), False)], label="team")
    assert good.tendency == CALIBRATED
    assert good.brier == D("0.0220")  # (0.01 + 0.01 + 0.04 + 0.04 + 0.01) / 5
    few = calibrate([Forecasts("a", (10, 10), False)])
    assert few.tendency == TOO_FEW
    assert few.brier == D("1.0000")
    assert "too few" in few.explanation.notes[0]
    none = calibrate([Forecasts("a", (), True)])
    assert (none.forecasts, none.brier, none.tendency) == (0, None, TOO_FEW)


def test_forecasts_from_a_plan_use_the_engine_score_and_the_check_ins_up_to_the_date() -> None:
    start, due = date(2026, 1, 1), date(2026, 3, 31)
    plan = Plan(
        objectives=(ObjectiveInput("g", "Grow", "q1", team_key="growth"),),
        key_results=(
            KeyResultInput(
                "g/a",
                "g",
                "A",
                KeyResultKind.INCREASE,
                D(0),
                D(100),
                start,
                due,
                checkins=(
                    CheckInPoint(date(2026, 2, 1), D(40), 8),
                    CheckInPoint(date(2026, 3, 1), D(65), None),  # no confidence: no forecast
                    CheckInPoint(date(2026, 3, 30), D(70), 9),
                ),
                owner="ada@x.test",
            ),
            KeyResultInput(
                "g/b",
                "g",
                "B",
                KeyResultKind.INCREASE,
                D(0),
                D(100),
                start,
                due,
                checkins=(CheckInPoint(date(2026, 2, 1), D(64), 7),),
                owner="ada@x.test",
            ),
        ),
    )
    report = evaluate_okrs(plan, date(2026, 3, 15), with_forecast=False)

    items = forecasts_from_plan(plan, report)

    assert items == [
        # As of 15 March: 65 → score 0.7 achieved; the 30 March check-in is not known yet.
        Forecasts("g/a", (8,), True, owner="ada@x.test", team="growth"),
        Forecasts("g/b", (7,), False, owner="ada@x.test", team="growth"),  # 0.64 → 0.6
    ]
    overridden = forecasts_from_plan(plan, report, outcomes={"g/b": True})
    assert overridden[1].achieved


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 10), max_size=6), st.booleans()), min_size=1, max_size=8
    )
)
def test_brier_is_between_0_and_1_and_bias_is_confidence_minus_hits(
    rows: list[tuple[list[int], bool]],
) -> None:
    items = [Forecasts(f"k{i}", tuple(c), a) for i, (c, a) in enumerate(rows)]
    result = calibrate(items)
    n = sum(len(c) for c, _ in rows)
    if n == 0:
        assert result.brier is None
        return
    assert result.brier is not None
    assert D(0) <= result.brier <= D(1)
    assert result.mean_confidence is not None
    assert result.hit_rate is not None
    assert result.bias is not None
    assert abs(result.bias - (result.mean_confidence - result.hit_rate)) <= D("0.0001")
    perfect = calibrate(
        [Forecasts(f"k{i}", tuple(10 if a else 0 for _ in c), a) for i, (c, a) in enumerate(rows)]
    )
    assert perfect.brier == D(0)
