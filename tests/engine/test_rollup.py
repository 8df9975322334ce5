from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

import pytest

from milepost.engine.errors import AlignmentCycleError
from milepost.engine.model import (
    AlignmentLink,
    EngineSettings,
    KeyResultInput,
    ObjectiveInput,
    ObjectiveState,
    ObjectiveStatusMode,
    Plan,
    RollupMode,
    Status,
)
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.results import ObjectiveResult
from milepost.engine.rollup import (
    alignment_order,
    ancestors,
    build_alignment,
    rollup_objectives,
)
from tests.engine.okr_builders import ck, day, kr

AS_OF = day(45)


def obj(
    key: str,
    *links: AlignmentLink,
    state: ObjectiveState = ObjectiveState.ACTIVE,
) -> ObjectiveInput:
    return ObjectiveInput(key=key, title=key, cycle_key="Q3", aligns_to=links, state=state)


def to(parent: str, weight: str | int = 1) -> AlignmentLink:
    """An alignment link to an objective ("growth") or a key result ("growth/revenue")."""
    if "/" in parent:
        return AlignmentLink(parent_key_result=parent, weight=Decimal(weight))
    return AlignmentLink(parent_objective=parent, weight=Decimal(weight))


def at(key: str, progress: str, weight: str | int = 1) -> KeyResultInput:
    """A key result (0 -> 100) whose progress as of AS_OF is ``progress``."""
    value = Decimal(progress) * 100
    return kr(key, start=0, target=100, weight=weight, checkins=(ck(1, value),))


def roll(
    objectives: list[ObjectiveInput],
    key_results: list[KeyResultInput],
    settings: EngineSettings | None = None,
) -> dict[str, ObjectiveResult]:
    s = settings or EngineSettings()
    kr_results = {k.key: evaluate_key_result(k, AS_OF, s) for k in key_results}
    return rollup_objectives(objectives, key_results, kr_results, s, AS_OF)


def progress(results: Mapping[str, ObjectiveResult]) -> dict[str, Decimal]:
    return {k: r.progress for k, r in results.items()}


def test_objective_progress_is_weighted_mean_of_key_results() -> None:
    results = roll([obj("o")], [at("o/a", "0.2", weight=1), at("o/b", "0.8", weight=3)])
    r = results["o"]
    assert r.progress == Decimal("0.6500")
    assert r.explanation.rule == "objective.key_results"
    assert "(1 * 0.2000 + 3 * 0.8000) / (1 + 3) = 0.6500" in r.explanation.summary
    terms = {t.label: t for t in r.explanation.terms}
    assert terms["key result o/b"].value == "0.8000"
    assert "weight 3 (75.0%)" in terms["key result o/b"].detail


def test_weights_are_normalised() -> None:
    small = roll([obj("o")], [at("o/a", "0.2", 1), at("o/b", "0.8", 3)])
    large = roll([obj("o")], [at("o/a", "0.2", 10), at("o/b", "0.8", 30)])
    assert small["o"].progress == large["o"].progress


def test_all_zero_weights_count_inputs_equally() -> None:
    r = roll([obj("o")], [at("o/a", "0.2", 0), at("o/b", "0.4", 0)])["o"]
    assert r.progress == Decimal("0.3000")
    assert any("every weight is zero" in n for n in r.explanation.notes)


def test_objective_uses_clamped_key_result_progress() -> None:
    over = kr("o/a", start=0, target=100, checkins=(ck(1, 300),))
    under = kr("o/b", start=0, target=100, checkins=(ck(1, -100),))
    assert roll([obj("o")], [over, under])["o"].progress == Decimal("0.5000")


def test_objective_without_inputs_is_zero_and_not_started() -> None:
    r = roll([obj("empty")], [])["empty"]
    assert r.progress == 0
    assert r.status is Status.NOT_STARTED
    assert "no key results" in r.explanation.summary


def test_key_results_mode_ignores_aligned_children() -> None:
    objectives = [obj("parent"), obj("child", to("parent"))]
    results = roll(objectives, [at("parent/a", "0.2"), at("child/a", "1")])
    assert results["parent"].progress == Decimal("0.2000")


def test_both_mode_averages_key_results_and_children_by_link_weight() -> None:
    objectives = [obj("parent"), obj("child", to("parent", 2))]
    krs = [at("parent/a", "0.2"), at("child/a", "0.8")]
    results = roll(objectives, krs, EngineSettings(rollup=RollupMode.BOTH))
    assert results["parent"].progress == Decimal("0.6000")  # (1*0.2 + 2*0.8) / 3
    assert results["parent"].explanation.rule == "objective.both"


