"""Roadmap services: what they write, the audit trail, status and closure, archive/restore,
links, milestones and dependencies (including loops)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, NotFound, StaleVersion
from milepost.okrs.models import KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from milepost.roadmap import services
from milepost.roadmap.access import access_initiative, access_milestone
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult
from tests import factories

Counts = Callable[[], dict[str, int]]


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- initiatives ---------------------------------------------------------------------------


def test_create_initiative_writes_the_business_case_and_an_audit_event(
    admin: Actor, team: Team, org: Organization
) -> None:
    initiative = services.create_initiative(
        actor=admin,
        key="search",
        title="  Better search ",
        team=team,
        owner=admin.user,
        start_date=date(2026, 10, 1),
        end_date=date(2026, 11, 30),
        effort_days="40",  # type: ignore[arg-type]  # shells may pass text; it becomes Decimal
        budget=Decimal(50000),
        hypothesis="Search conversions +10%",
        estimated_cost=Decimal(48000),
        estimated_effort_days=Decimal(35),
    )
    stored = Initiative.objects.get(pk=initiative.pk)
    assert stored.organization_id == org.pk
    assert stored.title == "Better search"
    assert stored.effort_days == Decimal(40)
    assert stored.status == "proposed"
    assert stored.closed_at is None
    [event] = _events("initiative.create")
    assert event.target_id == initiative.pk
    assert event.actor_id == admin.user_id
    assert event.after is not None
    assert event.after["key"] == "search"
    assert event.after["hypothesis"] == "Search conversions +10%"
    assert event.after["team_id"] == team.pk


def test_creating_an_already_closed_initiative_records_closed_at(admin: Actor) -> None:
    initiative = services.create_initiative(actor=admin, key="old", title="Old", status="done")
    assert initiative.closed_at is not None


def test_update_records_only_what_changed(admin: Actor, initiative: Initiative) -> None:
    updated = services.update_initiative(
        actor=admin,
        initiative=initiative,
        changes={"title": "Checkout v2", "budget": Decimal(1000), "key": "checkout"},
        expected_version=initiative.version,
    )
    assert updated.version == initiative.version + 1
    [event] = _events("initiative.update")
    assert event.before == {"title": "checkout", "budget": None}
    assert event.after == {"title": "Checkout v2", "budget": "1000"}


def test_an_update_that_changes_nothing_writes_nothing(
    admin: Actor, initiative: Initiative, row_counts: Counts
) -> None:
    before = row_counts()
    services.update_initiative(actor=admin, initiative=initiative, changes={"title": "checkout"})
    assert row_counts() == before
    assert Initiative.objects.get(pk=initiative.pk).version == initiative.version


def test_a_stale_version_is_refused_and_nothing_changes(
    admin: Actor, initiative: Initiative, row_counts: Counts
) -> None:
    services.update_initiative(actor=admin, initiative=initiative, changes={"title": "First"})
    before = row_counts()
    with pytest.raises(StaleVersion):
        services.update_initiative(
            actor=admin,
            initiative=initiative,
            changes={"title": "Second"},
            expected_version=initiative.version,  # the version read before the first write
        )
    assert row_counts() == before
    assert Initiative.objects.get(pk=initiative.pk).title == "First"


def test_done_records_closure_and_reopening_clears_closed_at(
    admin: Actor, initiative: Initiative
) -> None:
    done = services.change_initiative_status(
        actor=admin,
        initiative=initiative,
        status="done",
        delivered_summary="One-page checkout shipped",
        outcome_summary="Conversion +2 points",
    )
    assert done.status == "done"
    assert done.closed_at is not None
    assert done.delivered_summary == "One-page checkout shipped"
    [event] = _events("initiative.status")
    assert event.before is not None
    assert event.after is not None
    assert event.before["status"] == "planned"
    assert event.after["status"] == "done"
    assert event.after["delivered_summary"] == "One-page checkout shipped"
    assert event.before["closed_at"] is None
    assert event.after["closed_at"] is not None

    reopened = services.change_initiative_status(actor=admin, initiative=done, status="in_progress")
    assert reopened.closed_at is None
    assert reopened.delivered_summary == "One-page checkout shipped"  # history of the closure


def test_cancel_needs_why_and_moving_done_to_cancelled_asks_again(
    admin: Actor, initiative: Initiative
) -> None:
    services.change_initiative_status(
        actor=admin, initiative=initiative, status="done", delivered_summary="Shipped"
    )
    cancelled = services.change_initiative_status(
        actor=admin,
        initiative=initiative,
        status="cancelled",
        outcome_summary="Rolled back: no effect on conversion",
    )
    assert cancelled.status == "cancelled"
    assert cancelled.outcome_summary == "Rolled back: no effect on conversion"
    assert cancelled.closed_at is not None


def test_update_initiative_with_status_follows_the_closure_rules(
    admin: Actor, initiative: Initiative
) -> None:
    closed = services.update_initiative(
        actor=admin,
        initiative=initiative,
        changes={"status": "done", "delivered_summary": "Shipped"},
    )
    assert closed.closed_at is not None


def test_archive_and_restore_initiative(admin: Actor, initiative: Initiative) -> None:
    archived = services.archive_initiative(actor=admin, initiative=initiative)
    assert archived.archived_at is not None
    with pytest.raises(NotFound):
        access_initiative(admin, initiative.pk)
    found = access_initiative(admin, initiative.pk, include_archived=True)
    restored = services.restore_initiative(actor=admin, initiative=found)
    assert restored.archived_at is None
    assert access_initiative(admin, initiative.pk).pk == initiative.pk
    assert [
        e.action for e in AuditEvent.objects.filter(target_id=initiative.pk).order_by("id")
    ] == [
        "initiative.archive",
        "initiative.restore",
    ]


def test_archive_with_a_stale_version_is_refused(admin: Actor, initiative: Initiative) -> None:
    with pytest.raises(StaleVersion):
        services.archive_initiative(
            actor=admin, initiative=initiative, expected_version=initiative.version + 3
        )
    assert Initiative.objects.get(pk=initiative.pk).archived_at is None


# --- links ---------------------------------------------------------------------------------


def test_link_update_and_unlink(
    admin: Actor, initiative: Initiative, key_result: KeyResult
) -> None:
    link = services.link_initiative(
        actor=admin,
        initiative=initiative,
        key_result=key_result,
        weight=Decimal("0.5"),
        expected_impact="+300 visits",
    )
    assert (link.weight, link.expected_impact) == (Decimal("0.5"), "+300 visits")
    [linked] = _events("initiative.link")
    assert linked.target_type == "initiative"
    assert linked.target_id == initiative.pk
    assert linked.after is not None
    assert linked.after["key_result_id"] == key_result.pk

    with pytest.raises(Conflict):
        services.link_initiative(actor=admin, initiative=initiative, key_result=key_result)

    changed = services.update_initiative_link(actor=admin, link=link, changes={"weight": 2})
    assert changed.weight == Decimal(2)

    services.unlink_initiative(actor=admin, link=changed)
    assert not InitiativeKeyResult.objects.filter(pk=link.pk).exists()
    [unlinked] = _events("initiative.unlink")
    assert unlinked.before is not None
    assert unlinked.before["weight"] == "2.000"

    again = services.link_initiative(actor=admin, initiative=initiative, key_result=key_result)
    assert again.weight == Decimal(1)


def test_an_archived_link_comes_back_when_linked_again(
    admin: Actor, initiative: Initiative, key_result: KeyResult
) -> None:
    from django.utils import timezone

    old = InitiativeKeyResult.objects.create(
        organization_id=initiative.organization_id,
        initiative=initiative,
        key_result=key_result,
        archived_at=timezone.now(),
    )
    link = services.link_initiative(
        actor=admin, initiative=initiative, key_result=key_result, weight=Decimal(3)
    )
    assert link.pk == old.pk
    assert link.archived_at is None
    assert link.weight == Decimal(3)


# --- milestones ----------------------------------------------------------------------------


def test_create_and_complete_a_milestone(admin: Actor, initiative: Initiative) -> None:
    milestone = services.create_milestone(
        actor=admin, key="beta", name="Beta", date=date(2026, 11, 15), initiative=initiative
    )
    assert milestone.initiative_id == initiative.pk
    done = services.complete_milestone(actor=admin, milestone=milestone, done_on=date(2026, 11, 14))
    assert done.done_on == date(2026, 11, 14)
    [event] = _events("milestone.complete")
    assert event.before == {"done_on": None}
    assert event.after == {"done_on": "2026-11-14"}
    undone = services.update_milestone(actor=admin, milestone=done, changes={"done_on": None})
    assert undone.done_on is None


def test_completing_a_milestone_moves_its_key_result(
    admin: Actor, milestones_kr: KeyResult
) -> None:
    first = services.create_milestone(
        actor=admin, key="m1", name="M1", date=date(2026, 10, 15), key_result=milestones_kr
    )
    services.create_milestone(
        actor=admin,
        key="m2",
        name="M2",
        date=date(2026, 11, 15),
        key_result=milestones_kr,
        weight=Decimal(3),
    )
    milestones_kr.refresh_from_db()
    assert milestones_kr.progress == 0
    services.complete_milestone(actor=admin, milestone=first, done_on=date(2026, 10, 14))
    milestones_kr.refresh_from_db()
    assert milestones_kr.progress == Decimal("0.25")  # weight 1 of 4 done
    services.archive_milestone(actor=admin, milestone=first)
    milestones_kr.refresh_from_db()
    assert milestones_kr.progress == 0


def test_archive_and_restore_milestone(admin: Actor, org: Organization) -> None:
    milestone = factories.make_milestone(org, "ga")
    services.archive_milestone(actor=admin, milestone=milestone)
    with pytest.raises(NotFound):
        access_milestone(admin, milestone.pk)
    services.restore_milestone(
        actor=admin, milestone=access_milestone(admin, milestone.pk, include_archived=True)
    )
    assert access_milestone(admin, milestone.pk).archived_at is None


def test_milestones_of_an_archived_initiative_are_hidden(
    admin: Actor, initiative: Initiative, org: Organization
) -> None:
    milestone = factories.make_milestone(org, "beta", initiative=initiative)
    services.archive_initiative(actor=admin, initiative=initiative)
    with pytest.raises(NotFound):
        access_milestone(admin, milestone.pk)


# --- dependencies --------------------------------------------------------------------------


def test_add_update_and_remove_a_dependency(
    admin: Actor, org: Organization, initiative: Initiative
) -> None:
    launch = factories.make_milestone(org, "launch")
    dependency = services.add_dependency(
        actor=admin, predecessor=initiative, successor=launch, type="FF", lag_days=-2
    )
    assert (dependency.predecessor_initiative_id, dependency.successor_milestone_id) == (
        initiative.pk,
        launch.pk,
    )
    assert (dependency.type, dependency.lag_days) == ("FF", -2)
    [added] = _events("dependency.add")
    assert added.target_label == "checkout → launch"
    assert added.after is not None
    assert added.after["lag_days"] == -2

    services.update_dependency(actor=admin, dependency=dependency, changes={"lag_days": 3})
    assert Dependency.objects.get(pk=dependency.pk).lag_days == 3

    services.remove_dependency(actor=admin, dependency=dependency)
    assert not Dependency.objects.filter(pk=dependency.pk).exists()
    [removed] = _events("dependency.remove")
    assert removed.before is not None
    assert removed.before["lag_days"] == 3


def test_a_second_link_between_the_same_items_is_a_conflict(
    admin: Actor, org: Organization, initiative: Initiative, row_counts: Counts
) -> None:
    other = factories.make_initiative(org, "payments")
    services.add_dependency(actor=admin, predecessor=initiative, successor=other)
    before = row_counts()
    with pytest.raises(Conflict, match="already exists"):
        services.add_dependency(actor=admin, predecessor=initiative, successor=other, type="SS")
    assert row_counts() == before


def test_a_two_item_loop_is_refused(
    admin: Actor, org: Organization, initiative: Initiative, row_counts: Counts
) -> None:
    other = factories.make_initiative(org, "payments")
    services.add_dependency(actor=admin, predecessor=initiative, successor=other)
    before = row_counts()
    with pytest.raises(Conflict) as caught:
        services.add_dependency(actor=admin, predecessor=other, successor=initiative)
    assert caught.value.errors["loop"] == ["payments", "checkout"]
    assert "payments → checkout → payments" in caught.value.detail
    assert row_counts() == before


def test_a_long_loop_through_milestones_names_every_item_in_order(
    admin: Actor, org: Organization
) -> None:
    a = factories.make_initiative(org, "a")
    b = factories.make_milestone(org, "b")
    c = factories.make_initiative(org, "c")
    d = factories.make_milestone(org, "d")
    unrelated = factories.make_initiative(org, "z")
    factories.make_dependency(a, b)
    factories.make_dependency(b, c)
    factories.make_dependency(c, d)
    factories.make_dependency(unrelated, c)
    with pytest.raises(Conflict) as caught:
        services.add_dependency(actor=admin, predecessor=d, successor=a)
    assert caught.value.errors["loop"] == ["d", "a", "b", "c"]
    assert "d → a → b → c → d" in caught.value.detail
    # Not a loop: a second path into the same chain.
    services.add_dependency(actor=admin, predecessor=unrelated, successor=a)


def test_archived_dependencies_do_not_close_loops(admin: Actor, org: Organization) -> None:
    from django.utils import timezone

    a = factories.make_initiative(org, "a")
    b = factories.make_initiative(org, "b")
    factories.make_dependency(a, b, archived_at=timezone.now())
    services.add_dependency(actor=admin, predecessor=b, successor=a)


def test_dependencies_of_another_organization_are_not_seen(
    admin: Actor, org: Organization, other_org: Organization
) -> None:
    # The same keys in another organization, linked the other way, are no loop here.
    x, y = factories.make_initiative(other_org, "a"), factories.make_initiative(other_org, "b")
    factories.make_dependency(y, x)
    a, b = factories.make_initiative(org, "a"), factories.make_initiative(org, "b")
    services.add_dependency(actor=admin, predecessor=a, successor=b)
    assert Dependency.objects.filter(organization=org).count() == 1
