"""Plan import: all or nothing, by key, idempotent, every error with its path in the file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import NotFound, PermissionDenied
from milepost.okrs.engine_io import recompute_organization
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization, Role, Team
from milepost.plans.document import format_path
from milepost.plans.import_support import ImportResult
from milepost.plans.importer import import_plan_text
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task
from tests import factories
from tests.plans.plan_texts import SMALL_PLAN

pytestmark = pytest.mark.django_db

TABLES: tuple[type[Any], ...] = (
    Organization,
    Team,
    Cycle,
    Objective,
    KeyResult,
    CheckIn,
    Alignment,
    Initiative,
    InitiativeKeyResult,
    Milestone,
    Dependency,
    Task,
    Membership,
    AuditEvent,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def run(text: str, slug: str = "initech", **kwargs: Any) -> ImportResult:
    kwargs.setdefault("actor_or_none", None)
    return import_plan_text(text=text, organization_slug=slug, **kwargs)


def errors(result: ImportResult) -> list[str]:
    return [f"{format_path(i.path)}: {i.message}" for i in result.errors]


def test_import_creates_the_organization_and_every_item() -> None:
    result = run(SMALL_PLAN)

    assert result.ok
    assert result.applied
    assert result.created_organization
    org = Organization.objects.get(slug="initech")
    assert (org.name, org.timezone, org.stale_after_days) == ("Initech", "Europe/Berlin", 21)
    created = {kind: c.created for kind, c in result.counts.items()}
    assert created == {
        "organization": 1,
        "team": 2,
        "cycle": 2,
        "objective": 2,
        "key_result": 3,
        "alignment": 1,
        "initiative": 2,
        "link": 2,
        "milestone": 2,
        "dependency": 1,
        "task": 4,
        "checkin": 4,
    }
    web = Team.objects.get(organization=org, key="web")
    assert web.parent is not None
    assert web.parent.key == "company"
    assert web.capacity_days_per_week == Decimal("12.5")
    q3 = Cycle.objects.get(organization=org, key="q3")
    assert q3.state == "closed"  # applied last, once its check-ins were in
    site = Objective.objects.get(organization=org, key="site")
    assert (site.state, site.owner_team_id) == ("closed", web.pk)
    link = Alignment.objects.get(child=site)
    assert link.parent_key_result is not None
    assert link.parent_key_result.key == "arr"
    assert link.weight == Decimal("0.5")
    speed = KeyResult.objects.get(objective=site, key="speed")
    assert (speed.kind, speed.start_value, speed.target_value) == (
        "decrease",
        Decimal(3),
        Decimal("1.5"),
    )
    assert speed.current_value == Decimal("1.9")  # stored progress is up to date
    checkins = list(
        CheckIn.objects.filter(key_result__objective__key="grow").order_by("effective_date")
    )
    assert [(str(c.effective_date), c.value, c.source) for c in checkins] == [
        ("2025-03-31", Decimal(1100000), "import"),
        ("2025-06-30", Decimal(1250000), "import"),
    ]
    assert checkins[1].note == "Two deals slipped."
    redesign = Initiative.objects.get(organization=org, key="redesign")
    assert redesign.status == "cancelled"
    assert redesign.outcome_summary
    assert Task.objects.filter(initiative=redesign).count() == 2  # added before it was cancelled
    beta = Milestone.objects.get(organization=org, key="beta")
    assert beta.key_result is not None
    assert beta.key_result.key == "launch"
    assert str(beta.done_on) == "2025-08-22"
    cdn = Initiative.objects.get(organization=org, key="cdn")
    assert cdn.actual_cost == Decimal("4200.50")
    dependency = Dependency.objects.get(organization=org)
    assert (dependency.predecessor_initiative, dependency.successor_initiative) == (cdn, redesign)
    assert dependency.lag_days == 2
    assert recompute_organization(org) == (0, 0)  # the stored numbers equal a full recompute


def test_writes_go_through_the_services_with_audit_events() -> None:
    run(SMALL_PLAN)

    org = Organization.objects.get(slug="initech")
    actions = set(AuditEvent.objects.filter(organization=org).values_list("action", flat=True))
    assert {"objective.create", "keyresult.create", "checkin.record", "task.create"} <= actions
    assert {"initiative.create", "milestone.create", "dependency.add", "cycle.update"} <= actions
    labels = set(
        AuditEvent.objects.filter(organization=org)
        .exclude(action="organization.create")
        .values_list("actor_label", flat=True)
    )
    assert labels == {"plan import"}


def test_importing_the_same_file_again_changes_nothing() -> None:
    run(SMALL_PLAN)
    before = counts()

    again = run(SMALL_PLAN)

    assert again.ok
    assert again.applied
    assert not again.changed
    assert not again.changes
    assert all(c.changed == 0 for c in again.counts.values())
    assert again.counts["checkin"].unchanged == 4
    assert again.counts["task"].unchanged == 4
    assert counts() == before  # not one row, not one audit event more


def test_validation_errors_are_listed_with_their_paths_and_nothing_is_written() -> None:
    broken = (
        SMALL_PLAN.replace("cycle: q3", "cycle: q4")
        .replace("kind: decrease", "kind: shrink")
        .replace("{key_result: site/speed}", "{key_result: site/sped}")
    )
    before = counts()

    result = run(broken)

    assert not result.applied
    found = errors(result)
    assert any(e.startswith("objectives[1].cycle: unknown cycle 'q4'") for e in found)
    assert any(e.startswith("objectives[1].key_results[0].kind:") for e in found)
    assert any(
        e.startswith("initiatives[0].key_results[0].key_result: unknown key result 'site/sped'")
        for e in found
    )
    assert counts() == before
    assert not Organization.objects.filter(slug="initech").exists()


def test_a_refusal_by_the_database_rolls_everything_back_and_lists_every_error() -> None:
    # Valid plan files, but Milepost refuses: a check-in in the future, a binary key result
    # whose target is not 1, and a key with a dot (keys in the database are slugs).
    broken = (
        SMALL_PLAN.replace("2025-06-30, value: 1250000", "2099-06-30, value: 1250000")
        .replace("key: launch", "key: launch.v2")
        .replace(
            "      - key: arr\n",
            "      - key: done\n        title: Done\n        kind: binary\n"
            "        start: 0\n        target: 2\n      - key: arr\n",
        )
    )
    before = counts()

    result = run(broken)

    assert not result.applied
    assert not result.ok
    found = errors(result)
    assert any(e.startswith("objectives[0].key_results[0].target") for e in found), found
    assert any(e.startswith("objectives[0].key_results[1].checkins[1].date") for e in found), found
    assert any(e.startswith("objectives[1].key_results[1].key") for e in found), found
    assert counts() == before


def test_update_by_key_changes_only_what_differs() -> None:
    run(SMALL_PLAN)
    changed = SMALL_PLAN.replace("target: 1500000", "target: 1600000").replace(
        "      - {date: 2025-06-30, value: 1250000, confidence: 6, note: Two deals slipped.}\n",
        "      - {date: 2025-06-30, value: 1250000, confidence: 6, note: Two deals slipped.}\n"
        "          - {date: 2025-09-30, value: 1400000}\n",
    )

    result = run(changed)

    assert result.applied
    assert result.counts["key_result"].updated == 1
    assert result.counts["checkin"].created == 1
    assert result.counts["checkin"].unchanged == 4
    update = next(c for c in result.changes if c.kind == "key_result")
    assert update.key == "grow/arr"
    assert [(f.name, f.before, f.after) for f in update.fields] == [
        ("target", "1500000", "1600000")
    ]
    arr = KeyResult.objects.get(key="arr")
    assert (arr.target_value, arr.current_value) == (Decimal(1600000), Decimal(1400000))


def test_a_dry_run_reports_the_changes_and_writes_nothing() -> None:
    before = counts()

    result = run(SMALL_PLAN, dry_run=True)

    assert result.ok
    assert result.dry_run
    assert not result.applied
    assert result.changed
    assert result.counts["objective"].created == 2
    assert any(str(c) == "created objective grow" for c in result.changes)
    assert counts() == before


def test_links_to_items_outside_the_file_are_left_alone() -> None:
    run(SMALL_PLAN)
    org = Organization.objects.get(slug="initech")
    # A one-objective file: `site` without its alignment to grow/arr, which the file does not
    # list; and `cdn`'s links are the file's business only for key results it lists.
    only_site = """\
