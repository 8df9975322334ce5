"""Reading plan files: decoding, the schema, the meaning checks, and every error's path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from milepost.engine.model import (
    DependencyInput,
    DependencyType,
    InitiativeStatus,
    KeyResultKind,
    MaintainDirection,
)
from milepost.plans.planfile import (
    PlanReadError,
    PlanValidationError,
    TaskStatus,
    decode_plan_text,
    load_plan,
    parse_plan_text,
    plan_schema,
    read_plan_data,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-plan.yaml"

BASE = """\
cycles: [{key: Q3, start: 2026-07-01, end: 2026-09-30}]
teams: [{key: company}, {key: mkt, parent: company}]
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(PlanValidationError) as caught:
        parse_plan_text(textwrap.dedent(text))
    return [str(issue) for issue in caught.value.issues]


# --- the example and the issue's sample -----------------------------------------------------


def test_the_example_plan_loads_with_every_feature() -> None:
    doc = load_plan(EXAMPLE)
    plan = doc.plan
    assert plan.organization_name == "Acme"
    assert plan.timezone == "Europe/Berlin"
    assert plan.settings.stale_after_days == 21
    assert {t.key: t.parent_key for t in plan.teams}["platform"] == "product"
    assert [c.key for c in plan.cycles] == ["FY2026", "2026-Q3"]
    assert {kr.kind for kr in plan.key_results} == set(KeyResultKind)
    krs = {kr.key: kr for kr in plan.key_results}
    # defaults: the window is the cycle, unless written
    assert krs["seo/pageviews"].window_start == date(2026, 7, 1)
    assert krs["seo/pageviews"].due == date(2026, 9, 30)
    assert krs["reliability/soc2"].due == date(2026, 9, 15)
    assert krs["mobile/signups"].window_start == date(2026, 8, 1)
    assert krs["reliability/latency"].maintain_direction is MaintainDirection.AT_MOST
    # milestone references carry the milestone's dates
    launch = krs["mobile/launch"].milestones
    assert [(m.key, m.weight, m.done_on) for m in launch] == [
        ("app-beta", Decimal(1), date(2026, 8, 13)),
        ("app-ga", Decimal(2), None),
    ]
    objectives = {o.key: o for o in plan.objectives}
    assert objectives["reliability"].aligns_to[0].parent_key_result == "growth/churn"
    assert objectives["seo"].aligns_to[0].parent_objective == "growth"
    initiatives = {i.key: i for i in plan.initiatives}
    blog = initiatives["blog"]
    assert (blog.tasks_total, blog.tasks_done) == (4, 1)  # the cancelled task counts in neither
    assert blog.status is InitiativeStatus.IN_PROGRESS
    assert (initiatives["failover"].tasks_total, initiatives["failover"].tasks_done) == (12, 5)
    assert initiatives["landing-pages"].status is InitiativeStatus.PLANNED  # the default
    assert {m.key: m.initiative_key for m in plan.milestones} == {
        "app-beta": "mobile-app",
        "app-ga": "mobile-app",
        "audit-fieldwork": "soc2-audit",
        "board-review": None,
    }
    assert {d.type for d in plan.dependencies} == set(DependencyType)
    assert DependencyInput("keyword-research", "blog", DependencyType.FS, 2) in plan.dependencies
    assert DependencyInput("soc2-audit", "board-review") in plan.dependencies
    assert doc.tasks["blog"][4].status is TaskStatus.CANCELLED
    assert doc.descriptions["objective:growth"].startswith("The company objective")
    assert doc.checkin_notes["seo/pageviews"] == ("", "", "Two posts ranked on page one.")


def test_decimals_are_kept_as_written() -> None:
    plan = load_plan(EXAMPLE).plan
    blog = next(i for i in plan.initiatives if i.key == "blog")
    assert str(blog.actual_cost) == "4800.50"
    churn = next(kr for kr in plan.key_results if kr.key == "growth/churn")
    assert str(churn.target) == "2.0"


