"""Who sees and changes roadmap items: organization isolation (another organization's item is
not found, never forbidden) and roles (viewer reads, member edits own/team items, admin all)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from milepost.errors import InvalidInput, NotFound, PermissionDenied
from milepost.okrs.models import Cycle, KeyResult
from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization, Role, Team
from milepost.roadmap import services
from milepost.roadmap.access import (
    access_dependency,
    access_initiative,
    access_initiative_link,
    access_milestone,
)
from milepost.roadmap.models import Initiative
from tests import factories

Counts = Callable[[], dict[str, int]]


@pytest.fixture
def roadmap(org: Organization, initiative: Initiative, key_result: KeyResult) -> dict[str, Any]:
    """One of each roadmap row in `org`."""
    milestone = factories.make_milestone(org, "beta", initiative=initiative)
    dependency = factories.make_dependency(initiative, milestone)
    link = services.link_initiative(
        actor=actor_for(factories.make_member(org, Role.ADMIN), org),
        initiative=initiative,
        key_result=key_result,
    )
    return {
        "initiative": (access_initiative, initiative),
        "milestone": (access_milestone, milestone),
        "dependency": (access_dependency, dependency),
        "link": (access_initiative_link, link),
    }


KINDS = ["initiative", "milestone", "dependency", "link"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("write", [False, True])
def test_another_organizations_items_are_not_found(
    outsider: Actor, roadmap: dict[str, Any], kind: str, write: bool
) -> None:
    helper, row = roadmap[kind]
    with pytest.raises(NotFound):
        helper(outsider, row.pk, write=write)


@pytest.mark.parametrize("kind", KINDS)
def test_viewers_read_but_do_not_write(viewer: Actor, roadmap: dict[str, Any], kind: str) -> None:
    helper, row = roadmap[kind]
    assert helper(viewer, row.pk).pk == row.pk
    with pytest.raises(PermissionDenied):
        helper(viewer, row.pk, write=True)


@pytest.mark.parametrize("kind", KINDS)
def test_team_members_and_admins_write(
    team_member: Actor, admin: Actor, roadmap: dict[str, Any], kind: str
) -> None:
    helper, row = roadmap[kind]
    assert helper(team_member, row.pk, write=True).pk == row.pk
    assert helper(admin, row.pk, write=True).pk == row.pk


@pytest.mark.parametrize("kind", KINDS)
def test_members_of_other_teams_read_but_do_not_write(
    member: Actor, roadmap: dict[str, Any], kind: str
) -> None:
    helper, row = roadmap[kind]
    assert helper(member, row.pk).pk == row.pk
    with pytest.raises(PermissionDenied):
        helper(member, row.pk, write=True)


def test_the_owner_of_an_initiative_edits_it_outside_their_teams(
    member: Actor, org: Organization, team: Team
) -> None:
    mine = factories.make_initiative(org, "mine", team=team, owner=member.user)
    updated = services.update_initiative(actor=member, initiative=mine, changes={"title": "Mine"})
    assert updated.title == "Mine"


def test_services_refuse_a_foreign_row_as_not_found(
    outsider: Actor, initiative: Initiative, row_counts: Counts
) -> None:
    before = row_counts()
    with pytest.raises(NotFound):
        services.update_initiative(actor=outsider, initiative=initiative, changes={"title": "X"})
    with pytest.raises(NotFound):
        services.archive_initiative(actor=outsider, initiative=initiative)
    with pytest.raises(NotFound):
        services.link_initiative(
            actor=outsider,
            initiative=initiative,
            key_result=factories.make_key_result(
                factories.make_objective(factories.make_cycle(outsider.organization))
            ),
        )
    assert row_counts() == before


def test_member_permissions_through_services(
    member: Actor,
    team_member: Actor,
    initiative: Initiative,
    team: Team,
    row_counts: Counts,
) -> None:
    before = row_counts()
    with pytest.raises(PermissionDenied):
        services.update_initiative(actor=member, initiative=initiative, changes={"title": "X"})
    with pytest.raises(PermissionDenied):
        services.archive_initiative(actor=member, initiative=initiative)
    with pytest.raises(PermissionDenied):
        services.change_initiative_status(actor=member, initiative=initiative, status="on_hold")
    with pytest.raises(PermissionDenied):
        services.create_initiative(actor=member, key="theirs", title="Theirs", team=team)
    assert row_counts() == before
    services.update_initiative(actor=team_member, initiative=initiative, changes={"title": "Y"})
    services.archive_initiative(actor=team_member, initiative=initiative)


def test_members_create_initiatives_for_their_team_or_themselves(
    member: Actor, team_member: Actor, team: Team
) -> None:
    services.create_initiative(actor=team_member, key="ours", title="Ours", team=team)
    services.create_initiative(actor=member, key="solo", title="Solo", owner=member.user)
    with pytest.raises(PermissionDenied):
        services.create_initiative(actor=member, key="nobodys", title="Nobody's")


def test_viewers_create_nothing(viewer: Actor, org: Organization, row_counts: Counts) -> None:
    before = row_counts()
    with pytest.raises(PermissionDenied):
        services.create_initiative(actor=viewer, key="v", title="V", owner=viewer.user)
    with pytest.raises(PermissionDenied):
        services.create_milestone(actor=viewer, key="m", name="M", date=date(2026, 11, 1))
    assert row_counts() == before


def test_a_standalone_milestone_is_changed_by_admins_or_its_key_results_owner(
    org: Organization, member: Actor, admin: Actor, milestones_kr: KeyResult
) -> None:
    loose = factories.make_milestone(org, "loose")
    with pytest.raises(PermissionDenied):
        access_milestone(member, loose.pk, write=True)
    assert access_milestone(admin, loose.pk, write=True).pk == loose.pk

    KeyResult.objects.filter(pk=milestones_kr.pk).update(owner=member.user)
    milestones_kr.refresh_from_db()
    counted = services.create_milestone(
        actor=member,
        key="counted",
        name="Counted",
        date=date(2026, 11, 1),
        key_result=milestones_kr,
    )
    assert access_milestone(member, counted.pk, write=True).pk == counted.pk


def test_a_member_cannot_move_a_milestone_into_someone_elses_initiative(
    team_member: Actor, org: Organization, initiative: Initiative
) -> None:
    milestone = factories.make_milestone(org, "beta", initiative=initiative)
    elsewhere = factories.make_initiative(org, "elsewhere")
    with pytest.raises(PermissionDenied):
        services.update_milestone(
            actor=team_member, milestone=milestone, changes={"initiative": elsewhere}
        )


def test_dependencies_need_one_end_the_actor_may_change(
    member: Actor, team_member: Actor, org: Organization, initiative: Initiative
) -> None:
    other = factories.make_initiative(org, "other")
    with pytest.raises(PermissionDenied):
        services.add_dependency(actor=member, predecessor=other, successor=initiative)
    dependency = services.add_dependency(actor=team_member, predecessor=other, successor=initiative)
    with pytest.raises(PermissionDenied):
        services.remove_dependency(actor=member, dependency=dependency)
    services.remove_dependency(actor=team_member, dependency=dependency)


def test_links_to_a_private_objectives_key_result_are_not_found(
    org: Organization, cycle: Cycle, initiative: Initiative, admin: Actor, member: Actor
) -> None:
    private = factories.make_objective(cycle, "secret", visibility="private")
    hidden = factories.make_key_result(private, "hidden")
    link = services.link_initiative(actor=admin, initiative=initiative, key_result=hidden)
    with pytest.raises(NotFound):
        access_initiative_link(member, link.pk)
    # …and a member cannot link to it either: it is not found for them.
    mine = factories.make_initiative(org, "mine", owner=member.user)
    with pytest.raises(InvalidInput, match="key_result"):
        services.link_initiative(actor=member, initiative=mine, key_result=hidden)


def test_archived_rows_are_hidden_unless_asked(admin: Actor, initiative: Initiative) -> None:
    services.archive_initiative(actor=admin, initiative=initiative)
    with pytest.raises(NotFound):
        access_initiative(admin, initiative.pk)
    assert access_initiative(admin, initiative.pk, include_archived=True).pk == initiative.pk


def test_link_weight_is_changed_only_by_the_initiatives_editors(
    member: Actor, admin: Actor, initiative: Initiative, key_result: KeyResult
) -> None:
    link = services.link_initiative(actor=admin, initiative=initiative, key_result=key_result)
    with pytest.raises(PermissionDenied):
        services.update_initiative_link(actor=member, link=link, changes={"weight": Decimal(2)})
    with pytest.raises(PermissionDenied):
        services.unlink_initiative(actor=member, link=link)
