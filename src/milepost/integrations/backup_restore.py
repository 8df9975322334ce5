"""Putting a backup back (`milepost.integrations.backup.restore`): rows inserted table by table
in dependency order, ids kept (an empty database) or mapped to new ones (one organization into
an existing database), then checked against the manifest's counts and the backup's plans
before the transaction commits."""

from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction

from milepost.accounts.models import User
from milepost.bulk_update import update_columns
from milepost.integrations.backup_archive import (
    Archive,
    BackupError,
    Manifest,
    backed_up_models,
    foreign_keys,
    insert_order,
    label_of,
    read_manifest,
    tenant_models,
)
from milepost.organizations.models import Organization

_BATCH = 500
# Tables that a restore into an existing organization keeps when they already have rows there.
_SKIPPABLE = {"organizations.membership", "organizations.teammember"}


@dataclass
class RestoreResult:
    """What a restore wrote."""

    manifest: Manifest
    organizations: list[str]  # slugs as restored
    kept_ids: bool  # rows kept their ids (an empty database)
    inserted: dict[str, int]
    skipped: dict[str, int]
    matched_users: int


class _Mismatch(Exception):
    pass


@contextlib.contextmanager
def _keep_timestamps() -> Iterator[None]:
    """Insert rows with their own created/updated times (auto_now fields would stamp now)."""
    changed: list[tuple[models.DateField[Any, Any], bool, bool]] = []
    for model in backed_up_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                changed.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in changed:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class _Restorer:
    def __init__(
        self,
        archive: Archive,
        manifest: Manifest,
        *,
        keep_ids: bool,
        only: str | None,
        slug: str | None,
    ) -> None:
        self.archive = archive
        self.manifest = manifest
        self.keep_ids = keep_ids
        self.only = only  # the backed-up slug of the one organization to restore
        self.slug = slug  # its slug here
        self.ids: dict[str, dict[int, int]] = defaultdict(dict)
        self.deferred_values: list[tuple[type[models.Model], int, str, str, int]] = []
        self.inserted: dict[str, int] = defaultdict(int)
        self.skipped: dict[str, int] = defaultdict(int)
        self.matched_users = 0
        self.organization_ids: list[int] = []
        self.model_names = {str(m._meta.model_name): label_of(m) for m in backed_up_models()}
        self.user_ids: set[int] | None = None  # the users to restore (None: all)
        self.users_in_backup = 0
        self.original_slugs: dict[int, str] = {}

    def rows(self, model: type[models.Model]) -> Iterator[dict[str, Any]]:
        with self.archive.open(f"data/{label_of(model)}.jsonl") as raw:
            for line in io.TextIOWrapper(raw, encoding="utf-8"):
                if line.strip():
                    yield json.loads(line)

    def run(self) -> None:
        order, deferred = insert_order(backed_up_models())
        self.deferred = deferred
        org_label = label_of(Organization)
        wanted_org_ids = self._wanted_org_ids()
        if wanted_org_ids is not None and self.manifest.organization is None:
            self.user_ids = self._referenced_users(wanted_org_ids)
        for model in order:
            label = label_of(model)
            if model is User:
                self._users(model)
            elif label == org_label:
                self._organizations(model, wanted_org_ids)
            else:
                self._table(model, wanted_org_ids)
        self._second_pass()
        if self.keep_ids:
            self._reset_sequences(order)

    def _wanted_org_ids(self) -> set[int] | None:
        if self.only is None:
            return None
        for row in self.rows(Organization):
            if row["slug"] == self.only:
                return {int(row["id"])}
        raise BackupError(f"the backup holds no organization {self.only!r}")

    def _referenced_users(self, org_ids: set[int]) -> set[int]:
        """The people one organization's rows point to (in an instance backup)."""
        user_model = User
        found: set[int] = set()
        for model in tenant_models():
            names = [f.attname for f in foreign_keys(model) if f.related_model is user_model]
            if not names:
                continue
            for row in self.rows(model):
                if row.get("organization_id") in org_ids:
                    found.update(int(row[n]) for n in names if row.get(n) is not None)
        return found

    def _users(self, model: type[models.Model]) -> None:
        label = label_of(model)
        existing = {
            email.lower(): pk for pk, email in model._default_manager.values_list("pk", "email")
        }
        batch: list[models.Model] = []
        for row in self.rows(model):
            old = int(row["id"])
            if self.user_ids is not None and old not in self.user_ids:
                continue
            self.users_in_backup += 1
            found = existing.get(str(row["email"]).lower())
            if found is not None:
                self.ids[label][old] = found
                self.matched_users += 1
                continue
            if not self.keep_ids:
                row = {**row, "is_staff": False, "is_superuser": False}
            batch.append(self._instance(model, row, old))
        self._insert(model, batch)

    def _organizations(self, model: type[models.Model], wanted: set[int] | None) -> None:
        label = label_of(model)
        batch: list[models.Model] = []
        for row in self.rows(model):
            old = int(row["id"])
            if wanted is not None and old not in wanted:
                continue
            original = str(row["slug"])
            if self.slug is not None:
                row = {**row, "slug": self.slug}
            current = model._default_manager.filter(slug=row["slug"]).first()
            if current is not None:  # an empty organization waiting for its data
                restored = self._instance(model, row, old)
                fields = [
                    f.attname
                    for f in model._meta.concrete_fields
                    if f.attname not in ("id", "slug", "created_at")
                ]
                model._default_manager.filter(pk=current.pk).update(
                    **{name: getattr(restored, name) for name in fields}
                )
                self.ids[label][old] = current.pk
                self.organization_ids.append(current.pk)
                self.original_slugs[current.pk] = original
                self.skipped[label] += 1
                continue
            instance = self._instance(model, row, old)
            instance._backup_slug = original  # type: ignore[attr-defined]
            batch.append(instance)
        self._insert(model, batch)
        for instance in batch:
            self.organization_ids.append(instance.pk)
            self.original_slugs[instance.pk] = instance._backup_slug  # type: ignore[attr-defined]

    def _table(self, model: type[models.Model], wanted: set[int] | None) -> None:
        label = label_of(model)
        org_attname = "organization_id"
        unique_hash = label == "accounts.apitoken" and not self.keep_ids
        hashes = (
            set(model._default_manager.values_list("token_hash", flat=True))
            if unique_hash
            else set()
        )
        existing_pairs: set[tuple[Any, ...]] = set()
        if label in _SKIPPABLE and not self.keep_ids:
            key = (
                ("organization_id", "user_id")
                if label.endswith("membership")
                else ("team_id", "user_id")
            )
            existing_pairs = set(
                model._default_manager.filter(
                    organization_id__in=self.organization_ids
                ).values_list(*key)
            )
        batch: list[models.Model] = []
        for row in self.rows(model):
            old_org = row.get(org_attname)
            if wanted is not None and (old_org is None or int(old_org) not in wanted):
                continue
            if unique_hash and row.get("token_hash") in hashes:
                self.skipped[label] += 1
                continue
            instance = self._instance(model, row, int(row["id"]))
            if existing_pairs:
                key_fields = (
                    ("organization_id", "user_id")
                    if label.endswith("membership")
                    else ("team_id", "user_id")
                )
                pair = tuple(getattr(instance, name) for name in key_fields)
                if pair in existing_pairs:
                    self.skipped[label] += 1
                    continue
            batch.append(instance)
            if len(batch) >= _BATCH * 4:
                self._insert(model, batch)
                batch = []
        self._insert(model, batch)

    def _instance(self, model: type[models.Model], row: dict[str, Any], old: int) -> models.Model:
        label = label_of(model)
        values: dict[str, Any] = {}
        for f in model._meta.concrete_fields:
            raw = row.get(f.attname)
            if f.primary_key:
                values[f.attname] = old if self.keep_ids else None
                continue
            if isinstance(f, models.ForeignKey) and raw is not None:
                target = label_of(f.related_model)
                if (label, f.name) in self.deferred:
                    self.deferred_values.append((model, old, f.attname, target, int(raw)))
                    values[f.attname] = None
                    continue
                mapped = (
                    self.ids[target].get(int(raw)) if target in self.ids or self.keep_ids else None
                )
                if mapped is None and self.keep_ids:
                    mapped = int(raw)
                if mapped is None and not f.null:
                    raise BackupError(f"{label}: row {old} points to a missing {target} ({raw})")
                values[f.attname] = mapped
                continue
            values[f.attname] = None if raw is None else f.to_python(raw)
        if label == "audit.auditevent" and not self.keep_ids:
            values["target_id"] = self._audit_target(row)
        if label == "work.task" and not self.keep_ids and not values.get("key"):
            # A task without a key is `task-<id>` in plan files; with a new id it keeps that
            # name as its key, so plans exported before the restore still find it.
            values["key"] = f"task-{old}"
        instance = model(**values)
        instance._backup_old_id = old  # type: ignore[attr-defined]
        return instance

    def _audit_target(self, row: dict[str, Any]) -> int | None:
        """An audit event's target id, moved with its row (the event's before/after values
        keep the ids of the source database)."""
        target = row.get("target_id")
        if target is None:
            return None
        label = self.model_names.get(str(row.get("target_type")))
        return self.ids[label].get(int(target), int(target)) if label else int(target)

    def _insert(self, model: type[models.Model], batch: list[models.Model]) -> None:
        if not batch:
            return
        label = label_of(model)
        if self.keep_ids or connection.features.can_return_rows_from_bulk_insert:
            model._default_manager.bulk_create(batch, batch_size=_BATCH)
        else:  # pragma: no cover - every supported back-end returns ids from a bulk insert
            for instance in batch:
                instance.save(force_insert=True)
        for instance in batch:
            self.ids[label][instance._backup_old_id] = instance.pk  # type: ignore[attr-defined]
        self.inserted[label] += len(batch)

    def _second_pass(self) -> None:
        by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        for model, old, attname, target, raw in self.deferred_values:
            new = self.ids[label_of(model)].get(old)
            mapped = self.ids[target].get(raw, raw if self.keep_ids else None)
            if new is None or mapped is None:
                continue
            instance = model(pk=new)
            setattr(instance, attname, mapped)
            instance._backup_field = attname  # type: ignore[attr-defined]
            by_model[model].append(instance)
        for model, instances in by_model.items():
            by_field: dict[str, list[models.Model]] = defaultdict(list)
            for instance in instances:
                by_field[instance._backup_field].append(instance)  # type: ignore[attr-defined]
            for attname, rows in by_field.items():
                name = next(f.name for f in model._meta.concrete_fields if f.attname == attname)
                update_columns(model, rows, [name])

    @staticmethod
    def _reset_sequences(order: Sequence[type[models.Model]]) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(order))
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def organization_counts(organization: models.Model) -> dict[str, int]:
    """Rows per table that an organization owns (what a backup of it counts, users aside)."""
    counts = {label_of(Organization): 1}
    for model in tenant_models():
        counts[label_of(model)] = model._default_manager.filter(
            organization_id=organization.pk
        ).count()
    return counts


