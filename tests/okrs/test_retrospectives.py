"""Retrospectives: the engine's score and grade, overrides that need a reason code, objective
reflections, admin skips, who may write them and when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, InvalidInput, PermissionDenied
from milepost.okrs import services
from milepost.okrs.models import Cycle, KeyResult, Objective, Retrospective
from milepost.okrs.retrospectives import cycle_scores, score_date
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests import factories

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]


@pytest.mark.parametrize(
    ("value", "score", "grade"),
    [
        ("100", "0.0", "missed"),
        ("134", "0.3", "missed"),
        ("135", "0.4", "partial"),  # 0.35 rounds half up
        ("164", "0.6", "partial"),
        ("165", "0.7", "achieved"),
        ("260", "1.0", "achieved"),  # clamped
    ],
)
def test_key_result_retrospective_takes_the_engine_score(
    team_member: Actor, key_result: KeyResult, value: str, score: str, grade: str
) -> None:
    services.record_checkin(actor=team_member, key_result=key_result, value=Decimal(value))

    retro = services.record_key_result_retrospective(actor=team_member, key_result=key_result)

    assert (retro.score, retro.grade, retro.final_grade) == (Decimal(score), grade, grade)
    assert retro.cycle_id == key_result.objective.cycle_id
    assert retro.author_id == team_member.user_id


def test_an_override_needs_a_reason_code(
    team_member: Actor, key_result: KeyResult, counts: Counts
) -> None:
    before = counts()
    retros = Retrospective.objects.count()
    with pytest.raises(InvalidInput) as refused:
        services.record_key_result_retrospective(
            actor=team_member, key_result=key_result, grade_override="achieved"
        )
    assert refused.value.errors == {"reason_code": ["overriding the grade needs a reason code"]}
    assert counts() == before
    assert Retrospective.objects.count() == retros


def test_bad_grade_and_reason_are_named(team_member: Actor, key_result: KeyResult) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.record_key_result_retrospective(
            actor=team_member, key_result=key_result, grade_override="great", reason_code="luck"
        )
    assert set(refused.value.errors) == {"grade_override", "reason_code"}


def test_an_override_with_a_reason_and_lessons_is_kept_and_audited(
    team_member: Actor, key_result: KeyResult
) -> None:
    retro = services.record_key_result_retrospective(
        actor=team_member,
        key_result=key_result,
        grade_override="partial",
        reason_code="measurement",
        lessons="  The tracking broke in week 6.  ",
    )
    assert (retro.grade, retro.grade_override, retro.final_grade) == (
        "missed",
        "partial",
        "partial",
    )
    assert retro.lessons == "The tracking broke in week 6."
    event = AuditEvent.objects.get(action="retrospective.create")
    assert event.target_id == retro.pk
    assert event.after is not None
    assert event.after["reason_code"] == "measurement"

    revised = services.record_key_result_retrospective(
        actor=team_member, key_result=key_result, lessons="Fix tracking first."
    )
    assert revised.pk == retro.pk
    assert revised.grade_override == ""
    update = AuditEvent.objects.get(action="retrospective.update")
    assert update.before is not None
    assert update.before["grade_override"] == "partial"


def test_others_may_not_write_a_key_results_retrospective(
    member: Actor, viewer: Actor, key_result: KeyResult
) -> None:
    for actor in (member, viewer):
        with pytest.raises(PermissionDenied):
            services.record_key_result_retrospective(actor=actor, key_result=key_result)


def test_no_retrospective_while_the_cycle_is_planned(
    org: Organization, admin: Actor, today: date
) -> None:
    cycle = factories.make_cycle(
        org, "plan", start_date=today, end_date=today + timedelta(days=30), state="planning"
    )
    objective = factories.make_objective(cycle, "o", state="draft")
    kr = factories.make_key_result(objective, "k")
    with pytest.raises(Conflict, match="still being planned"):
        services.record_key_result_retrospective(actor=admin, key_result=kr)
    with pytest.raises(Conflict, match="still being planned"):
        services.skip_objective_retrospective(actor=admin, objective=objective)


def test_objective_reflection_needs_something_written(
    team_member: Actor, objective: Objective
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.record_objective_reflection(
            actor=team_member, objective=objective, went_well=" ", went_badly="", change_next=""
        )
    assert set(refused.value.errors) == {"went_well", "went_badly", "change_next"}


def test_objective_reflection_scores_the_objective_and_replaces_a_skip(
    admin: Actor, team_member: Actor, objective: Objective, key_result: KeyResult
) -> None:
    services.record_checkin(actor=team_member, key_result=key_result, value=Decimal(150))
    skipped = services.skip_objective_retrospective(actor=admin, objective=objective)
    assert skipped.skipped

    reflection = services.record_objective_reflection(
        actor=team_member,
        objective=objective,
        went_well="Pairing with sales",
        went_badly="Late start",
        change_next="Plan in week 1",
        lessons="Start earlier.",
    )

    assert reflection.pk == skipped.pk
    assert not reflection.skipped
    assert (reflection.score, reflection.grade) == (Decimal("0.5"), "partial")
    assert reflection.went_badly == "Late start"


def test_skipping_is_for_admins_and_never_over_a_reflection(
    admin: Actor, team_member: Actor, objective: Objective
) -> None:
    with pytest.raises(PermissionDenied):
        services.skip_objective_retrospective(actor=team_member, objective=objective)
    services.record_objective_reflection(
        actor=team_member, objective=objective, went_well="x", went_badly="", change_next=""
    )
    with pytest.raises(Conflict, match="already has a reflection"):
        services.skip_objective_retrospective(actor=admin, objective=objective)


def test_skipping_twice_changes_nothing(admin: Actor, objective: Objective) -> None:
    first = services.skip_objective_retrospective(actor=admin, objective=objective)
    events = AuditEvent.objects.count()
    second = services.skip_objective_retrospective(actor=admin, objective=objective)
    assert second.pk == first.pk
    assert AuditEvent.objects.count() == events


def test_the_score_date_is_the_cycle_end_or_today(org: Organization, today: date) -> None:
    past = factories.make_cycle(
        org, "past", start_date=today - timedelta(days=100), end_date=today - timedelta(days=10)
    )
    running = factories.make_cycle(
        org, "now", start_date=today - timedelta(days=10), end_date=today + timedelta(days=10)
    )
    future = factories.make_cycle(
        org, "later", start_date=today + timedelta(days=5), end_date=today + timedelta(days=50)
    )
    assert score_date(past, org) == past.end_date
    assert score_date(running, org) == today
    assert score_date(future, org) == future.start_date


def test_scores_ignore_check_ins_after_the_cycle_end(
    org: Organization, admin: Actor, today: date
) -> None:
    cycle: Cycle = factories.make_cycle(
        org, "past", start_date=today - timedelta(days=60), end_date=today - timedelta(days=5)
    )
    kr = factories.make_key_result(factories.make_objective(cycle, "o"), "k")
    services.record_checkin(
        actor=admin, key_result=kr, value=Decimal(40), effective_date=cycle.end_date
    )
    services.record_checkin(actor=admin, key_result=kr, value=Decimal(90))  # too late
    scores = cycle_scores(cycle, org)
    assert scores.as_of == cycle.end_date
    assert scores.key_results[kr.pk].value == Decimal("0.4")
