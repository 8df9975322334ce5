"""The cycle pages: state actions with confirmation, the close wizard (reflections, skips,
overrides, carry-over, closing), the report and its printable version, lessons, lineage and
baseline changes on the key-result page, the "as of" views, who may do what, and no inline
script or style anywhere (the Content-Security-Policy forbids them)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse

from milepost.okrs import services
from milepost.okrs.cycles import build_baseline
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Cycle, KeyResult, Objective, Retrospective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests import factories
from tests.web.builders import Plan
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"\sstyle=|<style", re.IGNORECASE)


def _html(response: HttpResponseBase) -> str:
    assert response.status_code == 200, response.status_code
    html: str = response.content.decode()  # type: ignore[attr-defined]
    assert not INLINE_SCRIPT.search(html), "inline script"
    assert not INLINE_STYLE.search(html), "inline style"
    return html


@pytest.fixture
def admin_client(admin: Actor) -> Client:
    return client_for(admin)


@pytest.fixture
def next_cycle(org: Organization, plan: Plan) -> Cycle:
    start = plan.cycle.end_date + timedelta(days=1)
    return factories.make_cycle(
        org, "next", name="Next quarter", start_date=start, end_date=start + timedelta(days=90),
        state="planning",
    )  # fmt: skip


def test_every_cycle_page_renders_for_a_member(
    member_client: Client, plan: Plan, next_cycle: Cycle
) -> None:
    cycle = plan.cycle
    html = _html(member_client.get(reverse("web:cycle-index")))
    assert "This quarter" in html
    assert "Next quarter" in html
    html = _html(member_client.get(reverse("web:cycle-detail", args=[cycle.pk])))
    assert "Changed from the baseline" in html
    assert "Activate" not in html  # members do not change cycles
    for name in ("web:cycle-report", "web:cycle-report-print"):
        _html(member_client.get(reverse(name, args=[cycle.pk])))
    _html(member_client.get(reverse("web:lessons") + "?q=anything"))
    _html(member_client.get(reverse("web:key-result-retrospective", args=[plan.key_result.pk])))
    _html(member_client.get(reverse("web:objective-retrospective", args=[plan.objective.pk])))


def test_activation_asks_for_confirmation_then_records_the_baseline(
    admin_client: Client, next_cycle: Cycle, plan: Plan
) -> None:
    factories.make_objective(next_cycle, "draft-goal", state="draft")
    url = reverse("web:cycle-activate", args=[next_cycle.pk])
    html = _html(admin_client.get(url))
    assert "recorded as the baseline" in html
    next_cycle.refresh_from_db()
    assert next_cycle.state == "planning"  # a GET changes nothing

    response = admin_client.post(url)

    assert response.status_code == 302
    next_cycle.refresh_from_db()
    assert next_cycle.state == "active"
    assert next_cycle.baseline is not None
    html = _html(admin_client.get(reverse("web:cycle-detail", args=[next_cycle.pk])))
    assert "the plan is as agreed" in html


def test_members_and_viewers_may_not_change_cycle_states(
    member_client: Client, viewer_client: Client, plan: Plan
) -> None:
    cycle = plan.cycle
    for client in (member_client, viewer_client):
        assert client.get(reverse("web:cycle-close", args=[cycle.pk])).status_code == 403
        assert client.post(reverse("web:cycle-close", args=[cycle.pk])).status_code == 403
        assert client.get(reverse("web:cycle-reopen", args=[cycle.pk])).status_code == 403
    cycle.refresh_from_db()
    assert cycle.state == "active"


def test_the_close_wizard_from_reflections_to_the_report(
    admin: Actor, admin_client: Client, member: Actor, plan: Plan, next_cycle: Cycle
) -> None:
    cycle = plan.cycle
    wizard = reverse("web:cycle-close", args=[cycle.pk])
    html = _html(admin_client.get(wizard))
    assert html.count("Write reflection") == len(plan.objectives)
    assert "disabled" in html  # nothing can close yet

    # Closing now is refused with the list of what is missing.
    response = admin_client.post(wizard, follow=True)
    assert "cannot close yet" in response.content.decode()

    # The member reflects on their objective; an override without a reason is refused.
    member_client = client_for(member)
    kr_form = reverse("web:key-result-retrospective", args=[plan.key_result.pk])
    refused = member_client.post(kr_form, {"grade_override": "achieved", "lessons": "x"})
    assert refused.status_code == 422
    assert "overriding the grade needs a reason code" in refused.content.decode()
    saved = member_client.post(
        kr_form,
        {"grade_override": "achieved", "reason_code": "target_wrong", "lessons": "Too ambitious."},
    )
    assert saved.status_code == 302
    reflection = member_client.post(
        reverse("web:objective-retrospective", args=[plan.objective.pk]),
        {"went_well": "Shipping weekly", "went_badly": "", "change_next": "Smaller targets"},
    )
    assert reflection.status_code == 302
    # The admin skips the rest.
    for objective in plan.objectives:
        if objective.pk != plan.objective.pk:
            skip = admin_client.post(
                reverse("web:objective-retrospective-skip", args=[objective.pk]),
                {"next": wizard},
            )
            assert skip.status_code == 302
            assert skip["Location"] == wizard

    # Carry two unfinished key results into the next cycle.
    carried = [kr.pk for kr in plan.key_results[1:3]]
    response = admin_client.post(
        reverse("web:cycle-carry-over", args=[cycle.pk]),
        {"key_results": carried, "target_cycle": next_cycle.pk, "next": wizard},
        follow=True,
    )
    assert "2 key results carried into Next quarter" in response.content.decode()
    assert (
        KeyResult.objects.filter(carried_from__in=carried, objective__cycle=next_cycle).count() == 2
    )

    html = _html(admin_client.get(wizard))
    assert "Every objective has its retrospective" in html
    response = admin_client.post(wizard)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:cycle-report", args=[cycle.pk])
    cycle.refresh_from_db()
    assert cycle.state == "closed"
    report = _html(admin_client.get(response["Location"]))
    assert "Confidence calibration" in report
    assert "Too ambitious." in report
    assert "Smaller targets" in report
    assert Retrospective.objects.filter(cycle=cycle, key_result__isnull=False).count() == len(
        plan.key_results
    )


def test_a_closed_cycle_refuses_check_ins_on_its_pages(
    admin: Actor, admin_client: Client, plan: Plan, owner: Actor
) -> None:
    for objective in plan.objectives:
        services.skip_objective_retrospective(actor=admin, objective=objective)
    services.close_cycle(actor=admin, cycle=plan.cycle)
    response = admin_client.post(
        reverse("web:checkin-create", args=[plan.key_result.pk]),
        {"value": "50", "confidence": "5", "effective_date": ""},
    )
    assert response.status_code == 422
    assert "is closed" in response.content.decode()
    # Only an owner reopens, after confirming.
    assert admin_client.get(reverse("web:cycle-reopen", args=[plan.cycle.pk])).status_code == 403
    owner_client = client_for(owner)
    url = reverse("web:cycle-reopen", args=[plan.cycle.pk])
    assert "Reopen" in _html(owner_client.get(url))
    assert owner_client.post(url).status_code == 302
    plan.cycle.refresh_from_db()
    assert plan.cycle.state == "active"


def test_the_key_result_page_shows_lineage_baseline_changes_and_retrospective(
    admin: Actor, member_client: Client, plan: Plan, next_cycle: Cycle
) -> None:
    # The plan as agreed (the builder's cycle is active without an activation).
    Cycle.objects.filter(pk=plan.cycle.pk).update(baseline=build_baseline(plan.cycle))
    kr = plan.key_result
    services.update_key_result(actor=admin, key_result=kr, changes={"target_value": Decimal(120)})
    [copy] = services.carry_over_key_results(actor=admin, key_results=[kr], target_cycle=next_cycle)

    origin = _html(member_client.get(reverse("web:key-result-detail", args=[kr.pk])))
    assert "Changed from the baseline" in origin
    assert "Target" in origin
    assert "120" in origin
    assert "Carried into" in origin
    assert reverse("web:key-result-detail", args=[copy.pk]) in origin
    assert "Write the retrospective" in origin
    later = _html(member_client.get(reverse("web:key-result-detail", args=[copy.pk])))
    assert "Carried over from" in later
    assert reverse("web:key-result-detail", args=[kr.pk]) in later
    objective_page = _html(
        member_client.get(reverse("web:objective-detail", args=[copy.objective_id]))
    )
    assert "Continues" in objective_page


def test_pages_as_of_a_past_date(
    admin: Actor, member_client: Client, plan: Plan, org: Organization
) -> None:
    today = organization_today(org)
    yesterday = (today - timedelta(days=1)).isoformat()
    services.update_objective(
        actor=admin, objective=plan.objective, changes={"title": "Renamed today"}
    )
    pages = {
        "objective": reverse("web:objective-detail", args=[plan.objective.pk]),
        "key result": reverse("web:key-result-detail", args=[plan.key_result.pk]),
        "tree": reverse("web:alignment-tree") + f"?cycle={plan.cycle.pk}",
        "roadmap": reverse("web:roadmap") + f"?cycle={plan.cycle.pk}",
    }
    for name, url in pages.items():
        live = _html(member_client.get(url))
        assert 'name="as_of"' in live, name  # the date picker
        sep = "&" if "?" in url else "?"
        past = _html(member_client.get(f"{url}{sep}as_of={yesterday}"))
        assert "As it stood at the end of" in past, name
        if name in {"objective", "tree"}:
            assert "Team objective 0" in past, name
            assert "Renamed today" not in past, name
    # A future or malformed date shows the live page; a malformed one says so.
    future = (today + timedelta(days=3)).isoformat()
    for bad, malformed in ((future, False), ("yesterday", True), ("1800-01-01", True)):
        html = _html(member_client.get(f"{pages['objective']}?as_of={bad}"))
        assert "As it stood" not in html
        assert "Renamed today" in html
        assert ("is not a date from 1900 on" in html) == malformed, bad
    # A day before the key result existed.
    created = services.create_key_result(
        actor=admin,
        objective=plan.objective,
        key="new",
        title="Brand new",
        kind="increase",
        start_value=Decimal(0),
        target_value=Decimal(1),
    )
    html = _html(
        member_client.get(
            reverse("web:key-result-detail", args=[created.pk]) + f"?as_of={yesterday}"
        )
    )
    assert "did not exist" in html


def test_lessons_search(admin: Actor, member_client: Client, plan: Plan) -> None:
    services.record_objective_reflection(
        actor=admin,
        objective=plan.objective,
        went_well="The onboarding revamp",
        went_badly="",
        change_next="",
    )
    html = _html(member_client.get(reverse("web:lessons") + "?q=onboarding"))
    assert "The onboarding revamp" in html
    html = _html(member_client.get(reverse("web:lessons") + "?q=nothing-like-this"))
    assert "No lessons written match" in html


def test_a_new_cycle_from_this_one(admin_client: Client, plan: Plan) -> None:
    Objective.objects.filter(pk=plan.objective.pk).update(recurring=True)
    url = reverse("web:cycle-from-template", args=[plan.cycle.pk])
    html = _html(admin_client.get(url))
    assert "Team objective 0" in html
    start: date = plan.cycle.end_date + timedelta(days=1)
    response = admin_client.post(
        url,
        {
            "name": "Following",
            "key": "following",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=60)).isoformat(),
        },
    )
    assert response.status_code == 302
    new = Cycle.objects.get(key="following")
    assert new.state == "planning"
    assert list(Objective.objects.filter(cycle=new).values_list("carried_from", flat=True)) == [
        plan.objective.pk
    ]
    bad = admin_client.post(url, {"name": "Bad", "key": "following", "start_date": "x"})
    assert bad.status_code == 422


def test_recurring_toggle(member_client: Client, plan: Plan) -> None:
    url = reverse("web:objective-recurring", args=[plan.objective.pk])
    assert member_client.post(url).status_code == 302
    plan.objective.refresh_from_db()
    assert plan.objective.recurring
    html = _html(member_client.get(reverse("web:cycle-detail", args=[plan.cycle.pk])))
    assert "↻ recurs" in html
