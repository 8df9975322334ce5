"""Capacity per ISO week and investment (hours and money) rolled up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from milepost.engine.capacity import Spend, investment, iso_week, weekly_load
from milepost.engine.model import InitiativeInput, InitiativeStatus, Plan
from tests.engine.roadmap_builders import ini, jul, keyresult, objective, team


def loads(
    *initiatives: InitiativeInput, capacity: int = 10
) -> dict[str, list[tuple[str, Decimal, bool]]]:
    plan = Plan(teams=(team("web", capacity),), initiatives=initiatives)
    return {
        key: [(w.week, w.load_days, w.over) for w in weeks]
        for key, weeks in weekly_load(plan).items()
    }


def test_effort_is_spread_evenly_over_whole_weeks() -> None:
    # Monday 6 July to Sunday 19 July: 14 days, 14 person-days, 7 in each week.
    assert loads(ini("a", jul(6), jul(19), effort=14))["web"] == [
        ("2026-W28", Decimal("7.00"), False),
        ("2026-W29", Decimal("7.00"), False),
    ]


def test_partial_weeks_get_their_share_of_days() -> None:
    # Wednesday 1 July to Tuesday 7 July: 5 days in week 27, 2 in week 28.
    assert loads(ini("a", jul(1), jul(7), effort=7))["web"] == [
        ("2026-W27", Decimal("5.00"), False),
        ("2026-W28", Decimal("2.00"), False),
    ]


def test_concurrent_work_adds_up_and_goes_over_capacity() -> None:
    weeks = loads(ini("a", jul(6), jul(12), effort=6), ini("b", jul(6), jul(8), effort="4.5"))
    assert weeks["web"] == [("2026-W28", Decimal("10.50"), True)]


def test_weeks_without_work_are_listed_with_zero() -> None:
    weeks = loads(ini("a", jul(1), jul(3), effort=3), ini("b", jul(20), jul(22), effort=3))
    assert [(w, d) for w, d, _ in weeks["web"]] == [
        ("2026-W27", Decimal("3.00")),
        ("2026-W28", Decimal("0.00")),
        ("2026-W29", Decimal("0.00")),
        ("2026-W30", Decimal("3.00")),
    ]


def test_iso_weeks_across_the_year_end() -> None:
    weeks = loads(ini("a", date(2026, 12, 28), date(2027, 1, 10), effort=14))
    assert [w for w, _, _ in weeks["web"]] == ["2026-W53", "2027-W01"]
    assert iso_week(date(2027, 1, 3)) == "2026-W53"


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        (InitiativeStatus.PLANNED, True),
        (InitiativeStatus.IN_PROGRESS, True),
        (InitiativeStatus.DONE, True),
        (InitiativeStatus.PROPOSED, False),
        (InitiativeStatus.ON_HOLD, False),
        (InitiativeStatus.CANCELLED, False),
    ],
)
def test_only_committed_work_counts(status: InitiativeStatus, counted: bool) -> None:
    weeks = loads(ini("a", jul(6), jul(12), effort=5, status=status))
    assert weeks["web"] == ([("2026-W28", Decimal("5.00"), False)] if counted else [])


def test_work_without_dates_effort_or_team_is_not_counted() -> None:
    weeks = loads(
        ini("undated", effort=5),
        ini("start-only", jul(6), None, effort=5),
        ini("no-effort", jul(6), jul(12)),
        ini("no-team", jul(6), jul(12), effort=5, team=None),
    )
    assert weeks == {"web": []}


def test_a_team_without_capacity_is_never_over() -> None:
    weeks = loads(ini("a", jul(6), jul(12), effort=50), capacity=0)
    assert weeks["web"] == [("2026-W28", Decimal("50.00"), False)]


def test_contributions_name_the_initiatives_biggest_first() -> None:
    plan = Plan(
        teams=(team("web"),),
        initiatives=(ini("a", jul(6), jul(12), effort=2), ini("b", jul(6), jul(12), effort=3)),
    )
    week = weekly_load(plan)["web"][0]
    assert week.contributions == (("b", Decimal("3.00")), ("a", Decimal("2.00")))
    assert (week.monday, week.sunday, week.capacity_days) == (jul(6), jul(12), Decimal(10))


def test_teams_only_named_by_work_are_included() -> None:
    plan = Plan(initiatives=(ini("a", jul(6), jul(12), effort=2, team="ops"),))
    weeks = weekly_load(plan)["ops"]
    assert [(w.week, w.over, w.capacity_days) for w in weeks] == [("2026-W28", False, Decimal(0))]


def test_uneven_shares_round_to_hundredths() -> None:
    # 10 person-days over 3 days (Saturday to Monday): 2 days in week 28, 1 in week 29.
    weeks = loads(ini("a", jul(11), jul(13), effort=10))
    assert weeks["web"] == [
        ("2026-W28", Decimal("6.67"), False),
        ("2026-W29", Decimal("3.33"), False),
    ]


# --- investment ------------------------------------------------------------------------------


def money_plan() -> Plan:
    return Plan(
        teams=(team("web"), team("data")),
        objectives=(objective("a"), objective("b"), objective("idle")),
        key_results=(keyresult("a/x"), keyresult("b/y"), keyresult("idle/z")),
        initiatives=(
            ini(
                "split",
                effort=20,
                krs=(("a/x", 3), ("b/y", 1)),
                budget=1000,
                actual_cost=1200,
                planned_hours=100,
                logged_hours=50,
            ),
            ini("side", team="data", effort=2, budget=100, actual_cost=10),
            ini(
                "even",
                team="data",
                effort=3,
                krs=(("a/x", 0), ("b/y", 0)),
                budget=300,
                planned_hours=9,
                logged_hours=12,
            ),
            ini(
                "gone",
                status=InitiativeStatus.CANCELLED,
                krs=("a/x",),
                actual_cost=40,
                team=None,
            ),
        ),
    )


def test_investment_per_initiative() -> None:
    result = investment(money_plan())
    assert result.initiatives["split"] == Spend(
        Decimal(20), Decimal(100), Decimal(50), Decimal(1000), Decimal(1200)
    )
    assert result.initiatives["split"].cost_over == 200
    assert result.initiatives["split"].hours_over == 0
    assert result.initiatives["even"].hours_over == 3


def test_investment_rolls_up_by_link_weight() -> None:
    result = investment(money_plan())
    # split: 75% on a/x, 25% on b/y; even: zero weights mean equal halves; gone: all on a/x.
    assert result.key_results["a/x"] == Spend(
        Decimal("16.50"), Decimal("79.50"), Decimal("43.50"), Decimal("900.00"), Decimal("940.00")
    )
    assert result.key_results["b/y"] == Spend(
        Decimal("6.50"), Decimal("29.50"), Decimal("18.50"), Decimal("400.00"), Decimal("300.00")
    )
    assert result.key_results["idle/z"] == Spend()
    assert result.objectives["a"] == result.key_results["a/x"]
    assert result.objectives["idle"] == Spend()


def test_investment_per_team_unaligned_and_total() -> None:
    result = investment(money_plan())
    assert result.teams["web"].planned_cost == Decimal("1000.00")
    assert result.teams["data"] == Spend(
        Decimal("5.00"), Decimal("9.00"), Decimal("12.00"), Decimal("400.00"), Decimal("10.00")
    )
    assert result.unaligned == Spend(
        Decimal("2.00"), Decimal("0.00"), Decimal("0.00"), Decimal("100.00"), Decimal("10.00")
    )
    assert result.total == Spend(
        Decimal("25.00"),
        Decimal("109.00"),
        Decimal("62.00"),
        Decimal("1400.00"),
        Decimal("1250.00"),
    )
    # Every number of the total is in exactly one key result or in unaligned.
    shared = result.key_results["a/x"] + result.key_results["b/y"] + result.unaligned
    assert shared == result.total
