"""Fixes from the new-user review: htmx refusals reach the page, a closed cycle's pages offer
no writes, true wording, API tokens capped at admin and created by POST-redirect-GET, plural
and zero wording, unknown ``?cycle=`` ids are 404."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse

from milepost.accounts.models import ApiToken
from milepost.okrs import services
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import CheckIn, KeyResult, Retrospective
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization, Role
from tests import factories
from tests.web.builders import Plan
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _html(response: HttpResponseBase) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


def _close(admin: Actor, plan: Plan) -> None:
    for objective in plan.objectives:
        services.skip_objective_retrospective(actor=admin, objective=objective)
    services.close_cycle(actor=admin, cycle=plan.cycle)


# --- 1. htmx: 422 is swapped, other refusals reach the message area ------------------------


def test_htmx_is_told_to_swap_422_and_treat_other_errors_as_errors(
    plan: Plan, member_client: Client
) -> None:
    html = _html(member_client.get(reverse("web:key-result-detail", args=[plan.key_result.pk])))
    match = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert match is not None
    config = json.loads(match.group(1))
    rules = config["responseHandling"]
    first_match = {
        code: next(r for r in rules if re.fullmatch(r["code"], code))
        for code in ("200", "204", "422", "403", "409", "500")
    }
    assert first_match["422"]["swap"] is True
    assert first_match["200"]["swap"] is True
    assert first_match["204"]["swap"] is False
    for code in ("403", "409", "500"):
        assert first_match[code] == {"code": "[45]..", "swap": False, "error": True}
    assert config["allowEval"] is False  # the CSP-safe settings stay


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"value": "lots", "confidence": "5"}, "value", "Enter a number."),
        ({"value": "10", "confidence": "11"}, "confidence", "less than or equal to 10"),
        ({"value": "10", "effective_date": "2001-01-01"}, "effective_date", ""),
        ({"value": "10", "effective_date": "31/02/2026"}, "effective_date", "valid date"),
    ],
)
def test_an_invalid_htmx_check_in_answers_422_with_the_errors_beside_the_fields(
    plan: Plan, member_client: Client, data: dict[str, str], field: str, message: str
) -> None:
    kr = plan.key_result
    before = CheckIn.objects.filter(key_result=kr).count()
    response = member_client.post(reverse("web:checkin-create", args=[kr.pk]), data, headers=HTMX)
    html = _html(response)
    assert response.status_code == 422
    assert 'id="checkin"' in html
    assert "<!doctype" not in html.lower()  # the form only: htmx swaps it into #checkin
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert errors is not None, html
    assert message in errors.group(1)
    assert CheckIn.objects.filter(key_result=kr).count() == before


def test_a_refused_htmx_check_in_carries_its_message_for_the_page(
    plan: Plan, member_client: Client, member: Actor
) -> None:
    kr = plan.key_result
    Membership.objects.filter(user=member.user).update(role=Role.VIEWER)
    response = member_client.post(
        reverse("web:checkin-create", args=[kr.pk]), {"value": "5"}, headers=HTMX
    )
    assert response.status_code == 403
    # app.js shows this element's text in the page's message area.
    assert re.search(r"<p data-error-message>[^<]*check in[^<]*</p>", _html(response))
    assert not CheckIn.objects.filter(key_result=kr, value=Decimal(5)).exists()


def test_app_js_swaps_nothing_else_silently() -> None:
    from pathlib import Path

    import milepost.web

    script = (Path(milepost.web.__file__).parent / "static" / "web" / "app.js").read_text()
    assert 'addEventListener("htmx:responseError"' in script
    assert 'addEventListener("htmx:sendError"' in script
    assert "[data-error-message]" in script


# --- 2. a closed cycle offers no writes ---------------------------------------------------


def test_a_closed_cycle_shows_no_check_in_edit_or_archive(
    admin: Actor, plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    live = _html(member_client.get(reverse("web:key-result-detail", args=[kr.pk])))
    assert 'id="checkin"' in live
    assert reverse("web:key-result-edit", args=[kr.pk]) in live
    assert 'data-testid="cycle-closed"' not in live

    _close(admin, plan)
    for client in (member_client, client_for(admin)):
        page = _html(client.get(reverse("web:key-result-detail", args=[kr.pk])))
        assert 'id="checkin"' not in page
        assert reverse("web:key-result-edit", args=[kr.pk]) not in page
        assert reverse("web:key-result-archive", args=[kr.pk]) not in page
        assert 'data-testid="cycle-closed"' in page
        assert "An owner of the organization can reopen it" in page
        objective = kr.objective
        page = _html(client.get(reverse("web:objective-detail", args=[objective.pk])))
        for name in ("objective-edit", "objective-archive", "objective-align"):
            assert reverse(f"web:{name}", args=[objective.pk]) not in page, name
        assert reverse("web:key-result-create") not in page
        assert 'data-testid="cycle-closed"' in page


def test_a_closed_cycle_still_refuses_the_writes_on_the_server(
    admin: Actor, plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    _close(admin, plan)
    count = CheckIn.objects.filter(key_result=kr).count()
    response = member_client.post(
        reverse("web:checkin-create", args=[kr.pk]), {"value": "77"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "is closed" in _html(response)
    edit = member_client.post(
        reverse("web:key-result-edit", args=[kr.pk]),
        {
            "title": "Renamed",
            "kind": "increase",
            "start_value": "0",
            "target_value": "100",
            "weight": "1",
            "curve": "linear",
        },
    )
    assert edit.status_code in {409, 422}
    member_client.post(reverse("web:key-result-archive", args=[kr.pk]))
    kr.refresh_from_db()
    assert kr.title != "Renamed"
    assert kr.archived_at is None
    assert CheckIn.objects.filter(key_result=kr).count() == count


# --- 3. the uncovered wording is true --------------------------------------------------------


def test_a_key_result_without_initiatives_is_described_truthfully(
    plan: Plan, member_client: Client
) -> None:
    objective = plan.objective
    plain = factories.make_key_result(objective, "plain", title="Plain one")
    by_milestones = factories.make_key_result(
        objective, "ms", title="Milestones", kind="milestones"
    )
    for kr in (plain, by_milestones):
        html = _html(member_client.get(reverse("web:key-result-detail", args=[kr.pk])))
        assert "flags this as an uncovered" not in html
        assert "No initiative is linked yet." in html
    milestones_page = _html(
        member_client.get(reverse("web:key-result-detail", args=[by_milestones.pk]))
    )
    assert "plan health does not ask for one" in milestones_page
    plain_page = _html(member_client.get(reverse("web:key-result-detail", args=[plain.pk])))
    assert "unless it is done, an objective aligns to it, or its cycle is closed" in plain_page


# --- 4. API tokens -------------------------------------------------------------------------


def test_the_token_form_offers_at_most_admin_and_never_above_the_user(
    owner_client: Client, member_client: Client, owner: Actor
) -> None:
    url = reverse("web:token-list")
    owner_page = _html(owner_client.get(url))
    assert '<option value="admin"' in owner_page
    assert '<option value="owner"' not in owner_page
    member_page = _html(member_client.get(url))
    assert '<option value="member"' in member_page
    assert '<option value="admin"' not in member_page
    for client in (owner_client, member_client):
        response = client.post(url, {"name": "escalate", "role": "owner"})
        assert response.status_code == 422
    assert member_client.post(url, {"name": "escalate", "role": "admin"}).status_code == 422
    assert not ApiToken.objects.filter(name="escalate").exists()


def test_a_new_token_is_shown_once_after_a_redirect(member_client: Client, member: Actor) -> None:
    url = reverse("web:token-list")
    response = member_client.post(url, {"name": "weekly export", "role": "viewer"})
    assert response.status_code == 302
    assert response["Location"] == url
    assert ApiToken.objects.filter(user=member.user).count() == 1
    shown = member_client.get(url)
    secret = re.search(r'id="new-token">([^<]+)</p>', _html(shown))
    assert secret is not None
    assert secret.group(1).startswith("mp_")
    assert "no-store" in shown["Cache-Control"]
    again = _html(member_client.get(url))
    assert secret.group(1) not in again
    assert 'id="new-token"' not in again
    assert ApiToken.objects.filter(user=member.user).count() == 1


# --- 5. polish -----------------------------------------------------------------------------


def test_counts_are_pluralised(plan: Plan, member_client: Client) -> None:
    response = member_client.get(reverse("web:dashboard") + f"?cycle={plan.cycle.pk}")
    errors = response.context["finding_counts"]["error"]
    html = _html(response)
    assert f"{errors} error{'' if errors == 1 else 's'}</span>" in html
    roadmap = _html(member_client.get(reverse("web:roadmap") + f"?cycle={plan.cycle.pk}"))
    bars = len(plan.initiatives)
    assert f"{bars} initiative{'' if bars == 1 else 's'}" in roadmap
    for template in ("dashboard", "roadmap", "alignment_tree", "cycle_roadmap_as_of"):
        from pathlib import Path

        import milepost.web

        source = (
            Path(milepost.web.__file__).parent / "templates" / "web" / f"{template}.html"
        ).read_text()
        assert not re.search(r"\}\} (errors|initiatives|objectives|findings)\b", source), template


def test_a_zero_score_is_shown_as_zero(admin: Actor, plan: Plan, member_client: Client) -> None:
    kr = plan.key_result
    Retrospective.objects.create(
        organization=plan.org, cycle=plan.cycle, key_result=kr, score=Decimal("0.0"), grade="missed"
    )
    html = _html(member_client.get(reverse("web:key-result-detail", args=[kr.pk])))
    assert "Score <strong>0.0</strong>" in html


def test_a_dependency_on_its_own_milestone_names_the_milestone(
    plan: Plan, member_client: Client
) -> None:
    initiative = plan.initiatives[-1]
    milestone = factories.make_milestone(
        plan.org, "own-ms", name="Beta ready", initiative=initiative
    )
    factories.make_dependency(initiative, milestone)
    html = _html(member_client.get(reverse("web:initiative-detail", args=[initiative.pk])))
    assert "Its milestone ◆ Beta ready waits for this initiative" in html
    waits = html.split("Waits for</h3>", 1)[1].split("Needed by</h3>", 1)[0]
    assert f">{initiative.title}</a>" not in waits


def test_the_roadmap_as_of_labels_its_line_with_the_date(
    plan: Plan, member_client: Client, org: Organization
) -> None:
    day = organization_today(org) - dt.timedelta(days=3)
    url = reverse("web:roadmap") + f"?cycle={plan.cycle.pk}"
    assert ">Today</text>" in _html(member_client.get(url))
    past = _html(member_client.get(f"{url}&as_of={day.isoformat()}"))
    assert ">Today</text>" not in past
    assert f">As of {day.day} {day:%b %Y}</text>" in past


def _without_csrf(html: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]*"', "", html)


def test_an_unknown_or_foreign_cycle_id_is_not_found(
    plan: Plan, member_client: Client, other_org: Organization
) -> None:
    foreign = factories.make_cycle(other_org, "theirs", name="Their quarter")
    archived = factories.make_cycle(plan.org, "gone", name="Gone quarter")
    archived.archived_at = archived.created_at
    archived.save()
    pages = ["dashboard", "roadmap", "objective-list", "initiative-list", "plan-health"]
    for name in pages:
        url = reverse(f"web:{name}")
        assert member_client.get(f"{url}?cycle={plan.cycle.pk}").status_code == 200, name
        answers = [
            member_client.get(f"{url}?cycle={wanted}")
            for wanted in (999_999, foreign.pk, archived.pk, "abc")
        ]
        assert {a.status_code for a in answers} == {404}, name
        bodies = {_without_csrf(_html(a)) for a in answers}
        assert len(bodies) == 1, name
        assert "Their quarter" not in bodies.pop()
    # No cycle asked for: the default, as before.
    assert member_client.get(reverse("web:dashboard")).status_code == 200
    assert KeyResult.objects.filter(objective__cycle=foreign).count() == 0
