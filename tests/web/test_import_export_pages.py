"""The import and export pages: CSV of every list, plan files in and out, spreadsheets in."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from milepost.okrs.models import CheckIn, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.plans.exporter import export_text
from milepost.plans.planfile import decode_plan_text
from tests import factories
from tests.plans.plan_texts import SMALL_PLAN
from tests.web.builders import Plan, build_plan
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db

EXPORTS = (
    "web:export-objectives",
    "web:export-key-results",
    "web:export-checkins",
    "web:export-initiatives",
    "web:export-tasks",
    "web:export-teams",
    "web:export-findings",
    "web:export-priorities",
)


def rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def admin_client(admin: Actor) -> Client:
    return client_for(admin)


# --- CSV of lists ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORTS)
def test_every_list_downloads_as_csv_in_a_fixed_number_of_queries(
    name: str, plan: Plan, viewer_client: Client, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        response = viewer_client.get(reverse(name))
        table = rows(response)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert len(table) >= 2  # a header and rows
    assert all(len(row) == len(table[0]) for row in table)


def test_the_lists_hold_what_the_user_may_see(
    org: Organization, plan: Plan, member: Actor, member_client: Client, other_org: Organization
) -> None:
    hidden_team = factories.make_team(org, "secret")
    factories.make_objective(
        plan.cycle, "hidden", title="Hidden", owner_team=hidden_team, visibility="team"
    )
    elsewhere = build_plan(other_org, factories.make_member(other_org), size=1, title="Theirs")

    objectives = rows(member_client.get(reverse("web:export-objectives")))
    key_results = rows(member_client.get(reverse("web:export-key-results")))
    checkins = rows(member_client.get(reverse("web:export-checkins")))

    keys = [row[0] for row in objectives[1:]]
    assert keys == sorted(o.key for o in plan.objectives)  # not "hidden"
    assert len(key_results) - 1 == len(plan.key_results)
    assert all("Theirs" not in cell for row in objectives + key_results for cell in row)
    assert len(checkins) - 1 == CheckIn.objects.filter(organization=org).count()
    # Another organization's key result or initiative is not found.
    other_kr = elsewhere.key_results[0]
    other_initiative = elsewhere.initiatives[0]
    assert (
        member_client.get(reverse("web:export-checkins") + f"?key_result={other_kr.pk}").status_code
        == 404
    )
    assert (
        member_client.get(
            reverse("web:export-tasks") + f"?initiative={other_initiative.pk}"
        ).status_code
        == 404
    )


def test_one_key_results_check_ins_and_one_initiatives_tasks(
    plan: Plan, member_client: Client
) -> None:
    kr = plan.key_result
    table = rows(member_client.get(reverse("web:export-checkins") + f"?key_result={kr.pk}"))
    assert table[0][:5] == ["id", "objective", "key_result", "date", "value"]
    assert {row[2] for row in table[1:]} == {f"{kr.objective.key}/{kr.key}"}
    assert len(table) - 1 == CheckIn.objects.filter(key_result=kr).count()

    initiative = plan.initiative
    tasks = rows(member_client.get(reverse("web:export-tasks") + f"?initiative={initiative.pk}"))
    assert {row[0] for row in tasks[1:]} == {initiative.key}


def test_text_cells_cannot_run_as_formulas(plan: Plan, member_client: Client) -> None:
    Objective.objects.filter(pk=plan.objective.pk).update(title='=HYPERLINK("http://x")')

    table = rows(member_client.get(reverse("web:export-objectives")))

    assert '\'=HYPERLINK("http://x")' in [row[1] for row in table]


def test_downloads_need_a_signed_in_member(plan: Plan) -> None:
    response = Client().get(reverse("web:export-objectives"))
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


# --- plan files ----------------------------------------------------------------------------------


def test_admins_download_the_plan_as_yaml_or_json(
    org: Organization, plan: Plan, admin_client: Client, member_client: Client
) -> None:
    response = admin_client.get(reverse("web:plan-export"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{org.slug}-plan.yaml"'
    assert response.content.decode() == export_text(org)

    as_json = admin_client.get(reverse("web:plan-export") + f"?format=json&cycle={plan.cycle.key}")
    assert as_json.status_code == 200
    assert decode_plan_text(as_json.content.decode(), "json")["cycles"][0]["key"] == plan.cycle.key
    assert admin_client.get(reverse("web:plan-export") + "?cycle=nope").status_code == 404
    assert member_client.get(reverse("web:plan-export")).status_code == 403


def _upload(client: Client, url: str, name: str, text: str) -> Any:
    return client.post(url, {"action": "preview", "file": SimpleUploadedFile(name, text.encode())})


def _plan_for(org: Organization) -> str:
    # The small plan, without what only an owner may change (the organization's settings).
    return "version: 1\nteams:" + SMALL_PLAN.split("teams:", 1)[1].replace(
        "    owner: boss@initech.test\n", ""
    )


def test_a_plan_upload_shows_a_preview_then_imports_on_confirmation(
    org: Organization, admin: Actor, admin_client: Client
) -> None:
    assert admin_client.get(reverse("web:plan-import")).status_code == 200

    preview = _upload(admin_client, reverse("web:plan-import"), "plan.yaml", _plan_for(org))

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Import preview" in page
    assert "Import these changes" in page
    assert not Objective.objects.filter(organization=org).exists()  # a dry run
    token = preview.context["token"]

    done = admin_client.post(reverse("web:plan-import"), {"action": "confirm", "token": token})

    assert done.status_code == 302
    assert Objective.objects.filter(organization=org).count() == 2
    assert CheckIn.objects.filter(organization=org, source="import").count() == 4
    again = admin_client.post(reverse("web:plan-import"), {"action": "confirm", "token": token})
    assert again.status_code == 422  # the preview was used up


def test_a_plan_with_errors_lists_them_with_their_paths(
    org: Organization, admin_client: Client
) -> None:
    text = _plan_for(org).replace("cycle: q3", "cycle: q9")

    response = _upload(admin_client, reverse("web:plan-import"), "plan.yaml", text)

    assert response.status_code == 422
    page = response.content.decode()
    assert "objectives[1].cycle" in page
    assert "unknown cycle" in page
    assert "Import these changes" not in page
    unreadable = _upload(admin_client, reverse("web:plan-import"), "plan.yaml", "- a list\n")
    assert unreadable.status_code == 422
    assert "mapping" in unreadable.content.decode()


def test_only_admins_import_plans(member_client: Client, org: Organization) -> None:
    assert member_client.get(reverse("web:plan-import")).status_code == 403
    response = _upload(member_client, reverse("web:plan-import"), "plan.yaml", _plan_for(org))
    assert response.status_code == 403
    assert not Objective.objects.exists()


# --- spreadsheets --------------------------------------------------------------------------------


def test_a_spreadsheet_of_check_ins_is_previewed_then_imported(
    plan: Plan, member: Actor, member_client: Client
) -> None:
    kr = plan.key_result
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    text = f"key_result,date,value,note\n{kr.objective.key}/{kr.key},{day},77,From a sheet\n"

    page = member_client.get(reverse("web:csv-import"))
    assert page.status_code == 200
    assert reverse("web:csv-template-check-ins") in page.content.decode()
    preview = _upload(member_client, reverse("web:csv-import"), "values.csv", text)
    assert preview.status_code == 200
    assert "1 to add" in preview.content.decode()
    assert not CheckIn.objects.filter(note="From a sheet").exists()

    done = member_client.post(
        reverse("web:csv-import"), {"action": "confirm", "token": preview.context["token"]}
    )

    assert done.status_code == 302
    assert CheckIn.objects.get(note="From a sheet").source == "import"
    assert KeyResult.objects.get(pk=kr.pk).current_value == 77


def test_spreadsheet_errors_name_their_row_and_column(
    plan: Plan, member_client: Client, viewer_client: Client
) -> None:
    text = "key_result,date,value\nnope/kr,2025-01-01,x\n"

    response = _upload(member_client, reverse("web:csv-import"), "bad.csv", text)

    assert response.status_code == 422
    issues = [(i.row, i.column) for i in response.context["result"].errors]
    assert issues == [(2, "key_result"), (2, "value")]
    assert _upload(viewer_client, reverse("web:csv-import"), "bad.csv", text).status_code == 403
    latin1 = member_client.post(
        reverse("web:csv-import"),
        {"action": "preview", "file": SimpleUploadedFile("x.csv", "caf\xe9".encode("latin-1"))},
    )
    assert latin1.status_code == 422
    assert "UTF-8" in latin1.content.decode()


def test_csv_templates_download(plan: Plan, viewer_client: Client) -> None:
    for kind in ("key-results", "check-ins"):
        response = viewer_client.get(reverse(f"web:csv-template-{kind}"))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response.content.decode().startswith("\ufeff")
