"""Properties of the OKR rules that must hold for any input (issue 3, "Done when")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.errors import AlignmentCycleError
from milepost.engine.expected import expected_progress
from milepost.engine.forecast import forecast
from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    Curve,
    EngineSettings,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    ObjectiveInput,
    ObjectiveStatusMode,
    Plan,
    RollupMode,
)
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.progress import key_result_progress, maintain_share_held
from milepost.engine.rollup import alignment_order, ancestors, build_alignment, rollup_objectives
from milepost.engine.score import score
from tests.engine.okr_builders import ck, day, kr, ms

FAST = settings(max_examples=60, deadline=None)
GRAPHS = settings(max_examples=40, deadline=None)  # each example builds a whole plan

values = st.decimals(
    min_value=-1_000_000, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False
)
weights = st.decimals(min_value="0.1", max_value=100, places=1)
fractions = st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n) / 10_000)
days = st.integers(min_value=-20, max_value=120)


@st.composite
def checkin_series(draw: st.DrawFn, max_size: int = 8) -> tuple[CheckInPoint, ...]:
    on = sorted(draw(st.lists(days, max_size=max_size)))
    return tuple(ck(d, draw(values), draw(st.none() | st.integers(0, 10))) for d in on)


@st.composite
def any_key_result(draw: st.DrawFn) -> KeyResultInput:
    kind = draw(st.sampled_from(KeyResultKind))
    start = draw(values)
    target = draw(values.filter(lambda t: t != start))
    return kr(
        kind=kind,
        start=start,
        target=target,
        checkins=draw(checkin_series()),
        milestones=tuple(
            ms(f"m{i}", draw(days), draw(st.integers(1, 5)), draw(st.none() | days))
            for i in range(draw(st.integers(0, 3)))
        ),
        curve=draw(st.sampled_from(Curve)),
        direction=draw(st.sampled_from(MaintainDirection)),
    )


@FAST
@given(start=values, span=values.filter(lambda v: v > 0), a=values, b=values)
def test_progress_is_monotone_in_the_value(
    start: Decimal, span: Decimal, a: Decimal, b: Decimal
) -> None:
    low, high = min(a, b), max(a, b)
    up = KeyResultKind.INCREASE
    down = KeyResultKind.DECREASE
    s = EngineSettings()

    def raw(kind: KeyResultKind, target: Decimal, value: Decimal) -> Decimal:
        k = kr(kind=kind, start=start, target=target, checkins=(ck(1, value),))
        return key_result_progress(k, day(2), s).raw

    assert raw(up, start + span, low) <= raw(up, start + span, high)
    # Decrease: the target is below the start, and a higher value is less progress.
    assert raw(down, start - span, low) >= raw(down, start - span, high)


@FAST
@given(k=any_key_result(), as_of=days, cap=st.decimals(min_value=1, max_value=3, places=1))
def test_clamped_progress_stays_in_bounds(k: KeyResultInput, as_of: int, cap: Decimal) -> None:
    p = key_result_progress(k, day(as_of), EngineSettings())
    assert 0 <= p.clamped <= 1
    if 0 <= p.raw <= 1:
        assert p.clamped == p.raw
    over = EngineSettings(allow_over_achievement=True, over_achievement_cap=cap)
    assert 0 <= key_result_progress(k, day(as_of), over).clamped <= cap
    assert 0 <= score(p.clamped).value <= 1
    result = evaluate_key_result(k, day(as_of), EngineSettings())
    assert result.progress == p.clamped
    assert result.explanation.summary  # every result explains itself


@FAST
@given(k=any_key_result(), a=days, b=days)
def test_expected_progress_is_in_bounds_and_never_goes_back(
    k: KeyResultInput, a: int, b: int
) -> None:
    early, late = expected_progress(k, day(min(a, b)))[0], expected_progress(k, day(max(a, b)))[0]
    assert 0 <= early <= late <= 1


@FAST
@given(k=any_key_result(), as_of=days)
def test_maintain_share_and_forecast_interval_are_sane(k: KeyResultInput, as_of: int) -> None:
    assert 0 <= maintain_share_held(k, day(as_of)) <= 1
    fc, reason = forecast(k, day(as_of))
    if fc is None:
        assert reason
    else:
        assert reason == ""
        assert fc.low <= fc.value <= fc.high


def objective(key: str, *links: AlignmentLink) -> ObjectiveInput:
    return ObjectiveInput(key=key, title=key, cycle_key="Q3", aligns_to=links)


def at(key: str, progress: Decimal, weight: Decimal = Decimal(1)) -> KeyResultInput:
    return kr(key, start=0, target=10_000, weight=weight, checkins=(ck(0, progress * 10_000),))


@FAST
@given(
    progresses=st.lists(fractions, min_size=1, max_size=6),
    data=st.data(),
    factor=st.decimals(min_value="0.1", max_value=1000, places=1),
)
def test_weights_are_scale_free(
    progresses: list[Decimal], data: st.DataObject, factor: Decimal
) -> None:
    ws = data.draw(st.lists(weights, min_size=len(progresses), max_size=len(progresses)))

    def rolled(wts: list[Decimal]) -> Decimal:
        krs = [at(f"o/k{i}", p, w) for i, (p, w) in enumerate(zip(progresses, wts, strict=True))]
        return (
            evaluate_okrs(Plan(objectives=(objective("o"),), key_results=tuple(krs)), day(10))
            .objectives["o"]
            .progress
        )

    ones = rolled([Decimal(1)] * len(progresses))
    assert rolled([factor] * len(progresses)) == ones  # equal weights: any value, same mean
    assert rolled([w * factor for w in ws]) == rolled(ws)


@st.composite
def alignment_dag(draw: st.DrawFn) -> tuple[list[ObjectiveInput], list[KeyResultInput]]:
    """Objectives o0..on-1, each aligned to earlier ones (objective or key result links)."""
    n = draw(st.integers(min_value=1, max_value=8))
    krs: list[KeyResultInput] = []
    objectives: list[ObjectiveInput] = []
    for i in range(n):
        for j in range(draw(st.integers(1, 3))):
            krs.append(
                kr(
                    f"o{i}/k{j}",
                    start=0,
                    target=100,
                    weight=draw(weights),
                    checkins=tuple(
                        ck(d, draw(values)) for d in sorted(draw(st.lists(days, max_size=4)))
                    ),
                )
            )
        links: list[AlignmentLink] = []
        if i:
            for _ in range(draw(st.integers(0, 2))):
                parent = draw(st.integers(0, i - 1))
                w = draw(weights)
                if draw(st.booleans()):
                    links.append(AlignmentLink(parent_objective=f"o{parent}", weight=w))
                else:
                    parent_krs = [k.key for k in krs if k.objective_key == f"o{parent}"]
                    links.append(
                        AlignmentLink(parent_key_result=draw(st.sampled_from(parent_krs)), weight=w)
                    )
        objectives.append(objective(f"o{i}", *links))
    order = draw(st.permutations(objectives))
    return list(order), krs


rollup_settings = st.builds(
    EngineSettings,
    rollup=st.sampled_from(RollupMode),
    objective_status=st.sampled_from(ObjectiveStatusMode),
    allow_over_achievement=st.booleans(),
)


@GRAPHS
@given(dag=alignment_dag(), p=fractions, s=rollup_settings)
def test_rollup_of_identical_inputs_equals_the_input(
    dag: tuple[list[ObjectiveInput], list[KeyResultInput]], p: Decimal, s: EngineSettings
) -> None:
    objectives, krs = dag
    same = [replace(k, checkins=(ck(0, p * 100),)) for k in krs]
    report = evaluate_okrs(
        Plan(settings=s, objectives=tuple(objectives), key_results=tuple(same)), day(30)
    )
    assert {r.progress for r in report.objectives.values()} == {p}


@GRAPHS
@given(dag=alignment_dag(), s=rollup_settings, data=st.data())
def test_incremental_recompute_equals_full_recompute(
    dag: tuple[list[ObjectiveInput], list[KeyResultInput]], s: EngineSettings, data: st.DataObject
) -> None:
    objectives, krs = dag
    as_of = day(data.draw(days))
    before = evaluate_okrs(
        Plan(settings=s, objectives=tuple(objectives), key_results=tuple(krs)), as_of
    )
    index = data.draw(st.integers(0, len(krs) - 1))
    target = krs[index]
    last = target.checkins[-1].on if target.checkins else day(-20)
    when = max(last, as_of)
    changed = replace(target, checkins=(*target.checkins, CheckInPoint(when, data.draw(values), 5)))
    after = [*krs[:index], changed, *krs[index + 1 :]]
    full = evaluate_okrs(
        Plan(settings=s, objectives=tuple(objectives), key_results=tuple(after)), as_of
    )

    kr_results = dict(before.key_results)
    kr_results[changed.key] = evaluate_key_result(changed, as_of, s)
    graph = build_alignment(objectives, after)
    only = {changed.objective_key, *ancestors(changed.objective_key, graph)}
    incremental = rollup_objectives(
        objectives, after, kr_results, s, as_of, only=only, previous=before.objectives, graph=graph
    )
    assert incremental == full.objectives
    assert kr_results == full.key_results


def edges(objectives: list[ObjectiveInput]) -> set[tuple[str, str]]:
    """(child, parent objective) pairs; a key-result link leads to its objective."""
    out = set()
    for o in objectives:
        for link in o.aligns_to:
            parent = link.parent_objective or (link.parent_key_result or "").rpartition("/")[0]
            out.add((o.key, parent))
    return out


@GRAPHS
@given(dag=alignment_dag(), data=st.data())
def test_a_loop_is_always_reported_with_every_node(
    dag: tuple[list[ObjectiveInput], list[KeyResultInput]], data: st.DataObject
) -> None:
    objectives, krs = dag
    keys = [o.key for o in objectives]
    loop = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    by_key = {o.key: o for o in objectives}
    for child, parent in zip(loop, [*loop[1:], loop[0]], strict=True):
        if data.draw(st.booleans()):
            link = AlignmentLink(parent_objective=parent)
        else:
            link = AlignmentLink(parent_key_result=f"{parent}/k0")
        by_key[child] = replace(by_key[child], aligns_to=(*by_key[child].aligns_to, link))
    looped = [by_key[k] for k in keys]
    try:
        alignment_order(looped, krs)
    except AlignmentCycleError as error:
        reported, message = error.nodes, str(error)
    else:
        raise AssertionError("a loop was not reported")
    assert reported
    assert len(set(reported)) == len(reported)
    graph_edges = edges(looped)
    for child, parent in zip(reported, [*reported[1:], reported[0]], strict=True):
        assert (child, parent) in graph_edges
    for key in reported:
        assert key in message


@GRAPHS
@given(dag=alignment_dag())
def test_alignment_order_puts_children_first(
    dag: tuple[list[ObjectiveInput], list[KeyResultInput]],
) -> None:
    objectives, krs = dag
    order = alignment_order(objectives, krs)
    position = {k: i for i, k in enumerate(order)}
    assert sorted(order) == sorted(o.key for o in objectives)
    for child, parent in edges(objectives):
        assert position[child] < position[parent]


@GRAPHS
@given(dag=alignment_dag(), s=rollup_settings, data=st.data())
def test_an_evaluation_patched_after_check_ins_equals_a_full_one(
    dag: tuple[list[ObjectiveInput], list[KeyResultInput]], s: EngineSettings, data: st.DataObject
) -> None:
    """`evaluate_okrs(..., same_but_checkins=..., changed=...)`: only the changed key results
    and the objectives above them are evaluated again, and the report is the full one."""
    objectives, krs = dag
    as_of = day(data.draw(days))
    before_plan = Plan(settings=s, objectives=tuple(objectives), key_results=tuple(krs))
    before = evaluate_okrs(before_plan, as_of)
    changed = set(data.draw(st.lists(st.sampled_from([k.key for k in krs]), max_size=3)))
    after = tuple(
        replace(k, checkins=(*k.checkins, CheckInPoint(day(data.draw(days)), data.draw(values))))
        if k.key in changed
        else k
        for k in krs
    )
    after = tuple(replace(k, checkins=tuple(sorted(k.checkins, key=lambda c: c.on))) for k in after)
    after_plan = replace(before_plan, key_results=after)

    full = evaluate_okrs(after_plan, as_of)
    patched = evaluate_okrs(after_plan, as_of, same_but_checkins=before, changed=changed)
    assert patched == full
    # Nothing changed: everything is reused. A report of another day is no base to patch:
    # the evaluation is a full one.
    assert evaluate_okrs(after_plan, as_of, same_but_checkins=full, changed=()) == full
    other_day = evaluate_okrs(before_plan, as_of + timedelta(days=1))
    assert evaluate_okrs(after_plan, as_of, same_but_checkins=other_day, changed=changed) == full
