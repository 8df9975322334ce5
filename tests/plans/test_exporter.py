"""Plan export from the database: what it holds, in which order, and the commands."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from milepost.cli import main
from milepost.errors import NotFound
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.models import Organization, Role
from milepost.plans.exporter import export_plan, export_text, tidy_decimal
from milepost.plans.planfile import decode_plan_text, parse_plan_text
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task, TimeEntry
from tests import factories
from tests.plans.plan_texts import SMALL_PLAN

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan_org(org: Organization) -> Organization:
    """Rows written directly, out of key order, with what a plan file leaves out."""
    owner = factories.make_member(org, Role.MEMBER, "kim@acme.test")
    team = factories.make_team(org, "web", capacity_days_per_week=Decimal("12.50"))
    later = factories.make_cycle(
        org, "q4", start_date=date(2025, 10, 1), end_date=date(2025, 12, 31)
    )
    cycle = factories.make_cycle(org, "q3", start_date=date(2025, 7, 1), end_date=date(2025, 9, 30))
    zeta = factories.make_objective(cycle, "zeta", title="Zeta", owner_team=team, owner_user=owner)
    alpha = factories.make_objective(
        cycle, "alpha", title="Alpha", weight=Decimal("1.000"), description="Why it matters"
    )
    factories.make_objective(later, "next", title="Next quarter")
    factories.make_objective(cycle, "gone", title="Gone", archived_at=timezone.now())
    Alignment.objects.create(
        organization=org, child=zeta, parent_objective=alpha, weight=Decimal("0.500")
    )
    speed = factories.make_key_result(
        alpha,
        "speed",
        title="Speed",
        kind="decrease",
        start_value=Decimal("3.000000"),
        target_value=Decimal("1.500000"),
        due_date=date(2025, 9, 30),  # the cycle's end, written explicitly
        owner=owner,
    )
    factories.make_key_result(alpha, "a-first", title="Comes first")
    first = CheckIn.objects.create(
        organization=org,
        key_result=speed,
        value=Decimal("2.500000"),
        confidence=7,
        note="",
        recorded_at=timezone.now(),
        effective_date=date(2025, 7, 20),
    )
    CheckIn.objects.create(
        organization=org,
        key_result=speed,
        value=Decimal("2.400000"),
        note="Typo fixed",
        recorded_at=timezone.now(),
        effective_date=date(2025, 7, 20),
        corrects=first,
    )
    CheckIn.objects.create(
        organization=org,
        key_result=speed,
        value=Decimal("2"),
        recorded_at=timezone.now(),
        effective_date=date(2025, 7, 10),
        archived_at=timezone.now(),
    )
    initiative = factories.make_initiative(
        org, "cdn", title="CDN", team=team, actual_cost=Decimal("100.00"), status="in_progress"
    )
    InitiativeKeyResult.objects.create(organization=org, initiative=initiative, key_result=speed)
    task = Task.objects.create(organization=org, initiative=initiative, title="No key")
    Task.objects.create(
        organization=org, initiative=initiative, key="named", title="Named", status="done"
    )
    TimeEntry.objects.create(
        organization=org,
        task=task,
        initiative=initiative,
        user=owner,
        date=date(2025, 7, 2),
        hours=Decimal(3),
        cost=Decimal(300),
    )
    ms = Milestone.objects.create(
        organization=org, key="beta", name="Beta", date=date(2025, 8, 1), initiative=initiative
    )
    Dependency.objects.create(
        organization=org, predecessor_milestone=ms, successor_initiative=initiative
    )
    return org


def data_of(org: Organization, **kwargs: Any) -> Any:
    return decode_plan_text(export_text(org, **kwargs))


def test_the_export_is_a_valid_plan_file_in_key_order(plan_org: Organization) -> None:
    text = export_text(plan_org)
    parse_plan_text(text)
    data = decode_plan_text(text)

    assert [o["key"] for o in data["objectives"]] == ["alpha", "next", "zeta"]  # not "gone"
    assert [c["key"] for c in data["cycles"]] == ["q3", "q4"]  # by start date
    alpha = data["objectives"][0]
    assert [kr["key"] for kr in alpha["key_results"]] == ["a-first", "speed"]
    assert alpha["description"] == "Why it matters"
    assert "weight" not in alpha  # 1.000 is the default
    zeta = data["objectives"][2]
    assert (zeta["team"], zeta["owner"]) == ("web", "kim@acme.test")
    assert zeta["aligns_to"] == [{"objective": "alpha", "weight": Decimal("0.5")}]


def test_numbers_are_written_in_their_shortest_exact_form(plan_org: Organization) -> None:
    text = export_text(plan_org)

    assert "capacity_days_per_week: 12.5\n" in text
    speed = decode_plan_text(text)["objectives"][0]["key_results"][1]
    assert (str(speed["start"]), str(speed["target"])) == ("3", "1.5")
    assert "due" not in speed  # explicitly the cycle's end: the default
    assert [tidy_decimal(Decimal(v)) for v in ("0.000", "-0.0", "1E+3", "2.50")] == [
        Decimal(0),
        Decimal(0),
        Decimal(1000),
        Decimal("2.5"),
    ]
    assert str(tidy_decimal(Decimal("1E+3"))) == "1000"


def test_check_ins_are_the_history_the_engine_reads(plan_org: Organization) -> None:
    speed = decode_plan_text(export_text(plan_org))["objectives"][0]["key_results"][1]

    # The archived check-in is out; the correction replaces the one it corrects.
    assert speed["checkins"] == [
        {"date": "2025-07-20", "value": Decimal("2.4"), "note": "Typo fixed"}
    ]


def test_the_roadmap_holds_tasks_milestones_and_the_initiatives_own_cost(
    plan_org: Organization,
) -> None:
    data = data_of(plan_org)
    (cdn,) = data["initiatives"]
    task_id = Task.objects.get(key="").pk
    assert [t["key"] for t in cdn["tasks"]] == [f"task-{task_id}", "named"]
    assert cdn["actual_cost"] == Decimal(100)  # its own spend; logged time is not a plan field
    assert "logged_hours" not in cdn
    assert cdn["key_results"] == [{"key_result": "alpha/speed"}]
    assert data["milestones"] == [
        {"key": "beta", "name": "Beta", "date": "2025-08-01", "initiative": "cdn"}
    ]
    assert data["dependencies"] == [{"predecessor": "beta", "successor": "cdn"}]


def test_a_cycle_export_holds_that_cycle_and_leaves_links_outside_it_out(
    plan_org: Organization,
) -> None:
    data = data_of(plan_org, cycle_key="q4")

    assert [c["key"] for c in data["cycles"]] == ["q4"]
    assert [o["key"] for o in data["objectives"]] == ["next"]
    assert "initiatives" not in data
    with pytest.raises(NotFound):
        export_plan(plan_org, cycle_key="nope")


def test_the_export_is_deterministic_in_yaml_and_json(plan_org: Organization) -> None:
    assert export_text(plan_org) == export_text(plan_org)
    as_json = export_text(plan_org, fmt="json")
    assert json.loads(as_json)["version"] == 1
    assert decode_plan_text(as_json, "json") == decode_plan_text(export_text(plan_org))


def test_export_and_import_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "plan.yaml"
    source.write_text(SMALL_PLAN)

    assert main(["plan", "import", str(source), "--org", "initech", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "objectives: 2 created, 0 unchanged" in out
    assert "Dry run" in out
    assert not Organization.objects.filter(slug="initech").exists()

    assert main(["plan", "import", str(source), "--org", "initech"]) == 0
    assert "Imported into the new organization initech." in capsys.readouterr().out
    assert main(["plan", "import", str(source), "--org", "initech"]) == 0
    assert "Nothing to change" in capsys.readouterr().out

    target = tmp_path / "out.json"
    assert main(["plan", "export", "--org", "initech", "--output", str(target)]) == 0
    capsys.readouterr()
    assert target.read_text() == export_text(Organization.objects.get(slug="initech"), fmt="json")
    assert main(["plan", "export", "--org", "initech", "--cycle", "q3"]) == 0
    assert "key: q3" in capsys.readouterr().out
    assert main(["plan", "export", "--org", "nobody"]) == 2
    assert main(["plan", "export", "--org", "initech", "--cycle", "nope"]) == 2


def test_export_and_import_pause_the_cyclic_collector_and_restore_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Millions of long-lived objects at full size: a collection would rescan them again and
    # again (it doubled the export's time). The collector must be back on afterwards, and
    # after a failure too.
    import gc

    from milepost.plans import exporter, importer

    seen: list[bool] = []
    real_export, real_import = exporter.export_plan, importer.import_plan

    def export_plan(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_export(*args, **kwargs)

    def import_plan(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_import(*args, **kwargs)

    monkeypatch.setattr(exporter, "export_plan", export_plan)
    monkeypatch.setattr(importer, "import_plan", import_plan)
    source = tmp_path / "plan.yaml"
    source.write_text(SMALL_PLAN)
    assert gc.isenabled()
    assert main(["plan", "import", str(source), "--org", "initech"]) == 0
    assert gc.isenabled()
    assert main(["plan", "export", "--org", "initech"]) == 0
    assert gc.isenabled()
    assert main(["plan", "export", "--org", "initech", "--cycle", "nope"]) == 2
    assert gc.isenabled()
    assert seen == [False, False, False]
    capsys.readouterr()


def test_the_import_command_lists_errors_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_format = tmp_path / "bad.yaml"
    bad_format.write_text(SMALL_PLAN.replace("cycle: q3", "cycle: q9"))
    assert main(["plan", "import", str(bad_format), "--org", "initech"]) == 1
    err = capsys.readouterr().err
    assert f"{bad_format}: objectives[1].cycle: unknown cycle 'q9'" in err
    assert "nothing was imported" in err

    refused = tmp_path / "refused.yaml"
    refused.write_text(SMALL_PLAN.replace("2025-03-31", "2099-03-31"))
    assert main(["plan", "import", str(refused), "--org", "initech"]) == 3
    err = capsys.readouterr().err
    assert "objectives[0].key_results[0].checkins" in err
    assert not Organization.objects.filter(slug="initech").exists()
    assert main(["plan", "import", str(tmp_path / "missing.yaml"), "--org", "initech"]) == 2


def test_only_live_rows_of_the_organization_are_exported(
    plan_org: Organization, other_org: Organization
) -> None:
    cycle = factories.make_cycle(other_org, "q3")
    factories.make_objective(cycle, "theirs")
    Cycle.objects.filter(organization=plan_org, key="q4").update(archived_at=timezone.now())
    KeyResult.objects.filter(key="a-first").update(archived_at=timezone.now())
    Initiative.objects.filter(key="cdn").update(archived_at=timezone.now())

    data = data_of(plan_org)

    assert [o["key"] for o in data["objectives"]] == ["alpha", "zeta"]
    assert [kr["key"] for kr in data["objectives"][0]["key_results"]] == ["speed"]
    assert "initiatives" not in data
    assert Objective.objects.filter(key="theirs").exists()


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-plan.yaml"


def _export_then_check(slug: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Export `slug` with the command, then `plan check` the file: exit 0, no error line."""
    exported = tmp_path / f"{slug}.yaml"
    assert main(["plan", "export", "--org", slug, "--output", str(exported)]) == 0
    assert "does not pass" not in capsys.readouterr().err
    assert main(["plan", "check", str(exported), "--as-of", "2026-08-20"]) == 0
    out = capsys.readouterr().out
    assert ": error " not in out
    return out


