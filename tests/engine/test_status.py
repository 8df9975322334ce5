from __future__ import annotations

from decimal import Decimal

import pytest

from milepost.engine.model import EngineSettings, Status
from milepost.engine.okr import evaluate_key_result
from milepost.engine.status import confidence_disagrees, key_result_status, worst_status
from tests.engine.okr_builders import WINDOW_START, ck, day, kr

DEFAULT = EngineSettings()


def status_of(progress: str, expected: str, settings: EngineSettings = DEFAULT) -> Status:
    status, _ = key_result_status(
        Decimal(progress), Decimal(expected), day(30), WINDOW_START, settings
    )
    return status


@pytest.mark.parametrize(
    ("progress", "expected", "status"),
    [
        ("0.5", "0.4", Status.ON_TRACK),  # ahead: negative gap
        ("0.4", "0.5", Status.ON_TRACK),  # gap exactly 0.10
        ("0.3999", "0.5", Status.AT_RISK),  # gap 0.1001
        ("0.25", "0.5", Status.AT_RISK),  # gap exactly 0.25
        ("0.2499", "0.5", Status.OFF_TRACK),  # gap 0.2501
        ("0", "1", Status.OFF_TRACK),
        ("1", "0.2", Status.DONE),
        ("1", "1", Status.DONE),
    ],
)
def test_status_from_gap(progress: str, expected: str, status: Status) -> None:
    assert status_of(progress, expected) is status


def test_thresholds_are_organization_settings() -> None:
    strict = EngineSettings(on_track_gap=Decimal("0.05"), at_risk_gap=Decimal("0.10"))
    assert status_of("0.42", "0.5", strict) is Status.AT_RISK
    assert status_of("0.35", "0.5", strict) is Status.OFF_TRACK
    assert status_of("0.42", "0.5") is Status.ON_TRACK


def test_not_started_before_the_window() -> None:
    status, why = key_result_status(Decimal(1), Decimal(0), day(-1), WINDOW_START, DEFAULT)
    assert status is Status.NOT_STARTED
    assert why.rule == "status.not_started"
    # On the first day of the window it has started.
    assert key_result_status(Decimal(0), Decimal(0), day(0), WINDOW_START, DEFAULT)[0] is (
        Status.ON_TRACK
    )


def test_status_explanation_names_gap_and_thresholds() -> None:
    _, why = key_result_status(Decimal("0.2"), Decimal("0.4"), day(30), WINDOW_START, DEFAULT)
    assert why.rule == "status.at_risk"
    assert "gap 0.2" in why.summary
    values = {t.label: t.value for t in why.terms}
    assert values["gap"] == "0.2"
    assert values["on-track gap"] == "0.10"
    assert values["at-risk gap"] == "0.25"


@pytest.mark.parametrize(
    ("status", "confidence", "disagrees"),
    [
        (Status.OFF_TRACK, 7, True),
        (Status.OFF_TRACK, 10, True),
        (Status.OFF_TRACK, 6, False),
        (Status.OFF_TRACK, 2, False),
        (Status.ON_TRACK, 3, True),
        (Status.ON_TRACK, 0, True),
        (Status.DONE, 1, True),
        (Status.ON_TRACK, 4, False),
        (Status.AT_RISK, 0, False),
        (Status.AT_RISK, 10, False),
        (Status.NOT_STARTED, 0, False),
        (Status.NOT_STARTED, 10, False),
        (Status.ON_TRACK, 9, False),
        (Status.OFF_TRACK, None, False),
    ],
)
def test_confidence_disagrees(status: Status, confidence: int | None, disagrees: bool) -> None:
    assert confidence_disagrees(status, confidence) is disagrees


def test_worst_status_order() -> None:
    s = Status
    assert worst_status([s.DONE, s.ON_TRACK, s.AT_RISK]) is s.AT_RISK
    assert worst_status([s.DONE, s.OFF_TRACK, s.AT_RISK]) is s.OFF_TRACK
    assert worst_status([s.DONE, s.NOT_STARTED]) is s.NOT_STARTED
    assert worst_status([s.NOT_STARTED, s.ON_TRACK]) is s.ON_TRACK
    assert worst_status([s.DONE, s.DONE]) is s.DONE
    assert worst_status([]) is s.NOT_STARTED
    assert worst_status(iter([s.ON_TRACK])) is s.ON_TRACK


def test_key_result_reports_latest_confidence_and_flags_disagreement() -> None:
    # Far behind at day 60 (expected 0.6593), yet the owner says 9/10; a later check-in
    # without a confidence keeps the last one given.
    behind = kr(start=0, target=100, checkins=(ck(10, 5, 9), ck(50, 6)))
    r = evaluate_key_result(behind, day(60), DEFAULT)
    assert r.status is Status.OFF_TRACK
    assert r.confidence == 9
    assert r.confidence_disagrees is True
    assert r.last_checkin_on == day(50)
    assert any("disagrees" in n for n in r.explanation.notes)
    assert r.forecast is None
    assert r.forecast_reason == "fewer than 3 check-ins (have 2)"
    skipped = evaluate_key_result(behind, day(60), DEFAULT, with_forecast=False)
    assert skipped.forecast_reason == "forecast not requested"
    assert evaluate_key_result(kr(), day(60), DEFAULT).confidence is None
