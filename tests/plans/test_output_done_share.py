"""The `output-without-outcome` threshold (`settings.output_done_share`) is an organization
setting: a plan file writes it, the organization keeps it, the live findings use it, and an
export writes it back byte for byte."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from milepost.organizations.models import Organization
from milepost.plans.document import format_path
from milepost.plans.exporter import export_text
from milepost.plans.importer import import_plan_text
from milepost.plans.planfile import parse_plan_text
from milepost.roadmap.engine_io import evaluate

pytestmark = pytest.mark.django_db

TASKS = "".join(
    f"      - {{key: t{i}, title: Task {i}, status: {'done' if i < 7 else 'todo'}}}\n"
    for i in range(10)
)

# An initiative with 7 of its 10 tasks done, serving a key result that is off track.
PLAN = f"""\
version: 1
organization:
  name: Share
  timezone: UTC
settings:
  output_done_share: 0.6
teams:
  - key: web
    name: Web
cycles:
  - key: y2025
    name: Year 2025
    start: 2025-01-01
    end: 2025-12-31
    state: active
objectives:
  - key: grow
    title: Grow
    cycle: y2025
    team: web
    key_results:
      - key: users
        title: Users from 0 to 100
        kind: increase
        start: 0
        target: 100
        checkins:
          - {{date: 2025-02-01, value: 1}}
initiatives:
  - key: launch
    title: Launch
    team: web
    status: in_progress
    start: 2025-01-01
    end: 2025-12-31
    key_results:
      - {{key_result: grow/users}}
    tasks:
{TASKS}"""

AS_OF = date(2025, 7, 1)


def _import(text: str, slug: str) -> Organization:
    result = import_plan_text(actor_or_none=None, text=text, organization_slug=slug)
    assert result.applied, [f"{format_path(i.path)}: {i.message}" for i in result.errors]
    assert not [w for w in result.warnings if "output_done_share" in format_path(w.path)]
    return Organization.objects.get(slug=slug)


def _output_findings(org: Organization) -> list[str]:
    _okr, roadmap = evaluate(org, as_of=AS_OF)
    return [f.message for f in roadmap.findings if f.code == "output-without-outcome"]


def test_the_imported_share_is_stored_and_used_by_the_findings() -> None:
    org = _import(PLAN, "share")

    assert org.output_done_share == Decimal("0.6")
    assert org.engine_settings().output_done_share == Decimal("0.6")
    assert len(_output_findings(org)) == 1  # 70% done counts as done at 0.6

    org.output_done_share = Decimal("0.8")  # the default: 70% is not "mostly done"
    org.save()
    assert _output_findings(org) == []


def test_the_share_round_trips_byte_identically() -> None:
    first = export_text(_import(PLAN, "share"))
    assert "output_done_share: 0.6\n" in first
    assert parse_plan_text(first).plan.settings.output_done_share == Decimal("0.6")

    copy = _import(first, "share-copy")

    assert copy.output_done_share == Decimal("0.6")
    assert export_text(copy) == first
    assert export_text(copy, fmt="json") == export_text(
        Organization.objects.get(slug="share"), fmt="json"
    )


def test_the_default_share_is_left_out_of_an_export() -> None:
    org = _import(PLAN.replace("  output_done_share: 0.6\n", ""), "plain")
    assert org.output_done_share == Decimal("0.8")
    assert "output_done_share" not in export_text(org)


def test_a_file_leaving_the_share_out_keeps_the_organizations_value() -> None:
    org = _import(PLAN, "share")
    again = _import(PLAN.replace("  output_done_share: 0.6\n", ""), "share")
    assert again.pk == org.pk
    assert again.output_done_share == Decimal("0.6")


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_a_share_out_of_range_is_refused_and_nothing_written(value: str) -> None:
    text = PLAN.replace("output_done_share: 0.6", f"output_done_share: {value}")
    result = import_plan_text(actor_or_none=None, text=text, organization_slug="bad")
    assert not result.applied
    assert "settings.output_done_share" in {format_path(i.path) for i in result.errors}
    assert not Organization.objects.filter(slug="bad").exists()