def _instance_counts() -> dict[str, int]:
    return {label_of(m): m._default_manager.count() for m in backed_up_models()}


def _database_is_empty() -> bool:
    return not Organization._default_manager.exists() and not User._default_manager.exists()


def restore(
    source: str | Path,
    *,
    organization_slug: str | None = None,
    as_slug: str | None = None,
) -> RestoreResult:
    """Restore a backup (checked with `read_manifest` first; nothing is written if it does
    not match).

    * A whole-instance backup, with neither ``organization_slug`` nor ``as_slug``: into an
      empty database (no organization, no user), everything, ids kept.
    * One organization: ``organization_slug`` picks it (default: the backup's only one), and
      it is restored into this database as ``as_slug`` (default: its own slug), which must be
      free or name an organization with nothing in it.

    Raises `BackupError` when the target is not empty or the restored data does not match
    the backup (counts per table, and each organization's plan export); then nothing is
    written.
    """
    manifest = read_manifest(source)
    archive = Archive(Path(source))
    instance_backup = manifest.organization is None
    if instance_backup and organization_slug is None and as_slug is None:
        if not _database_is_empty():
            raise BackupError(
                "the database is not empty: restore a whole instance into a new database "
                "(run `milepost migrate` on it first), or restore one organization with --org"
            )
        keep_ids, only, slug = True, None, None
    else:
        only = organization_slug or manifest.organization
        if only is None:
            raise BackupError(
                f"the backup holds {len(manifest.organizations)} organizations: name the one "
                "to restore with --org"
            )
        if only not in manifest.organizations:
            raise BackupError(f"the backup holds no organization {only!r}")
        slug = as_slug or only
        keep_ids = False
        _require_empty_organization(slug)
    restorer = _Restorer(archive, manifest, keep_ids=keep_ids, only=only, slug=slug)
    before = _instance_counts()
    try:
        with transaction.atomic(), _keep_timestamps():
            restorer.run()
            _check(restorer, manifest, before)
    except _Mismatch as exc:
        raise BackupError(
            f"the restored data does not match the backup; nothing was restored:\n  {exc}"
        ) from None
    organization_model = Organization
    slugs = list(
        organization_model._default_manager.filter(pk__in=restorer.organization_ids)
        .order_by("pk")
        .values_list("slug", flat=True)
    )
    return RestoreResult(
        manifest=manifest,
        organizations=slugs,
        kept_ids=keep_ids,
        inserted=dict(restorer.inserted),
        skipped=dict(restorer.skipped),
        matched_users=restorer.matched_users,
    )


