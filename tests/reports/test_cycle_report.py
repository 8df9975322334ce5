"""The cycle report: scores and their distribution, grades per team (overrides count),
calibration per owner and team, planned vs actual investment per objective, lessons searchable
across cycles, visibility, and a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from milepost.accounts.models import User
from milepost.engine.calibration import OVER, TOO_FEW
from milepost.okrs import services
from milepost.okrs.models import Cycle, KeyResult, Objective, Retrospective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Role, Team
from milepost.reports.cycle_report import cycle_report, search_lessons
from milepost.roadmap.models import InitiativeKeyResult
from tests import factories
from tests.okrs.conftest import member_of

pytestmark = pytest.mark.django_db

D = Decimal


@dataclass
class Story:
    cycle: Cycle
    grow: Objective
    run: Objective
    krs: dict[str, KeyResult]
    ada: Actor
    ben: Actor


def _kr(objective: Objective, key: str, owner: Actor, target: int = 100) -> KeyResult:
    assert owner.user is not None
    return factories.make_key_result(
        objective, key, start_value=D(0), target_value=D(target), owner=owner.user
    )


def _checkins(actor: Actor, kr: KeyResult, today: date, points: list[tuple[int, int, int]]) -> None:
    for days_ago, value, confidence in points:
        services.record_checkin(
            actor=actor,
            key_result=kr,
            value=D(value),
            confidence=confidence,
            effective_date=today - timedelta(days=days_ago),
        )


@pytest.fixture
def story(
    org: Organization, admin: Actor, cycle: Cycle, team: Team, other_team: Team, today: date
) -> Story:
    ada = member_of(org, team, "ada@acme.test")
    ben = member_of(org, other_team, "ben@acme.test")
    User.objects.filter(email="ada@acme.test").update(full_name="Ada")
    User.objects.filter(email="ben@acme.test").update(full_name="Ben")
    grow = factories.make_objective(cycle, "grow", owner_team=team, title="Grow")
    run = factories.make_objective(cycle, "run", owner_team=other_team, title="Run")
    krs = {
        "signups": _kr(grow, "signups", ada),
        "activation": _kr(grow, "activation", ada),
        "uptime": _kr(run, "uptime", ben, 10),
        "latency": _kr(run, "latency", ben, 10),
    }
    _checkins(ada, krs["signups"], today, [(30, 40, 8), (10, 80, 6)])  # 0.8 achieved
    _checkins(ada, krs["activation"], today, [(30, 20, 7), (20, 22, 5), (10, 25, 3)])  # 0.3
    _checkins(ben, krs["uptime"], today, [(20, 5, 4), (5, 9, 5)])  # 0.9 achieved
    services.record_key_result_retrospective(  # latency: 0.0 missed, graded partial
        actor=ben,
        key_result=krs["latency"],
        grade_override="partial",
        reason_code="external",
        lessons="A vendor outage ate two weeks.",
    )
    services.record_objective_reflection(
        actor=ada, objective=grow, went_well="Pairing with sales", went_badly="", change_next=""
    )
    initiative = factories.make_initiative(
        org, "funnel", cycle=cycle, team=team, budget=D(1000), planned_hours=D(100)
    )
    for kr, weight in (("signups", 3), ("uptime", 1)):
        InitiativeKeyResult.objects.create(
            organization=org, initiative=initiative, key_result=krs[kr], weight=D(weight)
        )
    task = factories.make_task(initiative)
    assert ada.user is not None
    factories.make_time_entry(task, ada.user, D(10), cost=D(400), date=today - timedelta(days=3))
    return Story(cycle, grow, run, krs, ada, ben)


def test_scores_distribution_and_grades_per_team(admin: Actor, story: Story) -> None:
    report = cycle_report(admin, story.cycle)

    assert not report.final
    scores = {k.key: (k.score, k.grade, k.final_grade) for k in report.key_results}
    assert scores == {
        "grow/signups": (D("0.8"), "achieved", "achieved"),
        "grow/activation": (D("0.3"), "missed", "missed"),
        "run/uptime": (D("0.9"), "achieved", "achieved"),
        "run/latency": (D("0.0"), "missed", "partial"),
    }
    latency = next(k for k in report.key_results if k.key == "run/latency")
    assert latency.overridden
    assert latency.reason_label == "External change"
    counts = {b.label: b.count for b in report.distribution}
    assert counts == {
        "0.0": 1, "0.1": 0, "0.2": 0, "0.3": 1, "0.4": 0, "0.5": 0,
        "0.6": 0, "0.7": 0, "0.8": 1, "0.9": 1, "1.0": 0,
    }  # fmt: skip
    assert [(b.label, b.count, b.css) for b in report.grades] == [
        ("Achieved", 2, "on_track"),
        ("Partial", 1, "at_risk"),
        ("Missed", 1, "off_track"),
    ]
    assert [(t.team, t.achieved, t.partial, t.missed) for t in report.teams] == [
        ("Growth", 1, 0, 1),
        ("Platform", 1, 1, 0),
    ]
    assert report.mean_score == D("0.50")
    objectives = {o.key: o.retrospective for o in report.objectives}
    assert objectives == {"grow": "reflection", "run": "missing"}


def test_calibration_per_owner_and_team(admin: Actor, story: Story) -> None:
    report = cycle_report(admin, story.cycle)

    owners = {row.name: row.calibration for row in report.calibration_owners}
    # Ada: (0.8-1)² + (0.6-1)² + 0.7² + 0.5² + 0.3² = 1.03 over 5 forecasts.
    assert owners["Ada"].brier == D("0.2060")
    assert owners["Ada"].bias == D("0.1800")
    assert owners["Ada"].tendency == OVER
    # Ben: (0.4-1)² + (0.5-1)² = 0.61 over 2 forecasts: too few to judge. Latency had none.
    assert owners["Ben"].brier == D("0.3050")
    assert owners["Ben"].tendency == TOO_FEW
    teams = {row.name: row.calibration.brier for row in report.calibration_teams}
    assert teams == {"Growth": D("0.2060"), "Platform": D("0.3050")}
    assert report.calibration_overall.forecasts == 7


def test_planned_vs_actual_investment_per_objective(admin: Actor, story: Story) -> None:
    report = cycle_report(admin, story.cycle)
    spend = {o.key: o.investment for o in report.objectives}
    # The initiative is linked 3:1 to signups (grow) and uptime (run).
    assert (spend["grow"].planned_cost, spend["grow"].actual_cost) == (D("750.00"), D("300.00"))
    assert (spend["grow"].planned_hours, spend["grow"].logged_hours) == (D("75.00"), D("7.50"))
    assert (spend["run"].planned_cost, spend["run"].actual_cost) == (D("250.00"), D("100.00"))
    assert report.investment_total.planned_cost == D("1000.00")


def test_a_closed_cycle_reports_the_scores_recorded_at_close(
    admin: Actor, story: Story, today: date
) -> None:
    services.skip_objective_retrospective(actor=admin, objective=story.run)
    services.close_cycle(actor=admin, cycle=story.cycle)
    # A stored score differs from what the engine would say now (the record wins).
    Retrospective.objects.filter(key_result=story.krs["signups"]).update(score=D("0.9"))

    report = cycle_report(admin, story.cycle)

    assert report.final
    signups = next(k for k in report.key_results if k.key == "grow/signups")
    assert signups.score == D("0.9")
    assert {o.key: o.retrospective for o in report.objectives} == {
        "grow": "reflection",
        "run": "skipped",
    }


def test_what_the_actor_may_not_see_is_left_out(
    org: Organization, story: Story, other_team: Team
) -> None:
    Objective.objects.filter(pk=story.run.pk).update(visibility="team")
    outsider = member_of(org, None, "outsider@acme.test")

    report = cycle_report(outsider, story.cycle)

    assert {k.key for k in report.key_results} == {"grow/signups", "grow/activation"}
    assert [row.name for row in report.calibration_owners] == ["Ada"]
    assert [o.key for o in report.objectives] == ["grow"]
    assert all("vendor" not in lesson.lessons for lesson in report.lessons)


def test_lessons_are_searchable_across_cycles(
    org: Organization, admin: Actor, story: Story, team: Team, today: date
) -> None:
    old = factories.make_cycle(
        org,
        "old",
        start_date=story.cycle.start_date - timedelta(days=91),
        end_date=story.cycle.start_date - timedelta(days=1),
    )
    old_objective = factories.make_objective(old, "old-goal", title="Old goal", owner_team=team)
    old_kr = factories.make_key_result(old_objective, "vendor-kr", title="Vendor switch")
    Retrospective.objects.create(
        organization=org, cycle=old, key_result=old_kr, lessons="Negotiate the contract early."
    )

    everything = search_lessons(admin)
    assert [(lesson.cycle_name, lesson.title) for lesson in everything] == [
        ("q", "Grow"),
        ("q", "latency"),
        ("old", "Vendor switch"),
    ]
    vendor = search_lessons(admin, text="VENDOR")  # lessons of one, title of the other
    assert [lesson.title for lesson in vendor] == ["latency", "Vendor switch"]
    assert [lesson.title for lesson in search_lessons(admin, text="vendor contract")] == [
        "Vendor switch"
    ]
    assert [
        lesson.title for lesson in search_lessons(admin, text="pairing", cycle=story.cycle)
    ] == ["Grow"]
    assert search_lessons(admin, text="vendor", cycle=old)[0].subject == "key result"
    Objective.objects.filter(pk=old_objective.pk).update(visibility="private")
    viewer = member_of(org, None, "reader@acme.test", Role.VIEWER)
    assert [lesson.title for lesson in search_lessons(viewer, text="vendor")] == ["latency"]


def test_the_report_takes_a_fixed_number_of_queries(
    admin: Actor, story: Story, django_assert_max_num_queries: Any, team: Team, today: date
) -> None:
    def measure() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            cycle_report(admin, story.cycle)
        return len(ctx.captured_queries)

    small = measure()
    for n in range(5):
        extra = factories.make_objective(story.cycle, f"more-{n}", owner_team=team)
        kr = _kr(extra, "k", story.ada)
        _checkins(story.ada, kr, today, [(1, 10, 5)])
    assert measure() == small
    with django_assert_max_num_queries(30):
        cycle_report(admin, story.cycle)
