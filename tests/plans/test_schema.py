"""The compiled schema validator reports exactly what the reference `jsonschema` reports."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.plans.document import PlanIssue
from milepost.plans.planfile import read_plan_data
from milepost.plans.schema import _Compiler, jsonschema_issues, plan_schema, schema_issues

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-plan.yaml"
DATA = read_plan_data(EXAMPLE)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-20, 2_000_000).map(Decimal),
    # every bound in the schema, and one step past it
    st.sampled_from(
        [-3651, -3650, -1, 0, 1, 10, 11, 1000, 1001, 3650, 3651, 1_000_000, 1_000_001]
    ).map(Decimal),
    st.sampled_from(
        [
            Decimal("0.5"),
            Decimal("-1.5"),
            Decimal("1.0"),
            Decimal("3E+2"),
            Decimal("1E+7"),
            Decimal("Infinity"),
        ]
    ),
    st.sampled_from(
        [
            "2026-07-01",
            "2026-02-30",
            "20260701",
            "x",
            "",
            "  ",
            "FS",
            "increase",
            "at_most",
            "done",
            "a/b",
            "seo/pageviews",
            "a b",
            "-x",
            "x" * 501,
        ]
    ),
    st.text(max_size=4),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["key", "title", "kind", "date", "zzz"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*path, i))
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(DATA)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        numeric = [p for p in paths if isinstance(_at(data, p), Decimal)]
        # half the time hit a number: that is where the bounds are
        path = draw(st.sampled_from(numeric) if draw(st.booleans()) else st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["colour", "title", "start", "kind"]))] = draw(VALUES)
        else:
            parent[path[-1]] = draw(VALUES)
    return data


def _as_set(issues: list[PlanIssue]) -> set[tuple[Any, str]]:
    return {(i.path, i.message) for i in issues}


def test_the_example_is_valid_for_both() -> None:
    assert schema_issues(DATA) == []
    assert jsonschema_issues(DATA) == []


@settings(max_examples=60, deadline=None)
@given(data=mutated())
def test_compiled_validator_agrees_with_jsonschema(data: Any) -> None:
    assert _as_set(schema_issues(data)) == _as_set(jsonschema_issues(data))


@pytest.mark.parametrize(
    "fragment",
    [{"oneOf": []}, {"format": "email"}, {"additionalProperties": {}}, {"$ref": "#/nope"}],
)
def test_a_keyword_the_validator_does_not_know_is_refused(fragment: dict[str, Any]) -> None:
    schema = {**plan_schema(), "properties": {"x": fragment}}
    with pytest.raises(ValueError, match="unsupported"):
        _Compiler(schema).compile(schema)


def _at_field(path: str, value: Any) -> dict[str, Any]:
    """A small document with `value` at `path` (``section.field`` or ``section[].field``)."""
    section, field = path.split(".")
    if section == "settings":
        return {"settings": {field: value}}
    if section == "teams":
        return {"teams": [{"key": "a", field: value}]}
    if section == "initiatives":
        return {"initiatives": [{"key": "i", "title": "I", field: value}]}
    if section == "tasks":
        return {
            "initiatives": [
                {"key": "i", "title": "I", "tasks": [{"key": "t", "title": "T", field: value}]}
            ]
        }
    if section == "depends_on":
        return {"initiatives": [{"key": "i", "title": "I", "depends_on": [{field: value}]}]}
    if section == "checkins":
        return {
            "objectives": [
                {
                    "key": "o",
                    "title": "O",
                    "cycle": "c",
                    "key_results": [
                        {
                            "key": "k",
                            "title": "K",
                            "kind": "binary",
                            "checkins": [{"date": "2026-07-01", "value": Decimal(0), field: value}],
                        }
                    ],
                }
            ]
        }
    raise AssertionError(path)


BOUNDED = [
    "settings.on_track_gap",
    "settings.at_risk_gap",
    "settings.over_achievement_cap",
    "settings.stale_after_days",
    "settings.max_key_results_per_objective",
    "settings.max_objectives_per_team",
    "settings.output_done_share",
    "teams.capacity_days_per_week",
    "initiatives.effort_days",
    "initiatives.budget",
    "initiatives.actual_cost",
    "initiatives.planned_hours",
    "initiatives.logged_hours",
    "initiatives.tasks_total",
    "initiatives.tasks_done",
    "tasks.estimate_hours",
    "depends_on.lag_days",
    "checkins.confidence",
]
EDGES = [
    Decimal(v)
    for v in (
        "-3651",
        "-3650",
        "-1",
        "0",
        "0.5",
        "1",
        "1.0",
        "1.5",
        "10",
        "11",
        "1000",
        "1001",
        "3650",
        "3651",
        "1000000",
        "1000001",
    )
]


@pytest.mark.parametrize("path", BOUNDED)
def test_bounds_agree_with_jsonschema_at_every_edge(path: str) -> None:
    for value in EDGES:
        data = _at_field(path, value)
        assert _as_set(schema_issues(data)) == _as_set(jsonschema_issues(data)), value
