from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from milepost.engine.explain import Explanation
from milepost.engine.model import EngineSettings, KeyResultKind, MaintainDirection
from milepost.engine.progress import current_value, key_result_progress, maintain_share_held
from tests.engine.okr_builders import ck, day, kr, ms

DEFAULT = EngineSettings()


def test_page_views_worked_example() -> None:
    pv = kr(start=1200, target=2500, checkins=(ck(14, 1400),))
    p = key_result_progress(pv, day(20), DEFAULT)
    assert p.raw == Decimal("0.1538")
    assert p.clamped == Decimal("0.1538")
    assert p.current == Decimal(1400)
    assert p.checkin is not None
    assert p.checkin.on == day(14)
    assert p.explanation.rule == "progress.increase"
    assert p.explanation.summary == "(1400 - 1200) / (2500 - 1200) = 0.1538"
    labels = {t.label: t.value for t in p.explanation.terms}
    assert labels["start"] == "1200"
    assert labels["target"] == "2500"
    assert labels["current"] == "1400"


def test_bounce_rate_worked_example_decrease() -> None:
    bounce = kr(kind=KeyResultKind.DECREASE, start=10, target=4, checkins=(ck(10, 8),))
    p = key_result_progress(bounce, day(30), DEFAULT)
    assert p.raw == Decimal("0.3333")
    assert p.clamped == Decimal("0.3333")
    assert p.explanation.rule == "progress.decrease"


def test_decrease_moving_the_wrong_way_is_negative_and_clamps_to_zero() -> None:
    bounce = kr(kind=KeyResultKind.DECREASE, start=10, target=4, checkins=(ck(10, 12),))
    p = key_result_progress(bounce, day(30), DEFAULT)
    assert p.raw == Decimal("-0.3333")
    assert p.clamped == 0
    assert any("below 0" in n for n in p.explanation.notes)


def test_over_achievement_is_clamped_to_one_by_default() -> None:
    big = kr(start=0, target=100, checkins=(ck(5, 180),))
    p = key_result_progress(big, day(10), DEFAULT)
    assert p.raw == Decimal("1.8000")
    assert p.clamped == 1
    assert any("over-achievement not allowed" in n for n in p.explanation.notes)


def test_over_achievement_allowed_is_capped() -> None:
    big = kr(start=0, target=100, checkins=(ck(5, 180),))
    allow = EngineSettings(allow_over_achievement=True, over_achievement_cap=Decimal("1.5"))
    assert key_result_progress(big, day(10), allow).clamped == Decimal("1.5")
    some = kr(start=0, target=100, checkins=(ck(5, 120),))
    assert key_result_progress(some, day(10), allow).clamped == Decimal("1.2000")


def test_current_value_is_start_without_checkins() -> None:
    assert current_value(kr(start=7), day(50)) == (Decimal(7), None)


def test_current_value_is_latest_checkin_on_or_before_date() -> None:
    k = kr(checkins=(ck(1, 10), ck(5, 20), ck(9, 30)))
    assert current_value(k, day(0)) == (Decimal(0), None)
    assert current_value(k, day(5))[0] == 20  # a check-in on the date counts
    assert current_value(k, day(8))[0] == 20  # later ones do not
    assert current_value(k, day(90))[0] == 30


def test_current_value_takes_the_last_of_several_on_one_day() -> None:
    k = kr(checkins=(ck(3, 10), ck(3, 11), ck(3, 12)))
    value, point = current_value(k, day(3))
    assert value == 12
    assert point is k.checkins[-1]


def test_progress_without_checkins_uses_start_and_says_so() -> None:
    p = key_result_progress(kr(start=50, target=150), day(10), DEFAULT)
    assert p.raw == 0
    assert p.checkin is None
    current = next(t for t in p.explanation.terms if t.label == "current")
    assert "start value" in current.detail


def test_binary_is_zero_until_done_then_one() -> None:
    ship = kr(kind=KeyResultKind.BINARY, start=0, target=1, checkins=(ck(40, 1),))
    assert key_result_progress(ship, day(39), DEFAULT).raw == 0
    done = key_result_progress(ship, day(40), DEFAULT)
    assert done.raw == 1
    assert done.clamped == 1
    assert done.explanation.rule == "progress.binary"


def test_binary_set_back_to_zero_is_not_done() -> None:
    ship = kr(kind=KeyResultKind.BINARY, start=0, target=1, checkins=(ck(10, 1), ck(12, 0)))
    assert key_result_progress(ship, day(20), DEFAULT).raw == 0


def test_milestones_weighted_share_done_by_date() -> None:
    plan = kr(
        kind=KeyResultKind.MILESTONES,
        milestones=(
            ms("design", 20, weight=1, done_on=18),
            ms("build", 50, weight=2, done_on=60),
            ms("launch", 80, weight=1),
        ),
    )
    assert key_result_progress(plan, day(10), DEFAULT).raw == 0
    assert key_result_progress(plan, day(18), DEFAULT).raw == Decimal("0.2500")
    late = key_result_progress(plan, day(60), DEFAULT)
    assert late.raw == Decimal("0.7500")
    assert late.explanation.rule == "progress.milestones"
    assert "weight done 3 / total weight 4" in late.explanation.summary