def test_the_example_imported_then_exported_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example lists milestones app-beta and app-ga under two key results (launch counts
    them, signups steps at them); Milepost keeps each on launch, so the export has a stepped
    curve with no milestone: valid, with a warning."""
    assert main(["plan", "import", str(EXAMPLE), "--org", "acme-x"]) == 0
    assert "counts toward one key result" in capsys.readouterr().err  # the import warns
    out = _export_then_check("acme-x", tmp_path, capsys)
    assert "a stepped curve with no milestone is linear until milestones are listed" in out


def test_weights_of_zero_and_key_results_without_milestones_export_valid(
    plan_org: Organization, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every weight Milepost stores may be 0 ...
    Objective.objects.filter(organization=plan_org).update(weight=0)
    KeyResult.objects.filter(organization=plan_org).update(weight=0)
    Alignment.objects.filter(organization=plan_org).update(weight=0)
    InitiativeKeyResult.objects.filter(organization=plan_org).update(weight=0)
    Milestone.objects.filter(organization=plan_org).update(weight=0)
    assert InitiativeKeyResult.objects.filter(organization=plan_org).exists()
    assert Alignment.objects.filter(organization=plan_org).exists()
    # ... a milestones key result may have no milestone yet, a stepped curve none either.
    objective = Objective.objects.filter(organization=plan_org).order_by("key").first()
    assert objective is not None
    factories.make_key_result(objective, "to-plan", kind="milestones", target_value=Decimal(1))
    factories.make_key_result(objective, "stepped", curve="stepped", target_value=Decimal(9))
    out = _export_then_check(plan_org.slug, tmp_path, capsys)
    assert "a milestones key result with no milestone has progress 0" in out
    assert "a stepped curve with no milestone is linear" in out
    first = export_text(plan_org)
    assert "weight: 0\n" in first
    copy = tmp_path / "copy.yaml"
    copy.write_text(first)
    assert main(["plan", "import", str(copy), "--org", "zero-copy"]) == 0
    assert export_text(Organization.objects.get(slug="zero-copy")) == first


def test_an_export_the_format_refuses_is_written_with_a_warning(
    plan_org: Organization, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The database holds an alignment loop (written past the services, which refuse one; the
    # format refuses it too): the file is still written, and the command says where it breaks.
    alpha, zeta = (Objective.objects.get(organization=plan_org, key=k) for k in ("alpha", "zeta"))
    Alignment.objects.create(organization=plan_org, child=alpha, parent_objective=zeta)
    exported = tmp_path / "plan.json"
    assert main(["plan", "export", "--org", plan_org.slug, "--output", str(exported)]) == 0
    err = capsys.readouterr().err
    assert "warning: the export does not pass `milepost plan check`" in err
    assert "alignment loop" in err
    data = json.loads(exported.read_text())
    assert data["objectives"][0]["aligns_to"] == [{"objective": "zeta"}]


def test_check_ins_of_one_day_are_exported_in_the_order_they_were_recorded(
    plan_org: Organization,
) -> None:
    # Created (ids) in another order than recorded; a correction keeps its original's place.
    speed = KeyResult.objects.get(organization=plan_org, key="speed")
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    day = date(2025, 8, 1)

    def record(value: str, minutes: int, **extra: Any) -> CheckIn:
        return CheckIn.objects.create(
            organization=plan_org,
            key_result=speed,
            value=Decimal(value),
            recorded_at=noon + timedelta(minutes=minutes, microseconds=minutes),
            effective_date=day,
            **extra,
        )

    evening = record("1.9", 300)
    morning = record("2.2", -300)
    record("2.1", 0)
    record("2.3", 400, corrects=morning)  # the morning value, corrected in the night
    record("1.8", 301, corrects=evening)

    checkins = export_plan(plan_org).plan.key_results[1].checkins
    assert [(c.on, c.value) for c in checkins if c.on == day] == [
        (day, Decimal("2.3")),
        (day, Decimal("2.1")),
        (day, Decimal("1.8")),
    ]
