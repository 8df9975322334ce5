"""Edit forms for what an initiative or objective page lists: a task, a milestone, a dependency,
a time entry, an alignment link's weight. Each shows the current values, saves through its
service and goes back, shows refusals beside the field with a 422 and changes nothing, refuses
a stale form, and is linked from the page that lists the item."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse

from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Alignment
from milepost.organizations.access import Actor
from milepost.roadmap.models import Dependency, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TimeEntry
from tests.web.builders import Plan

pytestmark = pytest.mark.django_db


def _error_beside(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def _value(html: str, field: str) -> str | None:
    """The value an <input name=field> is rendered with."""
    tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', html)
    if tag is None:
        return None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def _row(instance: models.Model) -> dict[str, Any]:
    fresh = type(instance)._default_manager.get(pk=instance.pk)
    return {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}


def _task(plan: Plan) -> Task:
    return Task.objects.get(initiative=plan.initiative, title="Task 0")


def _entry(plan: Plan) -> TimeEntry:
    return TimeEntry.objects.filter(initiative=plan.initiative).order_by("pk")[0]


def _milestone(plan: Plan) -> Milestone:
    return Milestone.objects.get(initiative=plan.initiative)


def _dependency(plan: Plan) -> Dependency:
    return Dependency.objects.get(predecessor_initiative=plan.initiative)


def _link(plan: Plan) -> InitiativeKeyResult:
    return InitiativeKeyResult.objects.get(initiative=plan.initiative)


def _alignment(plan: Plan) -> Alignment:
    return Alignment.objects.filter(child=plan.objective).order_by("pk")[0]


def test_the_pages_link_to_every_edit_form(plan: Plan, member_client: Client) -> None:
    html = member_client.get(reverse("web:initiative-detail", args=[plan.initiative.pk]))
    page = html.content.decode()
    assert reverse("web:task-edit", args=[_task(plan).pk]) in page
    assert reverse("web:milestone-edit", args=[_milestone(plan).pk]) in page
    assert reverse("web:dependency-edit", args=[_dependency(plan).pk]) in page
    assert reverse("web:time-entry-edit", args=[_entry(plan).pk]) in page
    assert reverse("web:initiative-link-edit", args=[_link(plan).pk]) in page
    objective = member_client.get(reverse("web:objective-detail", args=[plan.objective.pk]))
    assert reverse("web:alignment-edit", args=[_alignment(plan).pk]) in objective.content.decode()


def test_a_viewer_sees_no_edit_links_and_may_not_edit(plan: Plan, viewer_client: Client) -> None:
    page = viewer_client.get(reverse("web:initiative-detail", args=[plan.initiative.pk]))
    assert "/edit/" not in page.content.decode().replace(
        reverse("web:initiative-edit", args=[plan.initiative.pk]), ""
    )
    for name, pk in [
        ("web:task-edit", _task(plan).pk),
        ("web:milestone-edit", _milestone(plan).pk),
        ("web:dependency-edit", _dependency(plan).pk),
        ("web:time-entry-edit", _entry(plan).pk),
        ("web:alignment-edit", _alignment(plan).pk),
        ("web:initiative-link-edit", _link(plan).pk),
    ]:
        assert viewer_client.get(reverse(name, args=[pk])).status_code == 403, name
        assert viewer_client.post(reverse(name, args=[pk]), {}).status_code == 403, name


# --- tasks ---------------------------------------------------------------------------------


def test_edit_a_task(plan: Plan, member: Actor, member_client: Client) -> None:
    task = _task(plan)
    url = reverse("web:task-edit", args=[task.pk])
    html = member_client.get(url).content.decode()
    assert _value(html, "title") == "Task 0"
    assert _value(html, "version") == "1"
    due = organization_today(plan.org) + dt.timedelta(days=5)
    response = member_client.post(
        url,
        {
            "title": "Write the copy",
            "assignee": str(member.user_id),
            "estimate_hours": "6",
            "due_date": due.isoformat(),
            "status": "in_progress",
            "version": "1",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(
        reverse("web:initiative-detail", args=[plan.initiative.pk]) + "#tasks"
    )
    task.refresh_from_db()
    assert (task.title, task.estimate_hours, task.due_date, task.status, task.version) == (
        "Write the copy",
        Decimal(6),
        due,
        "in_progress",
        2,
    )


def test_a_task_without_a_title_is_refused_beside_the_field(
    plan: Plan, member_client: Client
) -> None:
    task = _task(plan)
    before = _row(task)
    response = member_client.post(
        reverse("web:task-edit", args=[task.pk]), {"title": "", "status": "todo", "version": "1"}
    )
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), "title")
    assert _row(task) == before


def test_a_stale_task_form_is_refused(plan: Plan, member_client: Client) -> None:
    task = _task(plan)
    Task.objects.filter(pk=task.pk).update(version=2)
    before = _row(task)
    response = member_client.post(
        reverse("web:task-edit", args=[task.pk]),
        {"title": "Mine", "status": "todo", "version": "1"},
    )
    assert response.status_code == 422
    assert "changed by someone else" in response.content.decode()
    assert _row(task) == before


# --- milestones ----------------------------------------------------------------------------


def test_edit_a_milestone(plan: Plan, member_client: Client) -> None:
    milestone = _milestone(plan)
    url = reverse("web:milestone-edit", args=[milestone.pk])
    html = member_client.get(url).content.decode()
    assert _value(html, "name") == milestone.name
    assert _value(html, "date") == milestone.date.isoformat()
    new_date = milestone.date + dt.timedelta(days=7)
    response = member_client.post(
        url, {"name": "Beta", "date": new_date.isoformat(), "weight": "2", "version": "1"}
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert (milestone.name, milestone.date, milestone.weight) == ("Beta", new_date, Decimal(2))


def test_a_milestone_done_in_the_future_is_refused_beside_the_date(
    plan: Plan, member_client: Client
) -> None:
    milestone = _milestone(plan)
    before = _row(milestone)
    future = organization_today(plan.org) + dt.timedelta(days=3)
    response = member_client.post(
        reverse("web:milestone-edit", args=[milestone.pk]),
        {
            "name": "Beta",
            "date": milestone.date.isoformat(),
            "done_on": future.isoformat(),
            "weight": "1",
            "version": "1",
        },
    )
    assert response.status_code == 422
    assert "future" in _error_beside(response.content.decode(), "done_on")
    assert _row(milestone) == before


# --- dependencies --------------------------------------------------------------------------


def test_edit_a_dependency(plan: Plan, member_client: Client) -> None:
    dependency = _dependency(plan)
    url = reverse("web:dependency-edit", args=[dependency.pk]) + f"?from={plan.initiative.pk}"
    html = member_client.get(url).content.decode()
    assert _value(html, "lag_days") == "0"
    assert re.search(r'<option value="FS" selected>', html)
    response = member_client.post(url, {"type": "SS", "lag_days": "3", "version": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith(
        reverse("web:initiative-detail", args=[plan.initiative.pk])
    )
    dependency.refresh_from_db()
    assert (dependency.type, dependency.lag_days) == ("SS", 3)


@pytest.mark.parametrize("lag", ["soon", "5000", ""])
def test_a_bad_lag_is_refused_beside_the_field(plan: Plan, member_client: Client, lag: str) -> None:
    dependency = _dependency(plan)
    before = _row(dependency)
    response = member_client.post(
        reverse("web:dependency-edit", args=[dependency.pk]),
        {"type": "FS", "lag_days": lag, "version": "1"},
    )
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), "lag_days")
    assert _row(dependency) == before


# --- time entries --------------------------------------------------------------------------


def test_correct_a_time_entry(plan: Plan, member_client: Client) -> None:
    entry = _entry(plan)
    other_task = Task.objects.get(initiative=plan.initiative, title="Done task")
    url = reverse("web:time-entry-edit", args=[entry.pk])
    html = member_client.get(url).content.decode()
    assert _value(html, "hours") == "3.00"
    assert _value(html, "date") == entry.date.isoformat()
    assert re.search(rf'<option value="{entry.task_id}" selected>', html)
    day = entry.date - dt.timedelta(days=1)
    response = member_client.post(
        url,
        {
            "task": str(other_task.pk),
            "date": day.isoformat(),
            "hours": "4.5",
            "note": "pairing",
            "version": "1",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#time")
    entry.refresh_from_db()
    assert (entry.task_id, entry.date, entry.hours, entry.note, entry.version) == (
        other_task.pk,
        day,
        Decimal("4.5"),
        "pairing",
        2,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"hours": "25"}, "hours", id="over-a-day"),
        pytest.param({"hours": ""}, "hours", id="missing"),
        pytest.param({"date": "3000-01-01"}, "date", id="future"),
        pytest.param({"task": "999999"}, "task", id="unknown-task"),
    ],
)
def test_a_bad_time_entry_correction_is_refused_beside_the_field(
    plan: Plan, member_client: Client, change: dict[str, str], field: str
) -> None:
    entry = _entry(plan)
    before = _row(entry)
    data = {
        "task": str(entry.task_id),
        "date": entry.date.isoformat(),
        "hours": "3",
        "note": "",
        "version": "1",
        **change,
    }
    response = member_client.post(reverse("web:time-entry-edit", args=[entry.pk]), data)
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), field)
    assert _row(entry) == before


def test_a_day_over_24_hours_is_refused_by_the_service(
    plan: Plan, member: Actor, member_client: Client
) -> None:
    entry = _entry(plan)
    TimeEntry.objects.create(
        organization=plan.org,
        task=entry.task,
        initiative=entry.initiative,
        user=entry.user,
        date=entry.date,
        hours=Decimal(20),
    )
    before = _row(entry)
    response = member_client.post(
        reverse("web:time-entry-edit", args=[entry.pk]),
        {"task": str(entry.task_id), "date": entry.date.isoformat(), "hours": "5", "version": "1"},
    )
    assert response.status_code == 422
    assert "at most 24" in _error_beside(response.content.decode(), "hours")
    assert _row(entry) == before


# --- alignment links -----------------------------------------------------------------------


def test_edit_an_alignment_weight(plan: Plan, member_client: Client) -> None:
    alignment = _alignment(plan)
    url = reverse("web:alignment-edit", args=[alignment.pk])
    html = member_client.get(url).content.decode()
    assert _value(html, "weight") == "1.000"
    response = member_client.post(url, {"weight": "2.5", "version": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith(reverse("web:objective-detail", args=[plan.objective.pk]))
    alignment.refresh_from_db()
    assert (alignment.weight, alignment.version) == (Decimal("2.5"), 2)


@pytest.mark.parametrize("weight", ["-1", "heavy", ""])
def test_a_bad_alignment_weight_is_refused_beside_the_field(
    plan: Plan, member_client: Client, weight: str
) -> None:
    alignment = _alignment(plan)
    before = _row(alignment)
    response = member_client.post(
        reverse("web:alignment-edit", args=[alignment.pk]), {"weight": weight, "version": "1"}
    )
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), "weight")
    assert _row(alignment) == before


# --- an initiative's links to key results --------------------------------------------------


def test_edit_an_initiative_link(plan: Plan, member_client: Client) -> None:
    link = _link(plan)
    url = reverse("web:initiative-link-edit", args=[link.pk])
    html = member_client.get(url).content.decode()
    assert _value(html, "weight") == "1.000"
    response = member_client.post(
        url, {"weight": "3", "expected_impact": "+20 points", "version": "1"}
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.weight, link.expected_impact, link.version) == (Decimal(3), "+20 points", 2)


def test_a_negative_link_weight_is_refused_beside_the_field(
    plan: Plan, member_client: Client
) -> None:
    link = _link(plan)
    before = _row(link)
    response = member_client.post(
        reverse("web:initiative-link-edit", args=[link.pk]), {"weight": "-2", "version": "1"}
    )
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), "weight")
    assert _row(link) == before
