"""Every rule of the roadmap services refuses bad input with InvalidInput naming the field,
and writes nothing (no row, no audit event, no change to the row being edited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from milepost.errors import InvalidInput
from milepost.okrs.models import Cycle, KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from milepost.roadmap import services
from milepost.roadmap.models import Initiative, Milestone
from tests import factories

Counts = Callable[[], dict[str, int]]


def _refused(counts: Counts, field: str, call: Callable[[], Any]) -> InvalidInput:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert field in caught.value.errors, caught.value.errors
    assert field in caught.value.detail
    assert counts() == before
    return caught.value


def _create_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"key": "new-thing", "title": "New thing"}
    kwargs.update(overrides)
    return kwargs


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"key": ""}, "key", id="key-missing"),
        pytest.param({"key": "checkout"}, "key", id="key-taken"),
        pytest.param({"key": "not a slug!"}, "key", id="key-not-slug"),
        pytest.param({"title": "   "}, "title", id="title-blank"),
        pytest.param({"title": "x" * 301}, "title", id="title-too-long"),
        pytest.param(
            {"start_date": date(2026, 10, 10), "end_date": date(2026, 10, 9)},
            "end_date",
            id="end-before-start",
        ),
        pytest.param({"start_date": "10 October"}, "start_date", id="start-not-a-date"),
        pytest.param({"effort_days": Decimal(-1)}, "effort_days", id="effort-negative"),
        pytest.param({"effort_days": "lots"}, "effort_days", id="effort-not-number"),
        pytest.param({"effort_days": None}, "effort_days", id="effort-missing"),
        pytest.param({"budget": Decimal("-0.01")}, "budget", id="budget-negative"),
        pytest.param({"planned_hours": -5}, "planned_hours", id="planned-hours-negative"),
        pytest.param({"estimated_cost": -1}, "estimated_cost", id="estimated-cost-negative"),
        pytest.param(
            {"estimated_effort_days": -1}, "estimated_effort_days", id="estimated-effort-negative"
        ),
        pytest.param({"status": "finished"}, "status", id="status-unknown"),
    ],
)
def test_create_initiative_refuses(
    admin: Actor,
    initiative: Initiative,
    row_counts: Counts,
    overrides: dict[str, Any],
    field: str,
) -> None:
    _refused(
        row_counts,
        field,
        lambda: services.create_initiative(actor=admin, **_create_kwargs(**overrides)),
    )


def test_initiative_key_cannot_take_a_milestones_key(
    admin: Actor, org: Organization, row_counts: Counts
) -> None:
    factories.make_milestone(org, "launch")
    _refused(
        row_counts, "key", lambda: services.create_initiative(actor=admin, key="launch", title="L")
    )


def test_references_must_belong_to_the_organization(
    admin: Actor, other_org: Organization, row_counts: Counts
) -> None:
    foreign_team = factories.make_team(other_org, "theirs")
    foreign_cycle = factories.make_cycle(other_org, "their-q4")
    stranger = factories.make_member(other_org)
    error = _refused(
        row_counts,
        "team",
        lambda: services.create_initiative(
            actor=admin,
            key="x",
            title="X",
            team=foreign_team,
            cycle=foreign_cycle,
            owner=stranger,
        ),
    )
    # One refusal names every field at fault.
    assert {"team", "cycle", "owner"} <= set(error.errors)


def test_archived_team_is_not_found(admin: Actor, team: Team, row_counts: Counts) -> None:
    Team.objects.filter(pk=team.pk).update(archived_at=timezone.now())
    team.refresh_from_db()
    _refused(
        row_counts,
        "team",
        lambda: services.create_initiative(actor=admin, key="x", title="X", team=team),
    )


def test_update_checks_the_resulting_dates(
    admin: Actor, initiative: Initiative, row_counts: Counts
) -> None:
    assert initiative.start_date is not None
    earlier = initiative.start_date - timedelta(days=1)
    _refused(
        row_counts,
        "end_date",
        lambda: services.update_initiative(
            actor=admin, initiative=initiative, changes={"end_date": earlier}
        ),
    )
    fresh = Initiative.objects.get(pk=initiative.pk)
    assert (fresh.end_date, fresh.version) == (initiative.end_date, initiative.version)


@pytest.mark.parametrize("field", ["organization", "closed_at", "version", "archived_at"])
def test_update_refuses_fields_it_does_not_own(
    admin: Actor, initiative: Initiative, row_counts: Counts, field: str
) -> None:
    _refused(
        row_counts,
        field,
        lambda: services.update_initiative(
            actor=admin, initiative=initiative, changes={field: None}
        ),
    )


@pytest.mark.parametrize(
    ("status", "field"),
    [("done", "delivered_summary"), ("cancelled", "outcome_summary")],
)
def test_closing_needs_the_closure_summary(
    admin: Actor, initiative: Initiative, row_counts: Counts, status: str, field: str
) -> None:
    _refused(
        row_counts,
        field,
        lambda: services.change_initiative_status(
            actor=admin, initiative=initiative, status=status
        ),
    )
    assert Initiative.objects.get(pk=initiative.pk).status == "planned"


@pytest.mark.parametrize(
    ("weight", "field"), [(Decimal(-1), "weight"), (None, "weight"), ("heavy", "weight")]
)
def test_link_weight(
    admin: Actor,
    initiative: Initiative,
    key_result: KeyResult,
    row_counts: Counts,
    weight: Any,
    field: str,
) -> None:
    _refused(
        row_counts,
        field,
        lambda: services.link_initiative(
            actor=admin, initiative=initiative, key_result=key_result, weight=weight
        ),
    )


def test_link_key_result_of_another_organization(
    admin: Actor, initiative: Initiative, other_org: Organization, row_counts: Counts
) -> None:
    theirs = factories.make_key_result(factories.make_objective(factories.make_cycle(other_org)))
    _refused(
        row_counts,
        "key_result",
        lambda: services.link_initiative(actor=admin, initiative=initiative, key_result=theirs),
    )


def test_link_archived_key_result(
    admin: Actor, initiative: Initiative, key_result: KeyResult, row_counts: Counts
) -> None:
    KeyResult.objects.filter(pk=key_result.pk).update(archived_at=timezone.now())
    _refused(
        row_counts,
        "key_result",
        lambda: services.link_initiative(actor=admin, initiative=initiative, key_result=key_result),
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"key": ""}, "key", id="key-missing"),
        pytest.param({"key": "checkout"}, "key", id="key-is-an-initiatives"),
        pytest.param({"name": ""}, "name", id="name-blank"),
        pytest.param({"date": None}, "date", id="date-missing"),
        pytest.param({"weight": Decimal(-1)}, "weight", id="weight-negative"),
    ],
)
def test_create_milestone_refuses(
    admin: Actor,
    initiative: Initiative,
    row_counts: Counts,
    overrides: dict[str, Any],
    field: str,
) -> None:
    kwargs: dict[str, Any] = {"key": "beta", "name": "Beta", "date": date(2026, 11, 15)}
    kwargs.update(overrides)
    _refused(
        row_counts,
        field,
        lambda: services.create_milestone(actor=admin, initiative=initiative, **kwargs),
    )


def test_milestone_counts_only_toward_a_milestones_key_result(
    admin: Actor, key_result: KeyResult, row_counts: Counts
) -> None:
    _refused(
        row_counts,
        "key_result",
        lambda: services.create_milestone(
            actor=admin, key="beta", name="Beta", date=date(2026, 11, 15), key_result=key_result
        ),
    )


def test_milestone_of_another_organizations_initiative(
    admin: Actor, other_org: Organization, row_counts: Counts
) -> None:
    theirs = factories.make_initiative(other_org, "theirs")
    _refused(
        row_counts,
        "initiative",
        lambda: services.create_milestone(
            actor=admin, key="beta", name="Beta", date=date(2026, 11, 15), initiative=theirs
        ),
    )


def test_milestone_cannot_be_done_in_the_future(
    admin: Actor, org: Organization, row_counts: Counts
) -> None:
    milestone = factories.make_milestone(org, "beta")
    _refused(
        row_counts,
        "done_on",
        lambda: services.complete_milestone(
            actor=admin, milestone=milestone, done_on=date.today() + timedelta(days=2)
        ),
    )
    assert Milestone.objects.get(pk=milestone.pk).done_on is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"type": "XX"}, "type", id="type-unknown"),
        pytest.param({"lag_days": 4000}, "lag_days", id="lag-too-long"),
        pytest.param({"lag_days": -4000}, "lag_days", id="lag-too-negative"),
        pytest.param({"lag_days": "3"}, "lag_days", id="lag-not-int"),
        pytest.param({"lag_days": 1.5}, "lag_days", id="lag-fraction"),
    ],
)
def test_add_dependency_refuses(
    admin: Actor,
    org: Organization,
    initiative: Initiative,
    row_counts: Counts,
    overrides: dict[str, Any],
    field: str,
) -> None:
    other = factories.make_initiative(org, "payments")
    _refused(
        row_counts,
        field,
        lambda: services.add_dependency(
            actor=admin, predecessor=initiative, successor=other, **overrides
        ),
    )


def test_an_item_cannot_depend_on_itself(
    admin: Actor, initiative: Initiative, row_counts: Counts
) -> None:
    _refused(
        row_counts,
        "successor",
        lambda: services.add_dependency(actor=admin, predecessor=initiative, successor=initiative),
    )


def test_dependency_ends_must_be_in_the_organization(
    admin: Actor, initiative: Initiative, other_org: Organization, row_counts: Counts
) -> None:
    theirs = factories.make_milestone(other_org, "their-launch")
    _refused(
        row_counts,
        "predecessor",
        lambda: services.add_dependency(actor=admin, predecessor=theirs, successor=initiative),
    )


def test_dependency_on_an_archived_item(
    admin: Actor, org: Organization, initiative: Initiative, cycle: Cycle, row_counts: Counts
) -> None:
    gone = factories.make_initiative(org, "gone", archived_at=timezone.now())
    _refused(
        row_counts,
        "successor",
        lambda: services.add_dependency(actor=admin, predecessor=initiative, successor=gone),
    )
