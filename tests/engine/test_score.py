from __future__ import annotations

from decimal import Decimal

import pytest

from milepost.engine.model import Status
from milepost.engine.score import net_confidence_score, score


@pytest.mark.parametrize(
    ("progress", "value", "grade"),
    [
        ("0", "0.0", "missed"),
        ("0.34", "0.3", "missed"),
        ("0.35", "0.4", "partial"),  # half up
        ("0.6499", "0.6", "partial"),
        ("0.65", "0.7", "achieved"),
        ("0.7", "0.7", "achieved"),
        ("1", "1.0", "achieved"),
        ("1.4", "1.0", "achieved"),  # clamped even where over-achievement is allowed
        ("-0.2", "0.0", "missed"),
    ],
)
def test_score_rounds_half_up_and_grades(progress: str, value: str, grade: str) -> None:
    s = score(Decimal(progress))
    assert s.value == Decimal(value)
    assert str(s.value) == value
    assert s.grade == grade


def test_net_confidence_score() -> None:
    s = Status
    assert net_confidence_score([s.ON_TRACK, s.ON_TRACK, s.OFF_TRACK, s.AT_RISK]) == Decimal("25.0")
    assert net_confidence_score([s.DONE, s.OFF_TRACK]) == 0  # done counts as on track
    assert net_confidence_score([s.OFF_TRACK] * 3) == -100
    assert net_confidence_score([s.ON_TRACK, s.DONE]) == 100
    assert net_confidence_score([s.ON_TRACK, s.AT_RISK, s.NOT_STARTED]) == Decimal("33.3")
    assert net_confidence_score([]) == 0