def test_the_issue_sample_shape_parses() -> None:
    doc = parse_plan_text(
        """
organization: {name: Acme, timezone: Europe/Berlin}
teams: [{key: company, name: Company},
        {key: marketing, name: Marketing, parent: company, capacity_days_per_week: 20}]
cycles: [{key: 2026-Q3, start: 2026-07-01, end: 2026-09-30}]
objectives:
  - {key: growth, title: Grow, cycle: 2026-Q3}
  - key: seo
    title: Improve the SEO of the website content
    cycle: 2026-Q3
    team: marketing
    aligns_to: [{objective: growth, weight: 1}]
    key_results:
      - {key: pageviews, title: Page views from 1200 to 2500, kind: increase, start: 1200,
         target: 2500, checkins: [{date: 2026-07-15, value: 1400, confidence: 7}]}
initiatives:
  - {key: research, title: Research}
  - {key: blog, title: Publish 10 posts with backlinks, team: marketing, start: 2026-07-01,
     end: 2026-09-15, effort_days: 30, key_results: [{key_result: seo/pageviews, weight: 1}],
     depends_on: [{initiative: research, type: FS, lag_days: 2}]}
"""
    )
    kr = doc.plan.key_results[0]
    assert kr.key == "seo/pageviews"
    assert kr.checkins[0].value == Decimal(1400)
    assert doc.plan.dependencies == (DependencyInput("research", "blog", DependencyType.FS, 2),)


def test_json_and_yaml_give_the_same_plan(tmp_path: Path) -> None:
    data = read_plan_data(EXAMPLE)

    def plain(value: object) -> object:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Decimal) else value

    # Write the numbers back as JSON numbers, as written.
    text = json.dumps(plain(data))
    for field in (
        "start",
        "target",
        "value",
        "capacity_days_per_week",
        "effort_days",
        "budget",
        "actual_cost",
        "weight",
        "estimate_hours",
        "planned_hours",
        "logged_hours",
        "lag_days",
        "confidence",
        "tasks_total",
        "tasks_done",
        "stale_after_days",
        "version",
    ):
        text = _unquote_numbers(text, field)
    path = tmp_path / "acme.json"
    path.write_text(text)
    assert load_plan(path) == load_plan(EXAMPLE)


def _unquote_numbers(text: str, field: str) -> str:
    import re

    return re.sub(rf'"{field}": "(-?[0-9.]+)"', rf'"{field}": \1', text)


# --- decoding -----------------------------------------------------------------------------


def test_yaml_follows_the_1_2_core_schema() -> None:
    data = decode_plan_text("a: yes\nb: on\nc: 2026-07-01\nd: 1e3\ne: 1.50\nf: true\ng: 0x10\n")
    assert data == {
        "a": "yes",
        "b": "on",
        "c": "2026-07-01",
        "d": Decimal("1e3"),
        "e": Decimal("1.50"),
        "f": True,
        "g": Decimal(16),
    }
    assert str(data["e"]) == "1.50"


def test_yaml_anchors_aliases_and_merge_keys_work() -> None:
    data = decode_plan_text(
        "base: &base {kind: increase, start: 0}\n"
        "kr: {<<: *base, start: 5, title: T}\n"
        "list: [&one 1, *one, !!str 2, '<<']\n"
    )
    assert data["kr"] == {"start": Decimal(5), "title": "T", "kind": "increase"}
    assert data["list"] == [Decimal(1), Decimal(1), "2", "<<"]


