"""The migration drill, run in a subprocess on a fresh SQLite database (the test suite's own
database cannot be migrated back and forth under it):

1. migrate, load the demo organization, count every table's rows;
2. migrate every app back to its first migration *with the demo data in place*, then forward
   again: every later migration is reversed and re-applied on real data, and no row is lost;
3. migrate every app to zero (every migration is reversible) and forward again.

Prints one JSON object: the steps run, the row counts before and after step 2, and the
migrations that exist. Usage: ``python -m tests.security.migration_drill``; the database is
``DATABASE_URL`` (a SQLite file).
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any


def _counts() -> dict[str, int]:
    from django.apps import apps

    return {
        m._meta.label: m._base_manager.count()
        for m in apps.get_models()
        if m._meta.managed and not m._meta.proxy
    }


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from milepost.demo.loader import load_demo

    quiet = io.StringIO()
    steps: list[str] = []
    call_command("migrate", interactive=False, verbosity=0, stdout=quiet)
    load_demo()
    before = _counts()
    steps.append("migrated and loaded the demo")

    loader = MigrationLoader(connection)
    ours = sorted(
        {app for app, _ in loader.disk_migrations if app in _project_apps()},
    )
    migrations: dict[str, list[str]] = {
        app: sorted(name for a, name in loader.disk_migrations if a == app) for app in ours
    }
    for app in reversed(ours):
        names = migrations[app]
        if len(names) > 1:
            call_command("migrate", app, names[0], interactive=False, verbosity=0, stdout=quiet)
            steps.append(f"{app}: back to {names[0]} with the demo data")
    call_command("migrate", interactive=False, verbosity=0, stdout=quiet)
    steps.append("forward again with the demo data")
    after = _counts()

    for app in reversed(ours):
        call_command("migrate", app, "zero", interactive=False, verbosity=0, stdout=quiet)
    steps.append("every app migrated to zero")
    with connection.cursor() as cursor:
        left = [
            t for t in connection.introspection.table_names(cursor) if t.split("_", 1)[0] in ours
        ]
    call_command("migrate", interactive=False, verbosity=0, stdout=quiet)
    steps.append("migrated forward from zero")
    result: dict[str, Any] = {
        "steps": steps,
        "before": before,
        "after": after,
        "tables_left_at_zero": left,
        "migrations": migrations,
        "empty_after_zero": all(n == 0 for label, n in _counts().items() if label in before),
    }
    print(json.dumps(result))
    return 0


def _project_apps() -> set[str]:
    from django.apps import apps

    return {a.label for a in apps.get_app_configs() if a.name.startswith("milepost.")}


if __name__ == "__main__":
    sys.exit(main())