def _require_empty_organization(slug: str | None) -> None:
    if slug is None:
        raise BackupError("name the organization to restore with --org")
    organization = Organization._default_manager.filter(slug=slug).first()
    if organization is None:
        return
    busy = [
        label_of(m)
        for m in tenant_models()
        if label_of(m) not in _SKIPPABLE | {"audit.auditevent"}
        and m._default_manager.filter(organization_id=organization.pk).exists()
    ]
    if busy:
        raise BackupError(
            f"the organization {slug!r} is not empty (it has rows in {', '.join(busy[:5])}); "
            "restore into a new slug with --org"
        )


def _check(restorer: _Restorer, manifest: Manifest, before: dict[str, int]) -> None:
    """Before committing: every table got its rows, and each organization exports the plan
    the backup holds. Raises `_Mismatch` (rolling everything back) otherwise."""
    from milepost.plans.exporter import export_text

    problems: list[str] = []
    after = _instance_counts()
    user_label = label_of(User)
    if restorer.only is not None:
        expected_counts = dict(manifest.organization_counts.get(restorer.only, {}))
    else:
        expected_counts = {k: v for k, v in manifest.counts.items() if k != user_label}
    expected_counts[user_label] = restorer.users_in_backup - restorer.matched_users
    for label, count in sorted(expected_counts.items()):
        if label not in after:
            problems.append(f"{label}: no such table in this Milepost")
            continue
        written = after[label] - before.get(label, 0)
        expected = count - (restorer.skipped.get(label, 0) if label != user_label else 0)
        if written != expected:
            problems.append(f"{label}: {written} rows written, the backup has {expected}")
    organization_model = Organization
    for pk in restorer.organization_ids:
        organization = organization_model._default_manager.get(pk=pk)
        original = restorer.original_slugs.get(pk, restorer.only or manifest.organization or "")
        with restorer.archive.open(f"plans/{original}.yaml") as handle:
            expected_text = handle.read().decode()
        if export_text(organization) != expected_text:
            problems.append(
                f"{organization.slug}: its plan exported after the restore differs from the "
                "backup's"
            )
    if problems:
        raise _Mismatch("\n  ".join(problems))