def test_child_aligned_to_a_key_result_counts_inside_that_slot_not_twice() -> None:
    objectives = [obj("parent"), obj("child", to("parent/a"))]
    krs = [at("parent/a", "0.2"), at("parent/b", "0.6"), at("child/x", "1")]
    results = roll(objectives, krs, EngineSettings(rollup=RollupMode.BOTH))
    # Slot a = (0.2 + 1 * 1.0) / (1 + 1) = 0.6; parent = (0.6 + 0.6) / 2.
    assert results["parent"].progress == Decimal("0.6000")
    slot = next(t for t in results["parent"].explanation.terms if t.label == "key result parent/a")
    assert slot.value == "0.6000"
    assert "child (link weight 1, progress 1.0000)" in slot.detail
    # The key result's own progress is unchanged.
    kr_result = evaluate_key_result(krs[0], AS_OF, EngineSettings())
    assert kr_result.progress == Decimal("0.2000")


def test_children_mode_uses_children_only_and_leaves_use_key_results() -> None:
    objectives = [obj("parent"), obj("c1", to("parent")), obj("c2", to("parent/a", 3))]
    krs = [at("parent/a", "0"), at("c1/a", "0.2"), at("c2/a", "0.6")]
    results = roll(objectives, krs, EngineSettings(rollup=RollupMode.CHILDREN))
    assert results["parent"].progress == Decimal("0.5000")  # (0.2 + 3 * 0.6) / 4
    assert results["c1"].progress == Decimal("0.2000")
    assert any("rolls up its key results" in n for n in results["c1"].explanation.notes)
    via = next(t for t in results["parent"].explanation.terms if t.label == "objective c2")
    assert "aligned through key result parent/a" in via.detail


def test_cancelled_children_do_not_count() -> None:
    objectives = [
        obj("parent"),
        obj("live", to("parent")),
        obj("gone", to("parent"), state=ObjectiveState.CANCELLED),
    ]
    krs = [at("parent/a", "0.5"), at("live/a", "0.5"), at("gone/a", "0")]
    results = roll(objectives, krs, EngineSettings(rollup=RollupMode.BOTH))
    assert results["parent"].progress == Decimal("0.5000")
    assert any("gone" in n for n in results["parent"].explanation.notes)


def test_status_is_worst_of_inputs_by_default() -> None:
    objectives = [obj("o")]
    # At day 45 expected is 0.4945: 0.45 is on track, 0.3 at risk.
    results = roll(objectives, [at("o/a", "0.45"), at("o/b", "0.3"), at("o/c", "1")])
    assert results["o"].status is Status.AT_RISK
    assert "worst of its inputs" in results["o"].explanation.summary


def test_status_from_objective_gap_when_configured() -> None:
    settings = EngineSettings(objective_status=ObjectiveStatusMode.GAP)
    results = roll([obj("o")], [at("o/a", "0.3"), at("o/b", "0.7")], settings)
    # progress 0.5 vs expected 0.4945: on track, although o/a alone is at risk.
    assert results["o"].status is Status.ON_TRACK
    assert results["o"].expected == Decimal("0.4945")
    assert any("own gap" in n for n in results["o"].explanation.notes)


def test_objective_before_window_is_not_started() -> None:
    k = kr("o/a", window_start=day(10))
    s = EngineSettings()
    r = rollup_objectives([obj("o")], [k], {k.key: evaluate_key_result(k, day(5), s)}, s, day(5))
    assert r["o"].status is Status.NOT_STARTED


def test_missing_key_result_result_is_an_error() -> None:
    with pytest.raises(ValueError, match="o/a"):
        rollup_objectives([obj("o")], [at("o/a", "0.1")], {}, EngineSettings(), AS_OF)


def test_alignment_order_is_children_first() -> None:
    objectives = [
        obj("company"),
        obj("growth", to("company")),
        obj("seo", to("growth/traffic")),
        obj("blog", to("seo"), to("company")),
    ]
    order = alignment_order(objectives, [at("growth/traffic", "0")])
    assert order.index("blog") < order.index("seo") < order.index("growth")
    assert order.index("growth") < order.index("company")
    assert sorted(order) == sorted(o.key for o in objectives)


