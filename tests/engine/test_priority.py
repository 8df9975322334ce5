"""Priority: weight x gap x risk x urgency / effort, unaligned work last, explained."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from milepost.engine.model import InitiativeInput, InitiativeStatus, ObjectiveState, Plan, Status
from milepost.engine.priority import rank_initiatives, risk_factor, urgency
from milepost.engine.results import OkrReport, PriorityResult
from tests.engine.roadmap_builders import SEP30, ini, jul, keyresult, objective, report, result

AS_OF = date(2026, 8, 31)  # 30 days before the key results are due: urgency 0.5


def plan_of(*initiatives: InitiativeInput, b_state: ObjectiveState = ObjectiveState.ACTIVE) -> Plan:
    return Plan(
        objectives=(objective("a"), objective("b", state=b_state)),
        key_results=(keyresult("a/x"), keyresult("b/y")),
        initiatives=initiatives,
    )


def okr() -> OkrReport:
    return report(
        AS_OF,
        result("a/x", Status.OFF_TRACK, "0.25", confidence=5),
        result("b/y", Status.ON_TRACK, "0.5", confidence=9),
    )


def ranked(plan: Plan, report_: OkrReport | None = None) -> dict[str, PriorityResult]:
    return {r.key: r for r in rank_initiatives(plan, AS_OF, report_ or okr())}


def test_hand_computed_scores_and_ranking() -> None:
    plan = plan_of(
        ini("one", jul(1), jul(31), effort=10, krs=("a/x",)),
        ini("two", jul(1), jul(31), effort=0, krs=(("a/x", 2), "b/y")),
    )
    results = ranked(plan)
    # one: 1 x 0.75 x 1.0 x 0.5 = 0.375, over 10 person-days
    assert results["one"].score == Decimal("0.037500")
    # two: 2 x 0.75 x 1.0 x 0.5 + 1 x 0.5 x (0.4 x 0.6) x 0.5 = 0.81, effort 0 counts as 1
    assert results["two"].score == Decimal("0.810000")
    assert [r.key for r in rank_initiatives(plan, AS_OF, okr())] == ["two", "one"]
    assert (results["two"].rank, results["one"].rank) == (1, 2)
    assert results["one"].aligned


def test_the_explanation_goes_term_by_term() -> None:
    plan = plan_of(ini("two", effort=0, krs=(("a/x", 2), "b/y")))
    explanation = ranked(plan)["two"].explanation
    assert explanation.rule == "priority.score"
    assert explanation.summary.endswith("= (0.7500 + 0.0600) / 1.0000 = 0.810000")
    labels = [t.label for t in explanation.terms]
    assert labels == ["a/x", "b/y", "effort"]
    a_term = explanation.terms[0]
    assert a_term.value == "0.7500"
    assert "weight 2.0000 x gap 0.7500" in a_term.detail
    assert "risk 1.0000 (off_track, confidence 5 -> x1.0000)" in a_term.detail
    assert "urgency 0.5000 (30 days left; due 2026-09-30)" in a_term.detail
    assert "effort not estimated: counted as 1 person-day" in explanation.notes


def test_unaligned_then_done_and_cancelled_rank_last() -> None:
    plan = plan_of(
        ini("closed", effort=1, krs=("a/x",), status=InitiativeStatus.DONE),
        ini("aaa-unaligned", effort=1),
        ini("dropped", effort=1, krs=("a/x",), status=InitiativeStatus.CANCELLED),
        ini("finished-kr", effort=1, krs=("b/y",)),
        ini("typo", effort=1, krs=("a/nope",)),
        ini("zzz-best", effort=1, krs=("a/x",)),
    )
    done_kr = report(AS_OF, result("a/x", Status.OFF_TRACK, "0"), result("b/y", Status.DONE, 1))
    order = [r.key for r in rank_initiatives(plan, AS_OF, done_kr)]
    assert order == ["zzz-best", "finished-kr", "aaa-unaligned", "typo", "closed", "dropped"]
    results = ranked(plan, done_kr)
    assert results["finished-kr"].score == 0
    assert results["finished-kr"].aligned
    assert not results["aaa-unaligned"].aligned
    assert results["aaa-unaligned"].explanation.rule == "priority.unaligned"
    assert "ranks last" in results["typo"].explanation.summary
    assert results["closed"].explanation.rule == "priority.closed"
    assert results["closed"].aligned
    assert results["dropped"].explanation.summary.startswith("Cancelled")


def test_ties_keep_key_order() -> None:
    plan = plan_of(ini("b", effort=5, krs=("a/x",)), ini("a", effort=5, krs=("a/x",)))
    assert [r.key for r in rank_initiatives(plan, AS_OF, okr())] == ["a", "b"]


def test_work_on_a_closed_objective_adds_nothing() -> None:
    plan = plan_of(ini("w", effort=1, krs=("a/x", "b/y")), b_state=ObjectiveState.CLOSED)
    result_ = ranked(plan)["w"]
    assert result_.score == Decimal("0.375000")  # only a/x counts
    assert result_.explanation.terms[1].detail == "its objective is closed, cancelled or missing"


def test_more_effort_ranks_lower_for_the_same_outcome() -> None:
    plan = plan_of(ini("small", effort=2, krs=("a/x",)), ini("large", effort=20, krs=("a/x",)))
    results = ranked(plan)
    assert results["small"].score == 10 * results["large"].score
    assert results["small"].rank < results["large"].rank


@pytest.mark.parametrize(
    ("status", "confidence", "risk"),
    [
        (Status.OFF_TRACK, None, Decimal("1.0")),
        (Status.OFF_TRACK, 0, Decimal("1.5")),
        (Status.OFF_TRACK, 10, Decimal("0.5")),
        (Status.AT_RISK, 5, Decimal("0.7")),
        (Status.NOT_STARTED, None, Decimal("0.5")),
        (Status.ON_TRACK, 8, Decimal("0.28")),
        (Status.DONE, 2, Decimal(0)),
    ],
)
def test_risk_table(status: Status, confidence: int | None, risk: Decimal) -> None:
    base, factor = risk_factor(status, confidence)
    assert base * factor == risk


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-10, Decimal(1)), (0, Decimal(1)), (30, Decimal("0.5")), (90, Decimal("0.25"))],
)
def test_urgency(days: int, expected: Decimal) -> None:
    assert urgency(days) == expected


def test_an_overdue_key_result_is_most_urgent() -> None:
    late = Plan(
        objectives=(objective("a"),),
        key_results=(keyresult("a/x", due=jul(31)),),
        initiatives=(ini("w", effort=1, krs=("a/x",)),),
    )
    explanation = rank_initiatives(late, AS_OF, okr())[0].explanation
    assert "urgency 1.0000 (due now or overdue; due 2026-07-31)" in explanation.terms[0].detail
    assert SEP30 > AS_OF  # the other tests' key results are still ahead


def test_a_key_result_missing_from_the_report_adds_nothing_and_says_so() -> None:
    plan = plan_of(ini("w", effort=1, krs=("a/x", "b/y")))
    partial = report(AS_OF, result("a/x", Status.OFF_TRACK, "0.25", confidence=5))
    result_ = ranked(plan, partial)["w"]
    assert result_.score == Decimal("0.375000")
    assert "b/y was not evaluated, so it adds 0" in result_.explanation.notes
