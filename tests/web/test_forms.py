"""Forms: validation shown beside the field, sensible defaults, services doing the writes,
and the check-in saved through htmx updating the page without a reload."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from milepost.audit.models import AuditEvent
from milepost.okrs.models import Alignment, CheckIn, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.roadmap.models import Initiative, InitiativeKeyResult
from tests.web.builders import Plan

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _error_beside(html: str, field: str) -> str:
    """The error list rendered right after the field's input, or ""."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def test_objective_form_defaults_to_the_active_cycle_my_team_and_me(
    plan: Plan, member: Actor, member_client: Client
) -> None:
    html = member_client.get(reverse("web:objective-create")).content.decode()
    assert re.search(rf'<option value="{plan.cycle.pk}" selected>', html)
    assert re.search(rf'<option value="{plan.team.pk}" selected>', html)
    assert re.search(rf'<option value="{member.user_id}" selected>', html)


def test_objective_without_a_title_is_refused_beside_the_field(
    plan: Plan, member_client: Client
) -> None:
    before = Objective.objects.count()
    response = member_client.post(
        reverse("web:objective-create"),
        {
            "title": "",
            "cycle": plan.cycle.pk,
            "visibility": "organization",
            "state": "active",
            "weight": "1",
        },
    )
    assert response.status_code == 422
    assert "required" in _error_beside(response.content.decode(), "title")
    assert 'aria-invalid="true"' in response.content.decode()
    assert Objective.objects.count() == before


def test_create_an_objective_aligned_to_a_parent(
    plan: Plan, member: Actor, member_client: Client
) -> None:
    company = plan.objectives[0]
    response = member_client.post(
        reverse("web:objective-create"),
        {
            "title": "Win the enterprise segment",
            "cycle": plan.cycle.pk,
            "owner_team": plan.team.pk,
            "owner_user": member.user_id,
            "visibility": "organization",
            "state": "active",
            "weight": "1",
            "parent": f"o:{company.pk}",
        },
    )
    created = Objective.objects.get(title="Win the enterprise segment")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:objective-detail", args=[created.pk])
    assert created.key == "win-the-enterprise-segment"
    assert Alignment.objects.filter(child=created, parent_objective=company).exists()
    assert AuditEvent.objects.filter(action="objective.create", target_id=created.pk).exists()


def test_key_result_whose_target_is_not_above_its_start_is_refused_on_the_target(
    plan: Plan, member_client: Client
) -> None:
    objective = plan.objective
    response = member_client.post(
        reverse("web:key-result-create") + f"?objective={objective.pk}",
        {
            "objective": objective.pk,
            "title": "Grow signups",
            "kind": "increase",
            "start_value": "100",
            "target_value": "50",
            "weight": "1",
            "curve": "linear",
            "maintain_direction": "at_least",
        },
    )
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), "target_value")
    assert not KeyResult.objects.filter(title="Grow signups").exists()


def test_add_two_key_results(plan: Plan, member_client: Client) -> None:
    objective = plan.objective
    for n, title in enumerate(["Signups from 100 to 300", "Churn from 5 to 3"]):
        data = {
            "objective": objective.pk,
            "title": title,
            "kind": "increase" if n == 0 else "decrease",
            "start_value": "100" if n == 0 else "5",
            "target_value": "300" if n == 0 else "3",
            "weight": "1",
            "curve": "linear",
            "maintain_direction": "at_least",
        }
        if n == 0:
            data["add_another"] = "1"
        response = member_client.post(reverse("web:key-result-create"), data)
        assert response.status_code == 302
    assert response["Location"] == reverse("web:objective-detail", args=[objective.pk])
    assert set(objective.key_results.values_list("title", flat=True)) >= {
        "Signups from 100 to 300",
        "Churn from 5 to 3",
    }


