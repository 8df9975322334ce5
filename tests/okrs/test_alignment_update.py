"""Changing an alignment link's weight (`update_alignment`): the parent's roll-up follows, the
audit event records before and after, and a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleVersion
from milepost.okrs import services
from milepost.okrs.models import Alignment, Cycle, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def parent(cycle: Cycle) -> Objective:
    return factories.make_objective(cycle, "company")


@pytest.fixture
def link(admin: Actor, objective: Objective, parent: Objective) -> Alignment:
    return services.align_objective(actor=admin, child=objective, parent_objective=parent)


def _stored(link: Alignment) -> tuple[Decimal, int]:
    row = Alignment.objects.get(pk=link.pk)
    return (row.weight, row.version)


def test_the_weight_changes_with_an_audit_event(team_member: Actor, link: Alignment) -> None:
    updated = services.update_alignment(
        actor=team_member, alignment=link, changes={"weight": "2.5"}, expected_version=1
    )
    assert updated.weight == Decimal("2.5")
    assert _stored(link) == (Decimal("2.5"), 2)
    [event] = AuditEvent.objects.filter(action="alignment.update", target_id=link.pk)
    assert event.before == {"weight": "1.000"}
    assert event.after == {"weight": "2.5"}


def test_the_parents_rollup_follows_the_new_weight(
    admin: Actor, org: Organization, cycle: Cycle
) -> None:
    org.rollup_mode = "children"
    org.save()
    parent = factories.make_objective(cycle, "company")
    done = factories.make_objective(cycle, "done")
    flat = factories.make_objective(cycle, "flat")
    kr_done = factories.make_key_result(done, "kr", start_value=Decimal(0), target_value=Decimal(1))
    factories.make_key_result(flat, "kr", start_value=Decimal(0), target_value=Decimal(1))
    heavy = services.align_objective(actor=admin, child=done, parent_objective=parent)
    services.align_objective(actor=admin, child=flat, parent_objective=parent)
    services.record_checkin(actor=admin, key_result=kr_done, value=Decimal(1))
    parent.refresh_from_db()
    assert parent.progress == Decimal("0.5")
    services.update_alignment(actor=admin, alignment=heavy, changes={"weight": Decimal(3)})
    parent.refresh_from_db()
    assert parent.progress == Decimal("0.75")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"weight": Decimal(-1)}, "weight", id="negative"),
        pytest.param({"weight": "heavy"}, "weight", id="not-a-number"),
        pytest.param({"weight": None}, "weight", id="null"),
        pytest.param({"weight": Decimal("Infinity")}, "weight", id="infinite"),
        pytest.param({"parent_objective": None}, "parent_objective", id="parent-cannot-change"),
        pytest.param({"child": None}, "child", id="child-cannot-change"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    admin: Actor, link: Alignment, changes: dict[str, Any], field: str
) -> None:
    before, events = _stored(link), AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as caught:
        services.update_alignment(actor=admin, alignment=link, changes=changes)
    assert field in caught.value.errors, caught.value.errors
    assert _stored(link) == before
    assert AuditEvent.objects.count() == events


def test_only_who_may_change_the_child_changes_the_weight(
    member: Actor, viewer: Actor, outsider: Actor, link: Alignment
) -> None:
    before = _stored(link)
    for actor in (member, viewer):
        with pytest.raises(PermissionDenied):
            services.update_alignment(actor=actor, alignment=link, changes={"weight": 2})
    with pytest.raises(NotFound):
        services.update_alignment(actor=outsider, alignment=link, changes={"weight": 2})
    assert _stored(link) == before


def test_a_stale_version_is_refused(admin: Actor, link: Alignment) -> None:
    services.update_alignment(actor=admin, alignment=link, changes={"weight": 2})
    with pytest.raises(StaleVersion):
        services.update_alignment(
            actor=admin, alignment=link, changes={"weight": 3}, expected_version=1
        )
    assert _stored(link) == (Decimal(2), 2)


def test_a_closed_cycles_links_do_not_change(admin: Actor, link: Alignment, cycle: Cycle) -> None:
    Cycle.objects.filter(pk=cycle.pk).update(state="closed")
    with pytest.raises(Conflict):
        services.update_alignment(actor=admin, alignment=link, changes={"weight": 2})
    assert _stored(link) == (Decimal(1), 1)