def test_json_numbers_are_decimals_as_written() -> None:
    data = decode_plan_text('{"a": 1.50, "b": 12, "c": 1E+3}')
    assert [str(v) for v in data.values()] == ["1.50", "12", "1E+3"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.yaml", "a: [1, 2\n", "not valid YAML"),
        ("bad.json", '{"a": 1,}', "not valid JSON"),
        ("dup.yaml", "a: 1\na: 2\n", "found the key 'a' twice"),
        ("dup.json", '{"a": 1, "a": 2}', "found the key 'a' twice"),
        ("nan.json", '{"a": NaN}', "not valid JSON"),
        ("list.yaml", "- a\n- b\n", "must be a mapping at the top level (this one is a list)"),
        ("empty.yaml", "", "(this one is empty)"),
        ("scalar.yaml", "hello\n", "(this one is a str)"),
        ("two.yaml", "a: 1\n---\nb: 2\n", "expected one document, found more"),
        ("tag.yaml", "a: !!python/object:os.system x\n", "unsupported tag"),
        ("alias.yaml", "a: *nowhere\n", "not valid YAML"),
        ("key.yaml", "? [1, 2]\n: x\n", "a mapping key must be text"),
    ],
)
def test_unreadable_input_is_a_read_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PlanReadError, match=r".*") as caught:
        load_plan(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_directory_and_binary_are_read_errors(tmp_path: Path) -> None:
    with pytest.raises(PlanReadError, match="no such file"):
        load_plan(tmp_path / "nope.yaml")
    with pytest.raises(PlanReadError, match="is a directory"):
        load_plan(tmp_path)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(PlanReadError, match="not UTF-8"):
        load_plan(binary)


def test_an_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(PlanReadError, match="too large"):
        parse_plan_text("\n".join(lines) + "\n")


def test_a_value_that_contains_itself_is_refused() -> None:
    with pytest.raises(PlanReadError, match="a value contains itself"):
        parse_plan_text("teams: &t [*t]\n")


# --- the schema ---------------------------------------------------------------------------


def test_the_schema_is_shipped_and_is_a_valid_json_schema() -> None:
    schema = plan_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("organisation: {name: A}\n", "organisation: unknown key (did you mean 'organization'?)"),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, titel: x}]\n",
            "objectives[0].titel: unknown key (did you mean 'title'?)",
        ),
        (BASE + "objectives: [{key: o, cycle: Q3}]\n", "objectives[0].title: is required"),
        (
            BASE + "objectives: [{key: o, title: '  ', cycle: Q3}]\n",
            "objectives[0].title: must be non-blank text (at most 500 characters)",
        ),
        (
            "cycles: [{key: Q3, start: 2026-02-30, end: 2026-09-30}]\n",
            "cycles[0].start: must be a date written YYYY-MM-DD",
        ),
        (
            "cycles: [{key: Q3, start: 1 July, end: 2026-09-30}]\n",
            "cycles[0].start: must be a date written YYYY-MM-DD",
        ),
        ("teams: [{key: 'a b'}]\n", "teams[0].key: must be a key"),
        ("teams: [{key: 2026}]\n", "teams[0].key: must be a key"),
        ("teams: {key: a}\n", "teams: must be a list"),
        (
            "teams: [{key: a, capacity_days_per_week: -1}]\n",
            "teams[0].capacity_days_per_week: must be at least 0",
        ),
        (
            "teams: [{key: a, capacity_days_per_week: lots}]\n",
            "teams[0].capacity_days_per_week: must be a number",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, key_results: [{key: k, title: K,"
            " kind: grow}]}]\n",
            "objectives[0].key_results[0].kind: must be one of: increase, decrease, maintain,"
            " binary, milestones",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, key_results: [{key: k, title: K,"
            " kind: increase, start: 1, target: 2, checkins: [{date: 2026-07-02, value: 1,"
            " confidence: 7.5}]}]}]\n",
            "objectives[0].key_results[0].checkins[0].confidence: must be a whole number",
        ),
        ("version: 2\n", "version: must be 1"),
        ("settings: {on_track_gap: 2}\n", "settings.on_track_gap: must be at most 1"),
        (
            "initiatives: [{key: i, title: I, status: started}]\n",
            "initiatives[0].status: must be one of: proposed, planned, in_progress, done,"
            " cancelled, on_hold",
        ),
    ],
)
def test_schema_errors_have_paths_and_plain_messages(text: str, expected: str) -> None:
    errors = errors_of(text)
    assert any(e.startswith(expected) for e in errors), errors


# --- meaning ------------------------------------------------------------------------------


def kr_plan(kr: str, extra: str = "") -> str:
    return (
        BASE
        + "objectives:\n  - key: o\n    title: T\n    cycle: Q3\n    key_results:\n"
        + f"      - {{key: k, title: K, {kr}}}\n"
        + extra
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            kr_plan("kind: increase, start: 5, target: 5"),
            "objectives[0].key_results[0].target: must differ from start",
        ),
        (
            kr_plan("kind: increase, start: 5, target: 3"),
            "objectives[0].key_results[0].target: must be above start (5) for an increase",
        ),
        (
            kr_plan("kind: decrease, start: 3, target: 5"),
            "objectives[0].key_results[0].target: must be below start (3) for a decrease",
        ),
        (
            kr_plan("kind: increase, target: 5"),
            "objectives[0].key_results[0].start: is required for a increase key result",
        ),
        (
            kr_plan("kind: maintain, start: 5"),
            "objectives[0].key_results[0].target: is required for a maintain key result",
        ),
        (
            kr_plan("kind: increase, start: 1, target: 5, direction: at_most"),
            "objectives[0].key_results[0].direction: only applies to a maintain key result",
        ),
        (
            kr_plan("kind: binary, checkins: [{date: 2026-07-02, value: 0.5}]"),
            "objectives[0].key_results[0].checkins[0].value: must be 0 (not done) or 1 (done)",
        ),
        (
            kr_plan("kind: milestones, milestones: [{milestone: nope}]"),
            "objectives[0].key_results[0].milestones[0].milestone: unknown milestone 'nope'",
        ),
        (
            kr_plan(
                "kind: increase, start: 0, target: 1, milestones: [{milestone: m}]",
                "milestones: [{key: m, date: 2026-08-01}]\n",
            ),
            "objectives[0].key_results[0].milestones: only used by a milestones key result",
        ),
        (
            kr_plan("kind: increase, start: 0, target: 1, due: 2026-06-01"),
            "objectives[0].key_results[0].due: must be on or after the cycle start (2026-07-01)",
        ),
        (
            kr_plan(
                "kind: increase, start: 0, target: 1, window_start: 2026-08-01, due: 2026-07-15"
            ),
            "objectives[0].key_results[0].due: must be on or after window_start (2026-08-01)",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q4}]\n",
            "objectives[0].cycle: unknown cycle 'Q4'",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, team: sales}]\n",
            "objectives[0].team: unknown team 'sales'",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3}, {key: o, title: U, cycle: Q3}]\n",
            "objectives[1].key: duplicate key 'o' (also objectives[0])",
        ),
        (
            "teams: [{key: a, parent: b}, {key: b, parent: c}, {key: c, parent: a}]\n",
            "teams[0].parent: teams form a loop through their parents: a → b → c → a",
        ),
        ("teams: [{key: a, parent: a}]\n", "teams[0].parent: a team cannot be its own parent"),
        ("teams: [{key: a, parent: nobody}]\n", "teams[0].parent: unknown team 'nobody'"),
        (
            "cycles: [{key: Q3, start: 2026-07-01, end: 2026-06-30}]\n",
            "cycles[0].end: must be on or after start (2026-07-01)",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, aligns_to: [{objective: o}]}]\n",
            "objectives[0].aligns_to[0].objective: an objective cannot align to itself",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, aligns_to: [{}]}]\n",
            "objectives[0].aligns_to[0]: give exactly one of 'objective' or 'key_result'",
        ),
        (
            BASE + "objectives: [{key: o, title: T, cycle: Q3, aligns_to: [{key_result: p/x}]}]\n",
            "objectives[0].aligns_to[0].key_result: unknown key result 'p/x'",
        ),
        (
            "initiatives: [{key: i, title: I, start: 2026-07-02, end: 2026-07-01}]\n",
            "initiatives[0].end: must be on or after start (2026-07-02)",
        ),
        (
            "initiatives: [{key: i, title: I, key_results: [{key_result: o/k}]}]\n",
            "initiatives[0].key_results[0].key_result: unknown key result 'o/k'",
        ),
        (
            "initiatives: [{key: i, title: I, key_results: [{key_result: ok}]}]\n",
            "initiatives[0].key_results[0].key_result: must name a key result as"
            " 'objective_key/kr_key'",
        ),
        (
            "initiatives: [{key: i, title: I, tasks_total: 2, tasks_done: 3}]\n",
            "initiatives[0].tasks_done: must be at most tasks_total (2)",
        ),
        (
            "initiatives: [{key: i, title: I, tasks_total: 2, tasks: []}]\n",
            "initiatives[0].tasks_total: give either a tasks list or tasks_total/tasks_done",
        ),
        (
            "initiatives: [{key: i, title: I, tasks: [{key: t, title: A}, {key: t, title: B}]}]\n",
            "initiatives[0].tasks[1].key: duplicate key 't' (also initiatives[0].tasks[0])",
        ),
        (
            "initiatives: [{key: i, title: I, depends_on: [{initiative: j}]}]\n",
            "initiatives[0].depends_on[0].initiative: unknown initiative 'j'",
        ),
        (
            "initiatives: [{key: i, title: I, depends_on: [{initiative: i}]}]\n",
            "initiatives[0].depends_on[0].initiative: an item cannot depend on itself",
        ),
        (
            "initiatives: [{key: i, title: I, depends_on: [{initiative: m}]}]\n"
            "milestones: [{key: m, date: 2026-07-01}]\n",
            "initiatives[0].depends_on[0].initiative: 'm' is a milestone, not an initiative",
        ),
        (
            "initiatives: [{key: i, title: I, depends_on: [{initiative: j, milestone: m}]}]\n",
            "initiatives[0].depends_on[0]: give exactly one of 'initiative' or 'milestone'",
        ),
        (
            "initiatives: [{key: i, title: I}]\nmilestones: [{key: i, date: 2026-07-01}]\n",
            "milestones[0].key: duplicate key 'i' (also initiatives[0])",
        ),
        (
            "milestones: [{key: m, date: 2026-07-01, initiative: nope}]\n",
            "milestones[0].initiative: unknown initiative 'nope'",
        ),
        (
            "initiatives: [{key: i, title: I}]\ndependencies: [{predecessor: i, successor: x}]\n",
            "dependencies[0].successor: unknown initiative or milestone 'x'",
        ),
        (
            "initiatives: [{key: i, title: I}, {key: j, title: J}]\n"
            "dependencies: [{predecessor: i, successor: j}, {predecessor: i, successor: j,"
            " type: FS}]\n",
            "dependencies[1]: duplicate dependency (same as dependencies[0])",
        ),
        (
            "organization: {timezone: Mars/Olympus}\n",
            "organization.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            "settings: {on_track_gap: 0.3, at_risk_gap: 0.2}\n",
            "settings.at_risk_gap: must be at least on_track_gap (0.3)",
        ),
    ],
)
def test_meaning_errors_have_paths(text: str, expected: str) -> None:
    errors = errors_of(text)
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(
    ("text", "note"),
    [
        (
            kr_plan("kind: milestones"),
            "objectives[0].key_results[0].milestones: a milestones key result with no milestone "
            "has progress 0 until milestones are listed",
        ),
        (
            kr_plan("kind: increase, start: 0, target: 1, curve: stepped"),
            "objectives[0].key_results[0].curve: a stepped curve with no milestone is linear "
            "until milestones are listed",
        ),
        (
            BASE
            + "objectives:\n  - key: o\n    title: T\n    cycle: Q3\n    key_results:\n"
            + "      - {key: a, title: A, kind: milestones, milestones: [{milestone: m}]}\n"
            + "      - {key: b, title: B, kind: increase, start: 0, target: 9, curve: stepped,"
            + " milestones: [{milestone: m}]}\n"
            + "milestones: [{key: m, date: 2026-08-01}]\n",
            "objectives[0].key_results[1].milestones[0].milestone: milestone 'm' is also listed "
            "by key result o/a: in Milepost a milestone counts toward one key result, so "
            "importing keeps it on o/a only",
        ),
    ],
)
def test_what_milepost_stores_but_rarely_means_is_a_note_not_an_error(text: str, note: str) -> None:
    """Milepost keeps these states (an export writes them), so a file with them is valid."""
    document = parse_plan_text(text)
    assert [str(n) for n in document.notes] == [note]


