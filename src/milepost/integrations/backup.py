"""``milepost backup`` and ``milepost restore``: a consistent snapshot of one organization or
of the whole instance, and putting it back into an empty database or organization.

A backup is a directory (or, when the name ends in ``.zip``, a zip file) holding:

* ``manifest.json``: the format version, when and from which database it was taken, its scope,
  the row count of every table, and the size and SHA-256 of every other file;
* ``plans/<slug>.yaml``: each organization's plan in the canonical plan-file format
  (`milepost.plans.exporter`), for people, for diffs, and to check a restore;
* ``data/<app>.<model>.jsonl``: every row of every table an organization owns (archived rows
  included), its members' accounts (with their password hashes) and memberships, the audit
  log, retrospectives, check-in history with corrections, time entries, data sources and
  webhooks, one JSON object per line, in primary-key order.

`backup` reads everything in one transaction (REPEATABLE READ, read only, on PostgreSQL; one
read transaction on SQLite), so the snapshot is consistent while the app keeps running.

`restore` first verifies every checksum and refuses (writing nothing) on any mismatch, missing
or unexpected file. It then writes everything in one transaction and checks, before
committing, that every table received the rows the manifest counts and that the restored
organizations export byte-identical plans to the ones in the backup; any difference rolls it
all back. Into an empty database, rows keep their ids (links and bookmarks keep working: this
is how an instance moves from SQLite to PostgreSQL). Into an existing database, one
organization is restored under a slug that is free (or names an empty organization), rows get
new ids, people are matched by email (new accounts never get staff or superuser rights), and
API tokens already used by this instance are skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from milepost.accounts.models import User
from milepost.integrations.backup_archive import (
    BACKUP_FORMAT,
    MANIFEST,
    ArchiveWriter,
    BackupError,
    Manifest,
    foreign_keys,
    json_line,
    label_of,
    milepost_version,
    read_manifest,
    tenant_models,
    to_json,
    unscoped_models,
)
from milepost.integrations.backup_restore import RestoreResult, organization_counts, restore
from milepost.organizations.models import Organization

_CHUNK = 2000

__all__ = [
    "BACKUP_FORMAT",
    "BackupError",
    "Manifest",
    "RestoreResult",
    "backup",
    "organization_counts",
    "read_manifest",
    "restore",
]


# --- backup --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """One read transaction: on PostgreSQL REPEATABLE READ and READ ONLY, so every table is
    read as of the same moment while the app keeps writing."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _rows(model: type[models.Model], query: models.QuerySet[Any]) -> Iterator[dict[str, Any]]:
    names = [f.attname for f in model._meta.concrete_fields]
    for values in query.order_by("pk").values_list(*names).iterator(chunk_size=_CHUNK):
        yield {name: to_json(value) for name, value in zip(names, values, strict=True)}


def backup(out: str | Path, *, organization_slug: str | None = None) -> Manifest:
    """Write a backup of one organization (``organization_slug``) or of the whole instance to
    `out` (a new directory, or a zip file when the name ends in ``.zip``); return its
    manifest. Raises `BackupError` for an unknown organization or an `out` that exists."""
    from milepost.plans.exporter import export_text

    out_path = Path(out)
    organization_model = Organization
    user_model = User
    with _snapshot():
        organizations = organization_model.objects.order_by("pk")
        if organization_slug is not None:
            organizations = organizations.filter(slug=organization_slug)
            if not organizations.exists():
                raise BackupError(f"no organization with the slug {organization_slug!r}")
        org_rows = list(organizations)
        org_ids = [o.pk for o in org_rows]
        writer = ArchiveWriter(out_path)
        try:
            counts: dict[str, int] = {}
            slugs = {o.pk: o.slug for o in org_rows}
            per_org: dict[str, dict[str, int]] = {slug: {} for slug in slugs.values()}
            user_ids: set[int] = set()
            for organization in org_rows:
                with writer.open(f"plans/{organization.slug}.yaml") as handle:
                    handle.write(export_text(organization).encode())
            tables: list[type[models.Model]] = [organization_model, *tenant_models()]
            for model in tables:
                query: models.QuerySet[Any]
                if model is organization_model:
                    query = organization_model.objects.filter(pk__in=org_ids)
                elif organization_slug is None:
                    query = model._default_manager.all()
                else:
                    query = model._default_manager.filter(organization_id__in=org_ids)
                user_fields = [
                    f.attname for f in foreign_keys(model) if f.related_model is user_model
                ]
                label = label_of(model)
                count = 0
                for table_counts in per_org.values():
                    table_counts[label] = 0
                org_attname = "id" if model is organization_model else "organization_id"
                with writer.open(f"data/{label}.jsonl") as handle:
                    for row in _rows(model, query):
                        for name in user_fields:
                            if row[name] is not None:
                                user_ids.add(row[name])
                        owner = slugs.get(row[org_attname])
                        if owner is not None:
                            per_org[owner][label] += 1
                        handle.write(json_line(row))
                        count += 1
                counts[label] = count
            users = user_model._default_manager.all()
            if organization_slug is not None:
                users = users.filter(pk__in=sorted(user_ids))
            count = 0
            with writer.open(f"data/{label_of(user_model)}.jsonl") as handle:
                for row in _rows(user_model, users):
                    handle.write(json_line(row))
                    count += 1
            counts[label_of(user_model)] = count
            manifest = Manifest(
                format=BACKUP_FORMAT,
                created_at=timezone.now().isoformat(),
                database=connection.vendor,
                milepost_version=milepost_version(),
                organization=organization_slug,
                organizations=[o.slug for o in org_rows],
                counts=dict(sorted(counts.items())),
                files=dict(sorted(writer.files.items())),
                organization_counts={slug: dict(sorted(c.items())) for slug, c in per_org.items()},
                not_backed_up=unscoped_models(),
            )
            with writer.open(MANIFEST) as handle:
                handle.write(manifest.to_json())
            writer.commit()
        except BaseException:
            writer.discard()
            raise
    return manifest
