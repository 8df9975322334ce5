"""The canonical form: deterministic text, decimals as written, and an exact round trip."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    Curve,
    CycleInput,
    CycleState,
    DependencyInput,
    DependencyType,
    EngineSettings,
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    MilestoneInput,
    MilestoneRef,
    ObjectiveInput,
    ObjectiveState,
    ObjectiveStatusMode,
    Plan,
    RollupMode,
    TeamInput,
)
from milepost.plans.canonical import canonical_data, canonical_text, dump_json, dump_yaml
from milepost.plans.document import PlanDocument, TaskSpec, TaskStatus, task_counts
from milepost.plans.planfile import load_plan, parse_plan_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-plan.yaml"
FORMATS: tuple[Literal["yaml", "json"], ...] = ("yaml", "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_example_round_trips_exactly(fmt: Literal["yaml", "json"]) -> None:
    doc = load_plan(EXAMPLE)
    text = canonical_text(doc, fmt)
    again = parse_plan_text(text)
    assert again == doc
    assert canonical_text(again, fmt) == text


def test_canonical_text_is_sorted_and_keeps_decimals_as_written() -> None:
    text = canonical_text(load_plan(EXAMPLE))
    assert text.startswith("cycles:\n")
    assert text.endswith("version: 1\n")
    assert "actual_cost: 4800.50\n" in text
    assert "target: 2.0\n" in text
    data = canonical_data(load_plan(EXAMPLE))
    assert list(data) == [
        "version",
        "organization",
        "settings",
        "teams",
        "cycles",
        "objectives",
        "initiatives",
        "milestones",
        "dependencies",
    ]  # the data keeps a reading order; the writers sort


def test_defaults_are_left_out() -> None:
    plan = Plan(
        cycles=(CycleInput("Q3", "Q3", date(2026, 7, 1), date(2026, 9, 30)),),
        objectives=(ObjectiveInput("o", "O", "Q3"),),
        key_results=(
            KeyResultInput(
                key="o/k",
                objective_key="o",
                title="K",
                kind=KeyResultKind.BINARY,
                start=Decimal(0),
                target=Decimal(1),
                window_start=date(2026, 7, 1),
                due=date(2026, 9, 30),
            ),
        ),
        initiatives=(InitiativeInput("i", "I", None, InitiativeStatus.PLANNED, None, None),),
        dependencies=(DependencyInput("i", "m"),),
        milestones=(MilestoneInput("m", "m", date(2026, 8, 1)),),
    )
    assert canonical_data(plan) == {
        "version": 1,
        "cycles": [{"key": "Q3", "start": "2026-07-01", "end": "2026-09-30"}],
        "objectives": [
            {
                "key": "o",
                "title": "O",
                "cycle": "Q3",
                "key_results": [{"key": "k", "title": "K", "kind": "binary"}],
            }
        ],
        "initiatives": [{"key": "i", "title": "I"}],
        "milestones": [{"key": "m", "date": "2026-08-01"}],
        "dependencies": [{"predecessor": "i", "successor": "m"}],
    }
    assert parse_plan_text(canonical_text(plan)).plan == plan


def test_a_weight_written_1_0_is_not_the_default_1() -> None:
    plan = Plan(
        cycles=(CycleInput("Q3", "Q3", date(2026, 7, 1), date(2026, 9, 30)),),
        objectives=(ObjectiveInput("o", "O", "Q3", weight=Decimal("1.0")),),
    )
    assert "weight: 1.0\n" in canonical_text(plan)


def test_writers_quote_what_would_read_back_as_something_else() -> None:
    data = {
        "a": "1e3",
        "b": "true",
        "c": "null",
        "d": "2026-07-01",
        "e": Decimal("1E+3"),
        "f": "yes",
        "g": "",
        "h": " x",
        "i": "#x",
        "j": "a: b",
    }
    for text in (dump_yaml(data), dump_json(data)):
        from milepost.plans.planfile import decode_plan_text

        assert decode_plan_text(text) == data
    assert "e: 1E+3\n" in dump_yaml(data)
    assert "f: yes\n" in dump_yaml(data)  # YAML 1.2: a plain string


# --- hypothesis: generated plans round-trip ---------------------------------------------------

KEYS = st.from_regex(r"[a-z][a-z0-9_.-]{0,6}", fullmatch=True)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda s: s.strip() != ""
)
OPT_TEXT = st.none() | TEXT
# a share in [0, 1] written with 1 to 3 decimals: 0.1, 0.10, 0.250, 1.00
SHARES = st.builds(
    lambda n, places: Decimal(n).scaleb(-places), st.integers(0, 100), st.integers(2, 3)
).filter(lambda d: d <= 1)
DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def decimals(draw: st.DrawFn, *, positive: bool = False, signed: bool = True) -> Decimal:
    digits = draw(st.lists(st.integers(0, 9), min_size=1, max_size=6))
    if positive and not any(digits):
        digits[-1] = 1
    exponent = draw(st.integers(-4, 2))
    sign = draw(st.integers(0, 1)) if signed and not positive else 0
    return Decimal((sign, tuple(digits), exponent))


def _unique(draw: st.DrawFn, n: int, taken: set[str]) -> list[str]:
    keys = draw(st.lists(KEYS.filter(lambda k: k not in taken), unique=True, max_size=n))
    taken.update(keys)
    return keys


@st.composite
def documents(draw: st.DrawFn) -> PlanDocument:
    gaps = sorted(draw(st.lists(SHARES, min_size=2, max_size=2)))
    engine_settings = draw(
        st.just(EngineSettings())
        | st.builds(
            EngineSettings,
            on_track_gap=st.just(gaps[0]),
            at_risk_gap=st.just(gaps[1]),
            allow_over_achievement=st.booleans(),
            over_achievement_cap=decimals(positive=True).map(lambda d: d + 1),
            rollup=st.sampled_from(RollupMode),
            objective_status=st.sampled_from(ObjectiveStatusMode),
            stale_after_days=st.integers(1, 60),
            max_key_results_per_objective=st.integers(1, 9),
            max_objectives_per_team=st.integers(1, 9),
            output_done_share=SHARES.filter(lambda d: d > 0),
        )
    )
    team_keys = _unique(draw, 3, set())
    teams = tuple(
        TeamInput(
            key=k,
            name=draw(st.just(k) | TEXT),
            parent_key=draw(st.sampled_from([None, *team_keys[:i]])),
            capacity_days_per_week=draw(decimals(signed=False)),
        )
        for i, k in enumerate(team_keys)
    )
    cycles: list[CycleInput] = []
    for k in _unique(draw, 2, set()) or ["Q"]:
        first_day = draw(DAYS)
        cycles.append(
            CycleInput(
                key=k,
                name=draw(st.just(k) | TEXT),
                start=first_day,
                end=first_day + timedelta(days=draw(st.integers(0, 120))),
                state=draw(st.sampled_from(CycleState)),
            )
        )
    item_keys: set[str] = set()
    initiative_keys = _unique(draw, 3, item_keys)
    milestone_keys = _unique(draw, 3, item_keys)
    milestones = tuple(
        MilestoneInput(
            key=k,
            name=draw(st.just(k) | TEXT),
            on=draw(DAYS),
            initiative_key=draw(st.sampled_from([None, *initiative_keys])),
            done_on=draw(st.none() | DAYS),
        )
        for k in milestone_keys
    )
    by_key = {m.key: m for m in milestones}

    def milestone_refs() -> tuple[MilestoneRef, ...]:
        chosen = draw(st.lists(st.sampled_from(milestone_keys), unique=True, min_size=1))
        return tuple(
            MilestoneRef(
                key=k,
                on=by_key[k].on,
                weight=draw(st.just(Decimal(1)) | decimals(positive=True)),
                done_on=by_key[k].done_on,
            )
            for k in chosen
        )

    objectives: list[ObjectiveInput] = []
    key_results: list[KeyResultInput] = []
    descriptions: dict[str, str] = {}
    notes: dict[str, tuple[str, ...]] = {}
    for objective_key in _unique(draw, 3, set()):
        cycle = draw(st.sampled_from(cycles))
        earlier_krs = [kr.key for kr in key_results]
        targets = draw(
            st.lists(
                st.sampled_from(
                    [("o", o.key) for o in objectives] + [("k", k) for k in earlier_krs]
                ),
                unique=True,
                max_size=2,
            )
            if objectives
            else st.just([])
        )
        objectives.append(
            ObjectiveInput(
                key=objective_key,
                title=draw(TEXT),
                cycle_key=cycle.key,
                team_key=draw(st.sampled_from([None, *team_keys])),
                owner=draw(OPT_TEXT),
                weight=draw(st.just(Decimal(1)) | decimals(positive=True)),
                state=draw(st.sampled_from(ObjectiveState)),
                aligns_to=tuple(
                    AlignmentLink(
                        parent_objective=ref if kind == "o" else None,
                        parent_key_result=ref if kind == "k" else None,
                        weight=draw(st.just(Decimal(1)) | decimals(positive=True)),
                    )
                    for kind, ref in targets
                ),
            )
        )
        if draw(st.booleans()):
            descriptions[f"objective:{objective_key}"] = draw(TEXT)
        for local in _unique(draw, 3, set()):
            kinds = (
                list(KeyResultKind)
                if milestone_keys
                else [k for k in KeyResultKind if k is not KeyResultKind.MILESTONES]
            )
            kind = draw(st.sampled_from(kinds))
            a, b = draw(decimals()), draw(decimals())
            if kind is KeyResultKind.INCREASE:
                start, target = (min(a, b), max(a, b) + 1)
            elif kind is KeyResultKind.DECREASE:
                start, target = (max(a, b) + 1, min(a, b))
            elif kind is KeyResultKind.MAINTAIN:
                start, target = a, b
            else:
                start, target = draw(
                    st.just((Decimal(0), Decimal(1))) | st.just((Decimal("0.0"), Decimal(5)))
                )
            curves = [Curve.LINEAR, Curve.BACK_LOADED] + ([Curve.STEPPED] if milestone_keys else [])
            curve = draw(st.sampled_from(curves))
            uses_milestones = kind is KeyResultKind.MILESTONES or curve is Curve.STEPPED
            window_start = draw(st.just(cycle.start) | DAYS)
            due = max(window_start, draw(st.just(cycle.end) | DAYS))
            values: st.SearchStrategy[Decimal] = (
                st.sampled_from([start, target]) if kind is KeyResultKind.BINARY else decimals()
            )
            rows = sorted(
                draw(
                    st.lists(
                        st.tuples(DAYS, values, st.none() | st.integers(0, 10), st.just("") | TEXT),
                        max_size=4,
                    )
                ),
                key=lambda row: row[0],
            )
            full = f"{objective_key}/{local}"
            if any(row[3] for row in rows):
                notes[full] = tuple(row[3] for row in rows)
            if draw(st.booleans()):
                descriptions[f"kr:{full}"] = draw(TEXT)
            key_results.append(
                KeyResultInput(
                    key=full,
                    objective_key=objective_key,
                    title=draw(TEXT),
                    kind=kind,
                    start=start,
                    target=target,
                    window_start=window_start,
                    due=due,
                    weight=draw(st.just(Decimal(1)) | decimals(positive=True)),
                    curve=curve,
                    maintain_direction=draw(st.sampled_from(MaintainDirection))
                    if kind is KeyResultKind.MAINTAIN
                    else MaintainDirection.AT_LEAST,
                    checkins=tuple(CheckInPoint(on, v, c) for on, v, c, _ in rows),
                    milestones=milestone_refs() if uses_milestones else (),
                    owner=draw(OPT_TEXT),
                    unit=draw(st.just("") | TEXT),
                )
            )
    kr_keys = [kr.key for kr in key_results]
    tasks: dict[str, tuple[TaskSpec, ...]] = {}
    initiatives: list[InitiativeInput] = []
    for key in initiative_keys:
        begin = draw(st.none() | DAYS)
        end = draw(st.none() | DAYS)
        if begin is not None and end is not None and end < begin:
            begin, end = end, begin
        total, done = draw(st.integers(0, 9)), 0
        done = draw(st.integers(0, total))
        if draw(st.booleans()):
            tasks[key] = tuple(
                TaskSpec(
                    key=task_key,
                    title=draw(TEXT),
                    status=draw(st.sampled_from(TaskStatus)),
                    estimate_hours=draw(st.none() | decimals(signed=False)),
                    assignee=draw(OPT_TEXT),
                    due=draw(st.none() | DAYS),
                )
                for task_key in _unique(draw, 3, set())
            )
            total, done = task_counts(tasks[key])
        if draw(st.booleans()):
            descriptions[f"initiative:{key}"] = draw(TEXT)
        linked = draw(st.lists(st.sampled_from(kr_keys), unique=True)) if kr_keys else []
        initiatives.append(
            InitiativeInput(
                key=key,
                title=draw(TEXT),
                team_key=draw(st.sampled_from([None, *team_keys])),
                status=draw(st.sampled_from(InitiativeStatus)),
                start=begin,
                end=end,
                effort_days=draw(decimals(signed=False)),
                budget=draw(st.none() | decimals(signed=False)),
                actual_cost=draw(decimals(signed=False)),
                planned_hours=draw(st.none() | decimals(signed=False)),
                logged_hours=draw(decimals(signed=False)),
                tasks_total=total,
                tasks_done=done,
                key_results=tuple(
                    InitiativeKeyResultLink(k, draw(st.just(Decimal(1)) | decimals(positive=True)))
                    for k in linked
                ),
                owner=draw(OPT_TEXT),
            )
        )
    items = sorted(item_keys)
    dependencies: list[DependencyInput] = []
    if len(items) >= 2:
        triples = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(items), st.sampled_from(items), st.sampled_from(DependencyType)
                ).filter(lambda t: t[0] != t[1]),
                unique=True,
                max_size=4,
            )
        )
        dependencies = [DependencyInput(p, s, t, draw(st.integers(-5, 10))) for p, s, t in triples]
    plan = Plan(
        organization_name=draw(st.just("") | TEXT),
        timezone=draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
        settings=engine_settings,
        teams=teams,
        cycles=tuple(cycles),
        objectives=tuple(objectives),
        key_results=tuple(key_results),
        initiatives=tuple(initiatives),
        milestones=milestones,
        dependencies=tuple(dependencies),
    )
    return PlanDocument(plan=plan, descriptions=descriptions, checkin_notes=notes, tasks=tasks)


def _decimal_texts(value: Any) -> list[str]:
    """Every Decimal in a structure, as written (equality of Decimals ignores 1.0 vs 1)."""
    if isinstance(value, dict):
        return [t for k in sorted(value) for t in _decimal_texts(value[k])]
    if isinstance(value, list):
        return [t for v in value for t in _decimal_texts(v)]
    return [str(value)] if isinstance(value, Decimal) else []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_generated_plans_round_trip_byte_identically(doc: PlanDocument) -> None:
    for fmt in FORMATS:
        text = canonical_text(doc, fmt)
        again = parse_plan_text(text, fmt)
        assert again == doc
        assert _decimal_texts(canonical_data(again)) == _decimal_texts(canonical_data(doc))
        assert canonical_text(again, fmt) == text