@pytest.mark.parametrize(
    "weight_at",
    [
        "objectives: [{key: o, title: T, cycle: Q3, weight: 0}]\n",
        "objectives: [{key: p, title: P, cycle: Q3}, {key: o, title: T, cycle: Q3,"
        " aligns_to: [{objective: p, weight: 0}]}]\n",
        "objectives: [{key: o, title: T, cycle: Q3, key_results: [{key: k, title: K,"
        " kind: binary, weight: 0}]}]\n",
        "objectives: [{key: o, title: T, cycle: Q3, key_results: [{key: k, title: K,"
        " kind: binary}]}]\ninitiatives: [{key: i, title: I, key_results: [{key_result: o/k,"
        " weight: 0}]}]\n",
        "objectives: [{key: o, title: T, cycle: Q3, key_results: [{key: k, title: K,"
        " kind: milestones, milestones: [{milestone: m, weight: 0}]}]}]\n"
        "milestones: [{key: m, date: 2026-08-01}]\n",
    ],
)
def test_a_weight_of_zero_is_allowed_a_negative_one_is_not(weight_at: str) -> None:
    """Milepost stores weights of 0 (the engine then counts the inputs equally)."""
    assert parse_plan_text(BASE + weight_at).notes == ()
    errors = errors_of(BASE + weight_at.replace("weight: 0", "weight: -1"))
    assert any(e.endswith("weight: must be at least 0") for e in errors), errors


