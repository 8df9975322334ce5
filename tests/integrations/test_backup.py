"""Backup and restore: a consistent snapshot with checksums; a restore that refuses a damaged
backup and otherwise gives back the same plan and the same rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from milepost.accounts.models import ApiToken, User, hash_token
from milepost.audit.models import AuditEvent
from milepost.integrations.backup import (
    BackupError,
    backup,
    organization_counts,
    read_manifest,
    restore,
)
from milepost.integrations.backup_archive import backed_up_models, label_of
from milepost.okrs.models import CheckIn, Objective, Retrospective
from milepost.organizations.models import Organization, Role
from milepost.plans.exporter import export_text
from tests import factories
from tests.plans.plan_texts import SMALL_PLAN
from tests.web.builders import Plan, build_plan

pytestmark = pytest.mark.django_db
ON_POSTGRESQL = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def plan(org: Organization) -> Plan:
    owner = factories.make_member(org, Role.OWNER, "owner@acme.test")
    built = build_plan(org, owner, size=2)
    kr = built.key_result
    first = CheckIn.objects.filter(key_result=kr).order_by("pk").first()
    assert first is not None
    CheckIn.objects.create(  # a correction: history the plan file does not hold
        organization=org,
        key_result=kr,
        value=Decimal("9.5"),
        note="corrected",
        recorded_at=timezone.now(),
        effective_date=first.effective_date,
        corrects=first,
    )
    Retrospective.objects.create(
        organization=org, cycle=built.cycle, objective=built.objective, lessons="Start earlier."
    )
    Objective.objects.create(
        organization=org, cycle=built.cycle, key="old", title="Old", archived_at=timezone.now()
    )
    return built


def all_counts() -> dict[str, int]:
    return {label_of(m): m._default_manager.count() for m in backed_up_models()}


def test_an_organization_restores_into_a_new_one_with_the_same_plan_and_rows(
    org: Organization, plan: Plan, tmp_path: Path
) -> None:
    out = tmp_path / "acme-backup"
    manifest = backup(out, organization_slug=org.slug)

    result = restore(out, as_slug="acme-copy")

    copy = Organization.objects.get(slug="acme-copy")
    assert result.organizations == ["acme-copy"]
    assert not result.kept_ids
    assert export_text(copy) == export_text(org)
    assert organization_counts(copy) == organization_counts(org)
    assert manifest.organization_counts[org.slug] == dict(organization_counts(org).items())
    # Beyond the plan file: archived rows, corrections, retrospectives, timestamps, people.
    old = Objective.objects.get(organization=copy, key="old")
    assert old.archived_at == Objective.objects.get(organization=org, key="old").archived_at
    correction = CheckIn.objects.get(organization=copy, note="corrected")
    assert correction.corrects is not None
    assert correction.corrects.organization_id == copy.pk
    assert Retrospective.objects.get(organization=copy).lessons == "Start earlier."
    original = Objective.objects.get(organization=org, key=plan.objective.key)
    restored = Objective.objects.get(organization=copy, key=plan.objective.key)
    assert (restored.created_at, restored.owner_user) == (original.created_at, original.owner_user)
    assert result.matched_users == User.objects.filter(memberships__organization=org).count()
    event = AuditEvent.objects.filter(organization=copy, action="test.build").get()
    assert event.target_id == copy.pk  # moved with its target


def test_the_manifest_lists_every_file_with_its_checksum(
    org: Organization, plan: Plan, tmp_path: Path
) -> None:
    out = tmp_path / "backup.zip"

    manifest = backup(out, organization_slug=org.slug)

    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
    assert names == {"manifest.json", *manifest.files}
    assert f"plans/{org.slug}.yaml" in names
    assert "data/okrs.checkin.jsonl" in names
    assert manifest.counts["okrs.checkin"] == CheckIn.objects.filter(organization=org).count()
    assert (
        manifest.counts["accounts.user"]
        == User.objects.filter(memberships__organization=org).count()
    )
    assert all(len(f["sha256"]) == 64 for f in manifest.files.values())
    assert read_manifest(out) == manifest
    assert manifest.not_backed_up == []
    assert os.stat(out).st_mode & 0o077 == 0  # password hashes inside: owner only


@pytest.mark.parametrize(
    "damage",
    ["change a row", "remove a file", "add a file", "change the manifest"],
)
def test_a_damaged_backup_is_refused_and_nothing_is_written(
    org: Organization, plan: Plan, tmp_path: Path, damage: str
) -> None:
    out = tmp_path / "b"
    backup(out, organization_slug=org.slug)
    rows = out / "data" / "okrs.keyresult.jsonl"
    if damage == "change a row":
        rows.write_text(rows.read_text().replace('"target_value":"100', '"target_value":"900', 1))
    elif damage == "remove a file":
        rows.unlink()
    elif damage == "add a file":
        (out / "data" / "extra.jsonl").write_text("{}\n")
    else:
        manifest = json.loads((out / "manifest.json").read_text())
        manifest["files"]["data/okrs.keyresult.jsonl"]["sha256"] = "0" * 64
        (out / "manifest.json").write_text(json.dumps(manifest))
    before = all_counts()

    with pytest.raises(BackupError, match="does not match its manifest"):
        restore(out, as_slug="copy")

    assert all_counts() == before


def test_restore_needs_an_empty_target(org: Organization, plan: Plan, tmp_path: Path) -> None:
    out = tmp_path / "b"
    backup(out, organization_slug=org.slug)

    with pytest.raises(BackupError, match="not empty"):
        restore(out)  # its own slug, which is in use
    whole = tmp_path / "whole"
    backup(whole)
    with pytest.raises(BackupError, match="database is not empty"):
        restore(whole)
    with pytest.raises(BackupError, match="already exists"):
        backup(out)

    # An empty organization (just created, with its owner) takes the backup.
    factories.make_org("Waiting", "waiting")
    restore(out, as_slug="waiting")
    assert export_text(Organization.objects.get(slug="waiting")) == export_text(org)


def test_one_organization_out_of_an_instance_backup(
    org: Organization, plan: Plan, other_org: Organization, tmp_path: Path
) -> None:
    build_plan(other_org, factories.make_member(other_org), size=1, title="Theirs")
    out = tmp_path / "whole.zip"
    manifest = backup(out)
    assert set(manifest.organizations) == {org.slug, other_org.slug}

    with pytest.raises(BackupError, match="not empty"):
        restore(out, organization_slug=org.slug)  # into itself
    with pytest.raises(BackupError, match="no organization 'nope'"):
        restore(out, organization_slug="nope")

    result = restore(out, organization_slug=other_org.slug, as_slug="globex-copy")

    copy = Organization.objects.get(slug="globex-copy")
    assert result.organizations == ["globex-copy"]
    assert export_text(copy) == export_text(other_org)
    assert organization_counts(copy) == organization_counts(other_org)
    assert not Objective.objects.filter(organization=copy, title="Grow the company").exists()


def test_api_tokens_already_in_use_are_not_copied(
    org: Organization, plan: Plan, tmp_path: Path
) -> None:
    user = User.objects.get(email="owner@acme.test")
    ApiToken.objects.create(
        organization=org, user=user, name="ci", prefix="mp_x", token_hash=hash_token("x")
    )
    out = tmp_path / "b"
    backup(out, organization_slug=org.slug)

    result = restore(out, as_slug="copy")

    assert result.skipped == {"accounts.apitoken": 1}
    assert ApiToken.objects.count() == 1


# --- into a fresh database (another process, as an admin would run it) ------------------------


def _run(args: list[str], database_url: str, *, code: str | None = None) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "milepost.config.settings",
    }
    command = (
        [sys.executable, "-c", code] if code else [sys.executable, "-m", "milepost.cli", *args]
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_COUNTS = """
import json, django
django.setup()
from milepost.integrations.backup_archive import backed_up_models, label_of
print(json.dumps({label_of(m): m._default_manager.count() for m in backed_up_models()}))
"""


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the kind the tests run on."""
    if not ON_POSTGRESQL:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg

    params = connection.settings_dict
    name = f"milepost_drill_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"],
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        user = params["USER"]
        password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
        host = f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
        yield f"postgres://{user}{password}@{host}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _database_url() -> str:
    """The URL of the database the tests run on (for another process to read it)."""
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    host = f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    return f"postgres://{params['USER']}{password}@{host}/{params['NAME']}"