version: 1
cycles:
  - {key: q3, name: Q3 2025, start: 2025-07-01, end: 2025-09-30, state: closed}
teams:
  - {key: web, name: Web team, parent: company, capacity_days_per_week: 12.5}
  - {key: company, name: Initech}
objectives:
  - key: site
    title: A faster website
    cycle: q3
    team: web
    state: closed
"""
    result = run(only_site)

    assert result.applied, errors(result)
    assert Alignment.objects.filter(child__organization=org).count() == 1
    assert KeyResult.objects.filter(objective__key="site", archived_at__isnull=True).count() == 2


def test_an_alignment_the_file_drops_among_its_items_is_removed() -> None:
    run(SMALL_PLAN)
    without = SMALL_PLAN.replace(
        "    aligns_to:\n      - {key_result: grow/arr, weight: 0.5}\n", ""
    ).replace("state: closed\n    aligns_to", "state: closed\n    aligns_to")
    # The cycle is closed: changing its objectives is refused, with the objective's path.
    refused = run(without)
    assert not refused.applied
    assert Alignment.objects.count() == 1

    reopened = without.replace("    state: closed\nobjectives", "objectives").replace(
        "    state: closed\n    aligns", "    aligns"
    )
    reopened = reopened.replace("    end: 2025-09-30\n    state: closed\n", "    end: 2025-09-30\n")
    Cycle.objects.filter(key="q3").update(state="active")
    Objective.objects.filter(key="site").update(state="active")
    result = run(reopened.replace("    team: web\n    state: closed\n", "    team: web\n"))

    assert result.applied, errors(result)
    assert result.counts["alignment"].removed == 1
    assert not Alignment.objects.exists()


def test_an_archived_item_named_by_the_file_is_restored() -> None:
    run(SMALL_PLAN)
    Initiative.objects.filter(key="cdn").update(archived_at="2025-10-01T00:00:00Z")

    result = run(SMALL_PLAN)

    assert result.applied
    assert result.counts["initiative"].updated == 1
    assert Initiative.objects.get(key="cdn").archived_at is None


def test_settings_change_only_where_the_file_writes_them() -> None:
    org = factories.make_org(
        "Initech",
        "initech",
        stale_after_days=30,
        on_track_gap=Decimal("0.2"),
        at_risk_gap=Decimal("0.3"),
    )

    result = run(SMALL_PLAN)

    assert result.applied
    assert not result.created_organization
    org.refresh_from_db()
    assert org.stale_after_days == 21  # written in the file
    assert org.on_track_gap == Decimal("0.2")  # not written: kept
    assert org.timezone == "Europe/Berlin"


def test_people_are_found_by_email_added_as_members_or_left_out_with_a_warning() -> None:
    org = factories.make_org("Initech", "initech")
    outsider = factories.make_user("boss@initech.test")
    sam = factories.make_member(org, Role.MEMBER, "sam.jones@initech.test")
    sam.full_name = "Sam Jones"
    sam.save()
    text = SMALL_PLAN.replace(
        "{key: pick, title: Pick a vendor, status: done, estimate_hours: 4}",
        "{key: pick, title: Pick a vendor, status: done, estimate_hours: 4, assignee: Sam Jones}",
    ).replace(
        "{key: switch, title: Switch DNS, status: done, estimate_hours: 2.5}",
        "{key: switch, title: Switch DNS, status: done, estimate_hours: 2.5, assignee: nobody}",
    )

    result = run(text)

    assert result.applied, errors(result)
    grow = Objective.objects.get(key="grow")
    assert grow.owner_user == outsider  # a user of the instance, added as a member
    assert Membership.objects.filter(organization=org, user=outsider, role="member").exists()
    assert result.counts["member"].created == 1
    assert Task.objects.get(key="pick").assignee == sam  # a member, by full name
    assert Task.objects.get(key="switch").assignee is None
    assert [format_path(w.path) for w in result.warnings] == ["initiatives[0].tasks[1].assignee"]


def test_a_person_importing_must_be_an_admin_of_that_organization(
    org: Organization, admin: Actor, member: Actor, outsider: Actor
) -> None:
    with pytest.raises(PermissionDenied):
        run(SMALL_PLAN, slug=org.slug, actor_or_none=member)
    with pytest.raises(NotFound):
        run(SMALL_PLAN, slug=org.slug, actor_or_none=outsider)

    # An admin (not an owner) can neither change the settings nor add people.
    factories.make_user("boss@initech.test")
    refused = run(SMALL_PLAN, slug=org.slug, actor_or_none=admin)
    assert [format_path(i.path) for i in refused.errors] == [
        "organization.name",
        "objectives[0].owner",
    ]
    assert "does not allow you to change organization settings" in refused.errors[0].message

    plan_only = SMALL_PLAN.split("teams:", 1)[1].replace("    owner: boss@initech.test\n", "")
    allowed = run("version: 1\nteams:" + plan_only, slug=org.slug, actor_or_none=admin)
    assert allowed.applied, errors(allowed)
    assert (
        AuditEvent.objects.filter(
            organization=org, action="objective.create", actor_label="admin@acme.test"
        ).count()
        == 2
    )


def test_what_the_database_cannot_hold_is_reported_as_warnings() -> None:
    text = (
        SMALL_PLAN.replace("    budget: 5000\n", "    budget: 5000\n    logged_hours: 12\n")
        .replace(
            "        kind: increase\n        start: 1000000\n",
            "        kind: increase\n        window_start: 2025-02-01\n        start: 1000000\n",
        )
        .replace("settings:\n", "settings:\n  output_done_share: 0.5\n")
    )

    result = run(text)

    assert result.applied
    warned = {format_path(w.path) for w in result.warnings}
    assert warned >= {"objectives[0].key_results[0].window_start", "initiatives[0].logged_hours"}
    # The organization keeps output_done_share like every other setting: nothing to warn of.
    assert "settings.output_done_share" not in warned
    assert Organization.objects.get(slug="initech").output_done_share == Decimal("0.5")


def test_a_bare_engine_plan_imports_too() -> None:
    from milepost.plans.importer import import_plan
    from milepost.plans.planfile import parse_plan_text

    plan = parse_plan_text(SMALL_PLAN).plan

    result = import_plan(actor_or_none=None, document=plan, organization_slug="bare")

    assert result.applied, errors(result)
    assert Objective.objects.get(organization__slug="bare", key="grow").description == ""
    assert Task.objects.filter(organization__slug="bare").count() == 0  # tasks live in documents
