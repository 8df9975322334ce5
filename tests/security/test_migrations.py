"""Migrations: the models and the migrations agree, and every migration applies forward on a
database holding the demo data and is reversible (see migration_drill.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_models_need_no_new_migration() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"makemigrations --check found changes:\n{out.getvalue()} ({exc})")


def test_every_migration_is_reversible_on_the_demo_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'drill.sqlite3'}",
        MILEPOST_VAR_DIR=str(tmp_path),
        MILEPOST_TESTING="1",
        DJANGO_SETTINGS_MODULE="milepost.config.settings",
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.security.migration_drill"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["before"]["okrs.KeyResult"] > 0, "the demo data was not loaded"
    assert report["after"] == report["before"], "rows lost migrating back and forth"
    assert report["tables_left_at_zero"] == []
    several = [app for app, names in report["migrations"].items() if len(names) > 1]
    assert len(report["steps"]) == 4 + len(several)
