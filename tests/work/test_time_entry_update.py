"""Correcting a time entry (`update_time_entry`): the rules of logging time hold for the new
values, the audit event records before and after, and a refusal changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from milepost.audit.models import AuditEvent
from milepost.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.roadmap.models import Initiative
from milepost.work import services
from milepost.work.models import Task, TimeEntry
from tests import factories

DAY = date(2026, 11, 2)


@pytest.fixture
def task(initiative: Initiative) -> Task:
    return factories.make_task(initiative, "Design the form")


@pytest.fixture
def entry(team_member: Actor, task: Task) -> TimeEntry:
    return services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(3), note="a")


def _stored(entry: TimeEntry) -> tuple[Any, ...]:
    row = TimeEntry.objects.get(pk=entry.pk)
    return (row.task_id, row.initiative_id, row.date, row.hours, row.cost, row.note, row.version)


def test_the_person_corrects_hours_date_and_note_with_an_audit_event(
    team_member: Actor, entry: TimeEntry
) -> None:
    updated = services.update_time_entry(
        actor=team_member,
        entry=entry,
        changes={"hours": Decimal("4.5"), "date": DAY - timedelta(days=1), "note": " review "},
        expected_version=entry.version,
    )
    row = TimeEntry.objects.get(pk=entry.pk)
    assert (row.hours, row.date, row.note, row.version) == (
        Decimal("4.5"),
        DAY - timedelta(days=1),
        "review",
        2,
    )
    assert updated.version == 2
    [event] = AuditEvent.objects.filter(action="timeentry.update", target_id=entry.pk)
    assert event.before == {"hours": "3.00", "date": DAY.isoformat(), "note": "a"}
    assert event.after is not None
    assert event.after["hours"] == "4.5"
    assert event.after["note"] == "review"


def test_moving_to_another_task_brings_its_initiative(
    admin: Actor, team_member: Actor, entry: TimeEntry, org: Organization
) -> None:
    elsewhere = factories.make_initiative(org, "billing")
    other_task = factories.make_task(elsewhere, "Invoice")
    services.update_time_entry(actor=admin, entry=entry, changes={"task": other_task})
    row = TimeEntry.objects.get(pk=entry.pk)
    assert (row.task_id, row.initiative_id) == (other_task.pk, elsewhere.pk)
    assert row.user_id == team_member.user_id  # still the person's time


def test_a_corrected_entry_replaces_its_own_hours_in_the_day(
    team_member: Actor, task: Task, entry: TimeEntry
) -> None:
    services.log_time(actor=team_member, task=task, date=DAY, hours=Decimal(20))
    # 20 h + this entry's 3 h: it may grow to 4 h (24 in all), not to 5.
    services.update_time_entry(actor=team_member, entry=entry, changes={"hours": Decimal(4)})
    before = _stored(entry)
    with pytest.raises(InvalidInput) as caught:
        services.update_time_entry(actor=team_member, entry=entry, changes={"hours": Decimal(5)})
    assert "hours" in caught.value.errors
    assert _stored(entry) == before


def test_moving_to_a_full_day_is_refused(team_member: Actor, task: Task, entry: TimeEntry) -> None:
    other_day = DAY - timedelta(days=3)
    services.log_time(actor=team_member, task=task, date=other_day, hours=Decimal(22))
    before = _stored(entry)
    with pytest.raises(InvalidInput) as caught:
        services.update_time_entry(actor=team_member, entry=entry, changes={"date": other_day})
    assert "hours" in caught.value.errors
    assert _stored(entry) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"hours": 0}, "hours", id="hours-zero"),
        pytest.param({"hours": Decimal("24.5")}, "hours", id="hours-over-a-day"),
        pytest.param({"hours": None}, "hours", id="hours-null"),
        pytest.param({"hours": "two"}, "hours", id="hours-not-number"),
        pytest.param({"cost": Decimal(-5)}, "cost", id="cost-negative"),
        pytest.param({"date": None}, "date", id="date-null"),
        pytest.param(
            {"date": timezone.localdate() + timedelta(days=2)}, "date", id="date-in-the-future"
        ),
        pytest.param({"note": "x" * 301}, "note", id="note-too-long"),
        pytest.param({"user": None}, "user", id="user-cannot-change"),
        pytest.param({"task": None}, "task", id="task-null"),
    ],
)
def test_update_time_entry_refuses_bad_input_and_changes_nothing(
    team_member: Actor, entry: TimeEntry, changes: dict[str, Any], field: str
) -> None:
    before = _stored(entry)
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as caught:
        services.update_time_entry(actor=team_member, entry=entry, changes=changes)
    assert field in caught.value.errors, caught.value.errors
    assert _stored(entry) == before
    assert AuditEvent.objects.count() == events


def test_no_move_onto_a_cancelled_initiatives_task(
    team_member: Actor, entry: TimeEntry, org: Organization
) -> None:
    cancelled = factories.make_initiative(org, "old", status="cancelled")
    other_task = factories.make_task(cancelled, "Leftover")
    before = _stored(entry)
    with pytest.raises(InvalidInput) as caught:
        services.update_time_entry(actor=team_member, entry=entry, changes={"task": other_task})
    assert "task" in caught.value.errors
    assert _stored(entry) == before


def test_no_move_onto_another_organizations_task(
    team_member: Actor, entry: TimeEntry, other_org: Organization
) -> None:
    foreign = factories.make_task(factories.make_initiative(other_org, "theirs"), "Theirs")
    before = _stored(entry)
    with pytest.raises(InvalidInput) as caught:
        services.update_time_entry(actor=team_member, entry=entry, changes={"task": foreign})
    assert "task" in caught.value.errors
    assert _stored(entry) == before


def test_only_the_person_or_an_admin_corrects_time(
    member: Actor, viewer: Actor, admin: Actor, outsider: Actor, entry: TimeEntry
) -> None:
    before = _stored(entry)
    for actor in (member, viewer):
        with pytest.raises(PermissionDenied):
            services.update_time_entry(actor=actor, entry=entry, changes={"hours": Decimal(1)})
    with pytest.raises(NotFound):
        services.update_time_entry(actor=outsider, entry=entry, changes={"hours": Decimal(1)})
    assert _stored(entry) == before
    services.update_time_entry(actor=admin, entry=entry, changes={"cost": Decimal(90)})
    assert TimeEntry.objects.get(pk=entry.pk).cost == Decimal(90)


def test_a_stale_version_is_refused(team_member: Actor, entry: TimeEntry) -> None:
    services.update_time_entry(actor=team_member, entry=entry, changes={"note": "first"})
    before = _stored(entry)
    with pytest.raises(StaleVersion):
        services.update_time_entry(
            actor=team_member, entry=entry, changes={"note": "second"}, expected_version=1
        )
    assert _stored(entry) == before