def test_alignment_loop_names_every_objective_in_it() -> None:
    objectives = [
        obj("root"),
        obj("a", to("b")),
        obj("b", to("c/kr")),
        obj("c", to("a")),
        obj("d", to("a")),
    ]
    with pytest.raises(AlignmentCycleError) as raised:
        alignment_order(objectives, [at("c/kr", "0")])
    assert raised.value.nodes == ["a", "b", "c"]
    assert str(raised.value) == "alignment loop: a → b → c → a"


def test_alignment_to_itself_is_a_loop() -> None:
    with pytest.raises(AlignmentCycleError) as raised:
        alignment_order([obj("a", to("a/x"))], [at("a/x", "0")])
    assert raised.value.nodes == ["a"]


def test_links_to_unknown_objectives_are_ignored() -> None:
    assert alignment_order([obj("a", to("ghost"), to("ghost/kr"))], []) == ["a"]


def test_ancestors_go_up_through_key_results_children_first() -> None:
    objectives = [
        obj("company"),
        obj("growth", to("company")),
        obj("seo", to("growth/traffic")),
        obj("blog", to("seo")),
        obj("other", to("company")),
    ]
    krs = [at("growth/traffic", "0")]
    assert ancestors("blog", objectives, krs) == ["seo", "growth", "company"]
    assert ancestors("blog", objectives) == ["seo", "growth", "company"]  # keys say the owner
    assert ancestors("company", objectives) == []
    graph = build_alignment(objectives, krs)
    assert ancestors("seo", graph) == ["growth", "company"]


def test_incremental_recompute_of_ancestors_equals_full_recompute() -> None:
    objectives = [
        obj("company"),
        obj("growth", to("company")),
        obj("seo", to("growth/traffic")),
        obj("ops", to("company")),
    ]
    krs = [
        at("company/rev", "0.5"),
        at("growth/traffic", "0.3"),
        at("seo/pv", "0.1"),
        at("ops/up", "0.9"),
    ]
    settings = EngineSettings(rollup=RollupMode.BOTH)
    before = evaluate_okrs(
        Plan(settings=settings, objectives=tuple(objectives), key_results=tuple(krs)), AS_OF
    )
    # A check-in on seo/pv.
    changed = replace(krs[2], checkins=(*krs[2].checkins, ck(40, 90)))
    krs_after = [krs[0], krs[1], changed, krs[3]]
    full = evaluate_okrs(
        Plan(settings=settings, objectives=tuple(objectives), key_results=tuple(krs_after)), AS_OF
    )
    kr_results = dict(before.key_results)
    kr_results[changed.key] = evaluate_key_result(changed, AS_OF, settings)
    graph = build_alignment(objectives, krs_after)
    only = {"seo", *ancestors("seo", graph)}
    assert only == {"seo", "growth", "company"}
    incremental = rollup_objectives(
        objectives,
        krs_after,
        kr_results,
        settings,
        AS_OF,
        only=only,
        previous=before.objectives,
        graph=graph,
    )
    assert incremental == full.objectives
    assert incremental["company"].progress != before.objectives["company"].progress
    assert incremental["ops"] is before.objectives["ops"]  # reused, not recomputed


def test_incremental_without_previous_computes_what_it_needs() -> None:
    objectives = [obj("parent"), obj("child", to("parent"))]
    krs = [at("parent/a", "0.2"), at("child/a", "0.8")]
    s = EngineSettings(rollup=RollupMode.BOTH)
    kr_results = {k.key: evaluate_key_result(k, AS_OF, s) for k in krs}
    partial = rollup_objectives(objectives, krs, kr_results, s, AS_OF, only={"parent"})
    assert partial["parent"].progress == Decimal("0.5000")
    assert set(partial) == {"parent", "child"}


def test_evaluate_okrs_reports_every_key_result_and_objective() -> None:
    pv = kr("seo/pv", start=1200, target=2500, checkins=(ck(14, 1400, 7),))
    plan = Plan(objectives=(obj("seo"),), key_results=(pv,))
    report = evaluate_okrs(plan, day(14))
    assert report.as_of == day(14)
    r = report.key_results["seo/pv"]
    assert r.progress == Decimal("0.1538")
    assert r.confidence == 7
    assert r.last_checkin_on == day(14)
    assert report.objectives["seo"].progress == Decimal("0.1538")