def test_an_alignment_loop_names_every_objective() -> None:
    errors = errors_of(
        BASE
        + """\
objectives:
  - {key: a, title: A, cycle: Q3, aligns_to: [{objective: b}]}
  - {key: b, title: B, cycle: Q3, aligns_to: [{key_result: c/k}]}
  - key: c
    title: C
    cycle: Q3
    aligns_to: [{objective: a}]
    key_results: [{key: k, title: K, kind: binary}]
"""
    )
    loops = [e for e in errors if "alignment loop" in e]
    assert len(loops) == 1
    assert loops[0].endswith("a → b → c → a") or loops[0].endswith("b → c → a → b")


def test_every_error_is_reported_in_file_order() -> None:
    errors = errors_of(
        BASE
        + """\
objectives:
  - key: o
    title: T
    cycle: Q9
    key_results:
      - {key: k, title: K, kind: increase, start: 1, target: 1}
initiatives:
  - {key: i, title: I, colour: red, key_results: [{key_result: o/zz}]}
"""
    )
    assert errors == [
        "objectives[0].cycle: unknown cycle 'Q9'",
        "objectives[0].key_results[0].target: must differ from start",
        "initiatives[0].colour: unknown key (allowed: actual_cost, budget, depends_on,"
        " description, effort_days, end, key, key_results, logged_hours, milestones, owner,"
        " planned_hours, start, status, tasks, tasks_done, tasks_total, team, title)",
        "initiatives[0].key_results[0].key_result: unknown key result 'o/zz'",
    ]