def test_checkin_with_htmx_returns_the_form_and_updates_progress_in_place(
    plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    response = member_client.post(
        reverse("web:checkin-create", args=[kr.pk]),
        {"value": "90", "confidence": "8", "note": "Big week"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    kr.refresh_from_db()
    assert kr.current_value == Decimal(90)
    assert CheckIn.objects.filter(key_result=kr, value=Decimal(90), note="Big week").exists()
    # The form comes back with a confirmation, and the summary, chart and history are swapped
    # out of band with the new numbers.
    assert (
        html.startswith('\n<section class="card checkin-form" id="checkin"')
        or 'id="checkin"' in html
    )
    assert "Check-in saved" in html
    assert (
        'id="kr-summary" aria-labelledby="kr-summary-heading" aria-live="polite" hx-swap-oob="true"'
        in html
    )
    assert 'id="kr-chart"' in html
    assert 'id="kr-history"' in html
    assert '<span class="kpi-value" id="kr-progress">90%</span>' in html
    assert "<!doctype" not in html.lower()


def test_checkin_with_an_invalid_confidence_is_refused_inline(
    plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    before = CheckIn.objects.filter(key_result=kr).count()
    response = member_client.post(
        reverse("web:checkin-create", args=[kr.pk]),
        {"value": "10", "confidence": "11"},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "less than or equal to 10" in _error_beside(response.content.decode(), "confidence")
    assert "hx-swap-oob" not in response.content.decode()
    assert CheckIn.objects.filter(key_result=kr).count() == before


def test_checkin_without_htmx_redirects_back_with_a_message(
    plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    response = member_client.post(
        reverse("web:checkin-create", args=[kr.pk]), {"value": "55"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("web:key-result-detail", args=[kr.pk])
    assert "Check-in saved. Progress" in response.content.decode()


def test_link_an_initiative_to_a_key_result(plan: Plan, member_client: Client) -> None:
    unaligned = plan.initiatives[-1]
    kr = plan.key_result
    response = member_client.post(
        reverse("web:initiative-link", args=[unaligned.pk]),
        {"key_result": kr.pk, "weight": "2", "expected_impact": "+20 points"},
    )
    assert response.status_code == 302
    link = InitiativeKeyResult.objects.get(initiative=unaligned, key_result=kr)
    assert link.weight == Decimal(2)


def test_closing_an_initiative_needs_its_summary(plan: Plan, member_client: Client) -> None:
    initiative = plan.initiative
    url = reverse("web:initiative-status", args=[initiative.pk])
    response = member_client.post(url, {"status": "done"})
    assert response.status_code == 422
    assert _error_beside(response.content.decode(), "delivered_summary")
    response = member_client.post(url, {"status": "done", "delivered_summary": "Shipped it"})
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == "done"
    assert initiative.closed_at is not None


def test_archiving_asks_first_and_can_be_undone(plan: Plan, member_client: Client) -> None:
    objective = plan.objective
    url = reverse("web:objective-archive", args=[objective.pk])
    confirm = member_client.get(url)
    assert confirm.status_code == 200
    assert "Archive objective" in confirm.content.decode()
    objective.refresh_from_db()
    assert objective.archived_at is None  # a GET never archives
    assert member_client.post(url).status_code == 302
    objective.refresh_from_db()
    assert objective.archived_at is not None
    listed = member_client.get(reverse("web:objective-list") + "?archived=1").content.decode()
    assert reverse("web:objective-restore", args=[objective.pk]) in listed
    assert (
        member_client.post(reverse("web:objective-restore", args=[objective.pk])).status_code == 302
    )
    objective.refresh_from_db()
    assert objective.archived_at is None


def test_create_initiative_defaults_and_key(
    plan: Plan, member: Actor, member_client: Client
) -> None:
    html = member_client.get(reverse("web:initiative-create")).content.decode()
    assert re.search(rf'<option value="{plan.team.pk}" selected>', html)
    response = member_client.post(
        reverse("web:initiative-create"),
        {
            "title": "Self-serve billing",
            "team": plan.team.pk,
            "owner": member.user_id,
            "cycle": plan.cycle.pk,
            "status": "planned",
            "start_date": plan.cycle.start_date.isoformat(),
            "end_date": plan.cycle.end_date.isoformat(),
            "effort_days": "10",
        },
    )
    assert response.status_code == 302
    assert Initiative.objects.get(title="Self-serve billing").key == "self-serve-billing"


def test_end_before_start_is_refused_beside_a_date(
    plan: Plan, member: Actor, member_client: Client
) -> None:
    response = member_client.post(
        reverse("web:initiative-create"),
        {
            "title": "Backwards",
            "team": plan.team.pk,
            "owner": member.user_id,
            "status": "planned",
            "start_date": "2026-05-10",
            "end_date": "2026-05-01",
            "effort_days": "1",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert _error_beside(html, "end_date") or _error_beside(html, "start_date")
    assert not Initiative.objects.filter(title="Backwards").exists()
