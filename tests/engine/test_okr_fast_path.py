"""The OKR roll-up's fast paths give exactly what the rules, applied one by one, give.

`evaluate_okrs` inlines the progress, expected-progress and status rules in one loop, defers
each forecast until it is read, builds results without the dataclass constructor, and rolls
up objectives in ``key_results`` mode in one pass. These properties compare each fast path
with the reference functions (and with results built the ordinary way).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.expected import expected_value
from milepost.engine.explain import Explanation
from milepost.engine.forecast import forecast
from milepost.engine.model import (
    EngineSettings,
    KeyResultInput,
    ObjectiveInput,
    ObjectiveStatusMode,
    Plan,
    RollupMode,
    Status,
)
from milepost.engine.okr import _explain_key_result, evaluate_key_result, evaluate_okrs
from milepost.engine.progress import clamp, current_value, raw_progress
from milepost.engine.results import DeferredForecast, KeyResultResult, ObjectiveResult
from milepost.engine.rollup import _objective_result, _Row, build_alignment
from milepost.engine.status import confidence_disagrees, status_value
from tests.engine.okr_builders import ck, day, kr
from tests.engine.test_okr_properties import alignment_dag, any_key_result, days

FAST = settings(max_examples=80, deadline=None)
GRAPHS = settings(max_examples=40, deadline=None)

any_settings = st.builds(
    EngineSettings,
    on_track_gap=st.sampled_from([Decimal("0.10"), Decimal("0.05"), Decimal("0.2")]),
    at_risk_gap=st.sampled_from([Decimal("0.25"), Decimal("0.3")]),
    allow_over_achievement=st.booleans(),
    over_achievement_cap=st.sampled_from([Decimal("1.5"), Decimal("1.23456"), Decimal(2)]),
    rollup=st.sampled_from(RollupMode),
    objective_status=st.sampled_from(ObjectiveStatusMode),
)


def reference(kr: KeyResultInput, as_of: date, s: EngineSettings) -> KeyResultResult:
    """The result built from the rule functions and the dataclass constructor."""
    current, point = current_value(kr, as_of)
    confidence = None
    for c in kr.checkins:
        if c.on <= as_of and c.confidence is not None:
            confidence = c.confidence
    raw = raw_progress(kr, as_of, current)
    clamped = clamp(raw, s)
    expected = expected_value(kr, as_of)
    status = status_value(clamped, expected, as_of, kr.window_start, s)
    fc, reason = forecast(kr, as_of)
    return KeyResultResult(
        kr.key,
        current,
        raw,
        clamped,
        expected,
        status,
        confidence,
        confidence_disagrees(status, confidence),
        fc,
        reason,
        point.on if point is not None else None,
        _explain_key_result(kr, as_of, s, reason),
    )


@FAST
@given(k=any_key_result(), as_of=days, s=any_settings)
def test_one_key_result_equals_the_rules_applied_one_by_one(
    k: KeyResultInput, as_of: int, s: EngineSettings
) -> None:
    fast = evaluate_key_result(k, day(as_of), s)
    expected = reference(k, day(as_of), s)
    assert fast == expected
    assert hash(fast) == hash(expected)
    assert repr(fast) == repr(expected)
    for v in (fast.current, fast.progress_raw, fast.progress, fast.expected):
        assert isinstance(v, Decimal)
    assert str(fast.progress) == str(expected.progress)  # same digits, not just equal


@FAST
@given(k=any_key_result(), as_of=days, s=any_settings)
def test_a_deferred_forecast_reads_like_a_computed_one(
    k: KeyResultInput, as_of: int, s: EngineSettings
) -> None:
    fc, reason = forecast(k, day(as_of))
    reads: list[Callable[[KeyResultResult], tuple[object, object]]] = [
        lambda r: (r.forecast, r.forecast_reason),
        lambda r: (r.forecast_reason, r.forecast)[::-1],
        # Our own object, pickled and read back in the same test.
        lambda r: (pickle.loads(pickle.dumps(r)).forecast, r.forecast_reason),  # noqa: S301
        lambda r: (copy.deepcopy(r).forecast, dataclasses.replace(r).forecast_reason),
        lambda r: (dataclasses.asdict(r)["forecast"] and r.forecast, r.forecast_reason),
    ]
    for read in reads:
        result = evaluate_key_result(k, day(as_of), s)
        assert read(result) == (fc, reason)
    result = evaluate_key_result(k, day(as_of), s)
    if reason:
        assert f"no forecast: {reason}" in result.explanation.notes
    assert isinstance(result.explanation, Explanation)


def test_a_deferred_forecast_is_computed_once() -> None:
    calls: list[int] = []

    def factory(n: int) -> tuple[None, str]:
        calls.append(n)
        return None, f"reason {n}"

    deferred = DeferredForecast(factory, 7)
    one = KeyResultResult.deferred(
        "o/k",
        Decimal(1),
        Decimal(1),
        Decimal(1),
        Decimal(1),
        Status.ON_TRACK,
        None,
        False,
        deferred,
        deferred,
        None,
        Explanation("r", "s"),
    )
    assert one.forecast_reason == "reason 7"
    assert one.forecast is None
    assert one.forecast_reason == "reason 7"
    assert calls == [7]
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.forecast = None  # type: ignore[misc]


@FAST
@given(ks=st.lists(any_key_result(), max_size=6), as_of=days, s=any_settings)
def test_the_whole_plan_loop_equals_one_key_result_at_a_time(
    ks: list[KeyResultInput], as_of: int, s: EngineSettings
) -> None:
    ks = [dataclasses.replace(k, key=f"o/k{i}") for i, k in enumerate(ks)]
    for with_forecast in (True, False):
        report = evaluate_okrs(
            Plan(settings=s, key_results=tuple(ks)), day(as_of), with_forecast=with_forecast
        )
        assert report.key_results == {
            k.key: evaluate_key_result(k, day(as_of), s, with_forecast=with_forecast) for k in ks
        }
        if not with_forecast:
            assert all(r.forecast is None for r in report.key_results.values())
            assert {r.forecast_reason for r in report.key_results.values()} <= {
                "forecast not requested"
            }


@GRAPHS
@given(dag=alignment_dag(), s=any_settings, as_of=days)
def test_key_results_mode_objectives_equal_the_general_roll_up(
    dag: tuple[list[ObjectiveInput], list[KeyResultInput]], s: EngineSettings, as_of: int
) -> None:
    objectives, krs = dag
    s = dataclasses.replace(s, rollup=RollupMode.KEY_RESULTS)
    report = evaluate_okrs(
        Plan(settings=s, objectives=tuple(objectives), key_results=tuple(krs)), day(as_of)
    )
    graph = build_alignment(objectives, krs)
    for key, result in report.objectives.items():
        rows: list[_Row] = []
        for k, w in graph.key_results_of.get(key, ()):
            r = report.key_results[k]
            rows.append(("key result", k, w, r.progress, r.expected, r.status, (), ""))
        general = _objective_result(key, rows, [], s, day(as_of), RollupMode.KEY_RESULTS)
        assert result == general
        assert str(result.progress) == str(general.progress)
        assert result.explanation.as_dict() == general.explanation.as_dict()
        assert type(result) is ObjectiveResult


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("90", Status.ON_TRACK),  # gap exactly the on-track gap
        ("89.99", Status.AT_RISK),
        ("75", Status.AT_RISK),  # gap exactly the at-risk gap
        ("74.99", Status.OFF_TRACK),
        ("100", Status.DONE),
    ],
)
def test_status_at_the_gap_boundaries_matches_the_rule(value: str, status: Status) -> None:
    k = kr(checkins=(ck(10, value, 5),))
    s = EngineSettings()
    result = evaluate_key_result(k, day(91), s)  # expected progress 1 at the due date
    assert result.status is status
    assert result == reference(k, day(91), s)