def _drill(org: Organization, tmp_path: Path, *, source_url: str | None = None) -> None:
    """Back up the instance (with the command when `source_url` is given), restore it into a
    fresh database with the command, and compare the plan export and the row counts."""
    out = tmp_path / "instance.zip"
    if source_url is None:
        manifest = backup(out)
    else:
        _run(["backup", str(out)], source_url)
        manifest = read_manifest(out)
    expected_plan = export_text(org)
    with fresh_database(tmp_path) as url:
        # No `milepost migrate` first: restore prepares a database without tables itself.
        restored = _run(["restore", str(out)], url)
        assert "Applying migrations" in restored
        assert "ids kept" in restored
        exported = _run(["plan", "export", "--org", org.slug], url)
        counts = json.loads(_run([], url, code=_COUNTS))
        # New rows get new ids after the restored ones (sequences were moved on).
        plan_file = tmp_path / "after.yaml"
        plan_file.write_text(SMALL_PLAN)
        _run(["plan", "import", str(plan_file), "--org", "after-restore"], url)
    assert exported == expected_plan
    assert counts == manifest.counts == all_counts()


@pytest.mark.skipif(ON_POSTGRESQL, reason="on PostgreSQL the demo drill below does this")
def test_an_instance_backup_restores_into_a_fresh_sqlite_database(
    org: Organization, plan: Plan, tmp_path: Path
) -> None:
    _drill(org, tmp_path)


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRESQL, reason="the backup drill runs on PostgreSQL (issue 10)")
@pytest.mark.django_db(transaction=True)
def test_backup_drill_demo_into_a_fresh_postgresql_database(tmp_path: Path) -> None:
    """Issue 10's drill: `milepost backup` of the demo on PostgreSQL (committed data, read by
    the command in its own REPEATABLE READ transaction), `milepost restore` into a fresh
    database, identical export and identical counts."""
    from milepost.demo.loader import load_demo

    demo = load_demo()
    _drill(demo, tmp_path, source_url=_database_url())