def test_null_means_absent() -> None:
    doc = parse_plan_text(
        BASE
        + "initiatives:\n  - key: i\n    title: I\n    team: null\n    budget: ~\n"
        + "    start:\n    tasks: null\n"
    )
    initiative = doc.plan.initiatives[0]
    assert (initiative.team_key, initiative.budget, initiative.start) == (None, None, None)
    assert doc.tasks == {}


def test_checkins_are_sorted_oldest_first_with_their_notes() -> None:
    doc = parse_plan_text(
        kr_plan(
            "kind: increase, start: 0, target: 10, checkins: ["
            "{date: 2026-08-01, value: 5, note: later}, {date: 2026-07-01, value: 2}]"
        )
    )
    kr = doc.plan.key_results[0]
    assert [c.on for c in kr.checkins] == [date(2026, 7, 1), date(2026, 8, 1)]
    assert doc.checkin_notes["o/k"] == ("", "later")


def test_the_plan_modules_import_neither_django_nor_jsonschema() -> None:
    # No Django: `milepost plan` runs on a file with no database. No jsonschema at run time:
    # it is the slow reference validator, used by the tests only.
    code = (
        "import sys\n"
        "import milepost.plans.planfile, milepost.plans.canonical, milepost.plans.report\n"
        "import milepost.plans.commands\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'jsonschema'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-format.md"


def test_the_documented_example_is_valid() -> None:
    import re

    block = re.findall(r"## Example\n\n```yaml\n(.*?)```", DOC.read_text(), re.S)[0]
    doc = parse_plan_text(block)
    assert [kr.key for kr in doc.plan.key_results] == ["growth/arr", "seo/pageviews"]


def test_every_field_of_the_schema_is_documented() -> None:
    text = DOC.read_text()
    schema = plan_schema()
    names: set[str] = set(schema["properties"])
    for definition in schema["$defs"].values():
        names |= set(definition.get("properties", {}))
    import re

    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    words = {word for span in spans for word in re.findall(r"[A-Za-z_]+", span)}
    assert sorted(names - words) == []
