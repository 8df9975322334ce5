"""Carry-over: the copy starts from the last value, links back to its origin, lands in the
objective that continues the origin's; lineage both ways; what cannot be carried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, InvalidInput, PermissionDenied
from milepost.okrs import services
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from tests import factories

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]


@pytest.fixture
def next_cycle(org: Organization, cycle: Cycle) -> Cycle:
    return factories.make_cycle(
        org,
        "q-next",
        start_date=cycle.end_date + timedelta(days=1),
        end_date=cycle.end_date + timedelta(days=91),
        state="planning",
    )


def test_the_copy_starts_from_the_last_value_and_links_to_its_origin(
    team_member: Actor, key_result: KeyResult, objective: Objective, next_cycle: Cycle
) -> None:
    services.record_checkin(actor=team_member, key_result=key_result, value=Decimal(140))

    [copy] = services.carry_over_key_results(
        actor=team_member, key_results=[key_result], target_cycle=next_cycle
    )

    assert copy.carried_from_id == key_result.pk
    assert (copy.start_value, copy.current_value, copy.target_value) == (
        Decimal(140),
        Decimal(140),
        Decimal(200),
    )
    assert copy.due_date is None
    assert copy.owner_id == key_result.owner_id
    assert copy.progress == 0
    home = copy.objective
    assert home.cycle_id == next_cycle.pk
    assert home.carried_from_id == objective.pk
    assert home.state == "draft"  # the target cycle is being planned
    assert home.owner_team_id == objective.owner_team_id
    assert home.key == "grow-q-next"
    event = AuditEvent.objects.get(action="keyresult.carry_over")
    assert event.target_id == copy.pk
    assert event.after is not None
    assert event.after["carried_from_id"] == key_result.pk


def test_two_key_results_of_one_objective_share_its_continuation(
    team_member: Actor, objective: Objective, key_result: KeyResult, next_cycle: Cycle
) -> None:
    second = factories.make_key_result(
        objective, "nps", start_value=Decimal(10), target_value=Decimal(50)
    )
    copies = services.carry_over_key_results(
        actor=team_member, key_results=[key_result, second], target_cycle=next_cycle
    )
    assert [c.carried_from_id for c in copies] == [key_result.pk, second.pk]
    assert copies[0].objective_id == copies[1].objective_id
    assert Objective.objects.filter(cycle=next_cycle).count() == 1


def test_carrying_twice_returns_the_first_copy(
    team_member: Actor, key_result: KeyResult, next_cycle: Cycle
) -> None:
    [first] = services.carry_over_key_results(
        actor=team_member, key_results=[key_result], target_cycle=next_cycle
    )
    [again] = services.carry_over_key_results(
        actor=team_member, key_results=[key_result], target_cycle=next_cycle
    )
    assert again.pk == first.pk
    assert KeyResult.objects.filter(carried_from=key_result).count() == 1


def test_into_a_chosen_objective_with_a_free_key(
    admin: Actor, key_result: KeyResult, next_cycle: Cycle, team: Team
) -> None:
    target = factories.make_objective(next_cycle, "new-home", owner_team=team)
    factories.make_key_result(target, "signups")  # the key is taken there
    [copy] = services.carry_over_key_results(
        actor=admin, key_results=[key_result], target_cycle=next_cycle, into_objective=target
    )
    assert copy.objective_id == target.pk
    assert copy.key == "signups-2"


def test_what_cannot_be_carried_is_named_and_nothing_is_written(
    admin: Actor,
    cycle: Cycle,
    objective: Objective,
    key_result: KeyResult,
    next_cycle: Cycle,
    counts: Counts,
) -> None:
    done = factories.make_key_result(
        objective,
        "done",
        start_value=Decimal(0),
        target_value=Decimal(10),
        current_value=Decimal(12),
    )
    here = factories.make_key_result(factories.make_objective(next_cycle, "there"), "here")
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        services.carry_over_key_results(
            actor=admin, key_results=[key_result, done, here], target_cycle=next_cycle
        )
    assert refused.value.errors["key_results"] == [
        "grow/done reached its target: there is nothing to carry",
        "there/here is already in cycle q-next",
    ]
    assert counts() == before


def test_an_objective_outside_the_target_cycle_is_refused(
    admin: Actor, objective: Objective, key_result: KeyResult, next_cycle: Cycle
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.carry_over_key_results(
            actor=admin, key_results=[key_result], target_cycle=next_cycle, into_objective=objective
        )
    assert "into_objective" in refused.value.errors


def test_nothing_is_carried_into_a_closed_cycle(
    admin: Actor, org: Organization, key_result: KeyResult, today: date
) -> None:
    old = factories.make_cycle(
        org,
        "old",
        start_date=today - timedelta(days=200),
        end_date=today - timedelta(days=110),
        state="closed",
    )
    with pytest.raises(Conflict, match="closed"):
        services.carry_over_key_results(actor=admin, key_results=[key_result], target_cycle=old)


def test_only_those_who_may_change_a_key_result_carry_it(
    member: Actor, viewer: Actor, key_result: KeyResult, next_cycle: Cycle
) -> None:
    for actor in (member, viewer):
        with pytest.raises(PermissionDenied):
            services.carry_over_key_results(
                actor=actor, key_results=[key_result], target_cycle=next_cycle
            )


def test_carrying_out_of_a_closed_cycle_works_and_lineage_shows_both_ways(
    admin: Actor,
    org: Organization,
    cycle: Cycle,
    objective: Objective,
    key_result: KeyResult,
    next_cycle: Cycle,
    viewer: Actor,
) -> None:
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(130))
    services.skip_objective_retrospective(actor=admin, objective=objective)
    services.close_cycle(actor=admin, cycle=cycle)
    [copy] = services.carry_over_key_results(
        actor=admin, key_results=[key_result], target_cycle=next_cycle
    )
    later = factories.make_cycle(
        org,
        "q-later",
        start_date=next_cycle.end_date + timedelta(days=1),
        end_date=next_cycle.end_date + timedelta(days=60),
        state="planning",
    )
    [grandchild] = services.carry_over_key_results(
        actor=admin, key_results=[copy], target_cycle=later
    )

    middle = services.key_result_lineage(admin, copy)
    assert [g.key_result.pk for g in middle.origins] == [key_result.pk]
    assert middle.origins[0].retrospective is not None
    assert middle.origins[0].retrospective.score == Decimal("0.3")
    assert [g.key_result.pk for g in middle.copies] == [grandchild.pk]
    first = services.key_result_lineage(admin, key_result)
    assert not first.origins
    assert [g.key_result.pk for g in first.copies] == [copy.pk, grandchild.pk]
    last = services.key_result_lineage(admin, grandchild)
    assert [g.key_result.pk for g in last.origins] == [key_result.pk, copy.pk]
    assert not services.key_result_lineage(admin, factories.make_key_result(objective, "alone"))


def test_lineage_leaves_out_what_the_actor_may_not_see(
    admin: Actor, member: Actor, objective: Objective, key_result: KeyResult, next_cycle: Cycle
) -> None:
    [copy] = services.carry_over_key_results(
        actor=admin, key_results=[key_result], target_cycle=next_cycle
    )
    Objective.objects.filter(pk=objective.pk).update(visibility="team")
    assert not services.key_result_lineage(member, copy).origins