def test_milestones_without_milestones_is_zero_and_says_so() -> None:
    p = key_result_progress(kr(kind=KeyResultKind.MILESTONES), day(10), DEFAULT)
    assert p.raw == 0
    assert any("no milestones" in n for n in p.explanation.notes)


def test_maintain_drops_below_threshold() -> None:
    uptime = kr(
        kind=KeyResultKind.MAINTAIN,
        start="99.9",
        target="99.5",
        checkins=(ck(10, "99.7"), ck(20, "99.1")),
    )
    before = key_result_progress(uptime, day(19), DEFAULT)
    assert before.raw == 1
    after = key_result_progress(uptime, day(25), DEFAULT)
    assert after.raw == 0
    assert after.clamped == 0
    assert after.explanation.rule == "progress.maintain"
    # Held on days 0..19 (20 days) of the 26 days 0..25.
    assert maintain_share_held(uptime, day(25)) == Decimal("0.7692")
    share = next(t for t in after.explanation.terms if t.label == "share of elapsed days held")
    assert share.value == "0.7692"


def test_maintain_at_most_and_recovery() -> None:
    latency = kr(
        kind=KeyResultKind.MAINTAIN,
        start=180,
        target=200,
        direction=MaintainDirection.AT_MOST,
        checkins=(ck(4, 250), ck(6, 190)),
    )
    assert key_result_progress(latency, day(5), DEFAULT).raw == 0
    assert key_result_progress(latency, day(9), DEFAULT).raw == 1
    # Days 0..9: held on 0-3 and 6-9 = 8 of 10.
    assert maintain_share_held(latency, day(9)) == Decimal("0.8000")


def test_maintain_share_counts_only_the_window() -> None:
    held = kr(kind=KeyResultKind.MAINTAIN, start=5, target=1, checkins=(ck(95, 0),))
    # The drop after the due date does not reduce the share of the window.
    assert maintain_share_held(held, day(100)) == 1
    before_window = kr(kind=KeyResultKind.MAINTAIN, start=0, target=1)
    assert maintain_share_held(before_window, day(-5)) == 0


def test_target_equal_to_start_is_reached_or_not() -> None:
    flat = kr(start=10, target=10, checkins=(ck(3, 10),))
    p = key_result_progress(flat, day(5), DEFAULT)
    assert p.raw == 1
    assert any("must differ" in n for n in p.explanation.notes)
    below = kr(start=10, target=10, checkins=(ck(3, 9),))
    assert key_result_progress(below, day(5), DEFAULT).raw == 0


def test_explanation_is_lazy_but_equal_to_a_plain_one_and_pickles_plain() -> None:
    p = key_result_progress(kr(start=0, target=4, checkins=(ck(1, 1),)), day(2), DEFAULT)
    plain = Explanation(
        p.explanation.rule, p.explanation.summary, p.explanation.terms, p.explanation.notes
    )
    assert p.explanation == plain
    assert plain == p.explanation
    assert hash(p.explanation) == hash(plain)
    restored = pickle.loads(pickle.dumps(p.explanation))  # noqa: S301 - our own bytes
    assert type(restored) is Explanation
    assert restored == plain
    assert p.explanation.as_dict()["summary"] == "(1 - 0) / (4 - 0) = 0.2500"


@pytest.mark.parametrize(
    ("kind", "start", "target", "value", "expected"),
    [
        (KeyResultKind.INCREASE, 0, 3, 1, "0.3333"),
        (KeyResultKind.INCREASE, 0, 3, 2, "0.6667"),  # rounded half up to 4 places
        (KeyResultKind.DECREASE, 100, 0, 50, "0.5000"),
        (KeyResultKind.INCREASE, -10, 10, 0, "0.5000"),
    ],
)
def test_formula_examples(
    kind: KeyResultKind, start: int, target: int, value: int, expected: str
) -> None:
    k = kr(kind=kind, start=start, target=target, checkins=(ck(1, value),))
    assert key_result_progress(k, day(1), DEFAULT).raw == Decimal(expected)


def test_progress_values_always_print_with_four_places() -> None:
    # 0 / -6 is "-0" in decimal arithmetic; progress must never show it.
    flat = key_result_progress(kr(kind=KeyResultKind.DECREASE, start=10, target=4), day(3), DEFAULT)
    assert (str(flat.raw), str(flat.clamped)) == ("0.0000", "0.0000")
    ship = kr(kind=KeyResultKind.BINARY, start=0, target=1, checkins=(ck(1, 1),))
    assert str(key_result_progress(ship, day(2), DEFAULT).clamped) == "1.0000"
    over = key_result_progress(kr(start=0, target=10, checkins=(ck(1, 30),)), day(2), DEFAULT)
    assert str(over.clamped) == "1.0000"
    below = key_result_progress(kr(start=0, target=10, checkins=(ck(1, -5),)), day(2), DEFAULT)
    assert str(below.clamped) == "0.0000"
