"""The pieces of a Milepost backup (`milepost.integrations.backup`): which tables, in which
order they can be written back, values as JSON, the archive (a directory or a zip file) and its
manifest with every file's SHA-256, and checking a backup against it."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from milepost.accounts.models import User
from milepost.organizations.models import Organization

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup cannot be written, read or restored; the message says why."""


# --- which tables -----------------------------------------------------------------------------


def label_of(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _org_field(model: type[models.Model]) -> models.Field[Any, Any] | None:
    """The model's ``organization`` relation, if it has one."""
    try:
        f = model._meta.get_field("organization")
    except FieldDoesNotExist:
        return None
    if isinstance(f, models.ForeignKey) and f.related_model is Organization:
        return f
    return None


def tenant_models() -> list[type[models.Model]]:
    """Every Milepost table whose rows belong to an organization (it has an ``organization``
    relation), in a stable order."""
    found = [
        m
        for m in apps.get_models()
        if m.__module__.startswith("milepost.") and not m._meta.proxy and _org_field(m) is not None
    ]
    return sorted(found, key=label_of)


def unscoped_models() -> list[str]:
    """Milepost tables a backup cannot scope to an organization (none today); listed in the
    manifest so that nothing is left out silently."""
    scoped = {label_of(m) for m in tenant_models()} | {
        label_of(Organization),
        label_of(User),
    }
    return sorted(
        label_of(m)
        for m in apps.get_models()
        if m.__module__.startswith("milepost.") and not m._meta.proxy and label_of(m) not in scoped
    )


def backed_up_models() -> list[type[models.Model]]:
    return [User, Organization, *tenant_models()]


def foreign_keys(model: type[models.Model]) -> list[models.ForeignKey[Any, Any]]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)]


def insert_order(
    chosen: Sequence[type[models.Model]],
) -> tuple[list[type[models.Model]], set[tuple[str, str]]]:
    """The tables in an order where each comes after the tables it points to, and the
    foreign keys set in a second pass (a table pointing to itself, or a loop through
    nullable keys)."""
    labels = {label_of(m): m for m in chosen}
    deferred: set[tuple[str, str]] = set()
    edges: dict[str, set[str]] = {label: set() for label in labels}
    for label, model in labels.items():
        for f in foreign_keys(model):
            target = label_of(f.related_model)
            if target == label:
                deferred.add((label, f.name))
            elif target in labels:
                edges[label].add(target)
    order: list[str] = []
    remaining = dict(edges)
    while remaining:
        ready = sorted(label for label, deps in remaining.items() if not deps & remaining.keys())
        if not ready:
            # A loop between tables: set its nullable keys afterwards.
            for label in sorted(remaining):
                for f in foreign_keys(labels[label]):
                    target = label_of(f.related_model)
                    if f.null and target in remaining:
                        deferred.add((label, f.name))
                        remaining[label] = remaining[label] - {target}
            if not any(not deps & remaining.keys() for deps in remaining.values()):
                raise BackupError(f"tables depend on each other in a loop: {sorted(remaining)}")
            continue
        order.extend(ready)
        for label in ready:
            del remaining[label]
    return [labels[label] for label in order], deferred


# --- values to JSON and back ---------------------------------------------------------------------


def to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview | bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def json_line(row: dict[str, Any]) -> bytes:
    return (
        json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode()


# --- archive: a directory or a zip file ----------------------------------------------------------


class Archive:
    """Where backup files go or come from: a directory, or a zip file (name ends in .zip)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_zip = path.suffix.lower() == ".zip"

    # reading
    def names(self) -> list[str]:
        if self.is_zip:
            with zipfile.ZipFile(self.path) as archive:
                return sorted(n for n in archive.namelist() if not n.endswith("/"))
        return sorted(
            p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
        )

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self.is_zip:
            with zipfile.ZipFile(self.path) as archive, archive.open(name) as handle:
                yield handle
        else:
            with (self.path / name).open("rb") as handle:
                yield handle


class ArchiveWriter:
    """Writes files into a temporary directory or zip, moved into place when complete."""

    def __init__(self, out: Path) -> None:
        if out.exists():
            raise BackupError(
                f"{out} already exists; choose a new name (backups are never overwritten)"
            )
        parent = out.parent if str(out.parent) else Path()
        if not parent.is_dir():
            raise BackupError(f"{parent} is not a directory")
        self.out = out
        self.is_zip = out.suffix.lower() == ".zip"
        self.files: dict[str, dict[str, Any]] = {}
        if self.is_zip:
            fd, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=parent)
            os.close(fd)
            self.tmp = Path(name)
            self.zip: zipfile.ZipFile | None = zipfile.ZipFile(
                self.tmp, "w", compression=zipfile.ZIP_DEFLATED
            )
        else:
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
            self.zip = None
        os.chmod(self.tmp, 0o600 if self.is_zip else 0o700)  # it holds password hashes

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[HashingWriter]:
        if self.zip is not None:
            raw: IO[bytes] = self.zip.open(name, "w", force_zip64=True)
        else:
            target = self.tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            raw = target.open("wb")
        writer = HashingWriter(raw)
        try:
            yield writer
        finally:
            raw.close()
        if name != MANIFEST:
            self.files[name] = {"sha256": writer.digest.hexdigest(), "bytes": writer.size}

    def commit(self) -> None:
        if self.zip is not None:
            self.zip.close()
        self.tmp.replace(self.out)

    def discard(self) -> None:
        if self.zip is not None:
            self.zip.close()
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


class HashingWriter:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self.digest.update(data)
        self.size += len(data)


# --- the manifest --------------------------------------------------------------------------------


@dataclass
class Manifest:
    """What a backup holds (``manifest.json``)."""

    format: int
    created_at: str
    database: str
    milepost_version: str
    organization: str | None  # the slug of a one-organization backup; None: the instance
    organizations: list[str]
    counts: dict[str, int]
    files: dict[str, dict[str, Any]]
    organization_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    not_backed_up: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        data = {
            "format": self.format,
            "created_at": self.created_at,
            "database": self.database,
            "milepost_version": self.milepost_version,
            "organization": self.organization,
            "organizations": self.organizations,
            "counts": self.counts,
            "files": self.files,
            "organization_counts": self.organization_counts,
            "not_backed_up": self.not_backed_up,
        }
        return (json.dumps(data, sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            return cls(
                format=int(data["format"]),
                created_at=str(data["created_at"]),
                database=str(data["database"]),
                milepost_version=str(data.get("milepost_version", "")),
                organization=data.get("organization"),
                organizations=[str(s) for s in data["organizations"]],
                counts={str(k): int(v) for k, v in data["counts"].items()},
                files={str(k): dict(v) for k, v in data["files"].items()},
                organization_counts={
                    str(slug): {str(k): int(v) for k, v in counts.items()}
                    for slug, counts in data.get("organization_counts", {}).items()
                },
                not_backed_up=[str(s) for s in data.get("not_backed_up", [])],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"{MANIFEST} is not a Milepost backup manifest ({exc})") from None


def milepost_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("milepost")
    except PackageNotFoundError:
        return "unknown"


# --- verifying -----------------------------------------------------------------------------------


def read_manifest(source: str | Path) -> Manifest:
    """Read a backup's manifest and verify every file against it: the same set of files,
    each with the size and SHA-256 the manifest gives. Raises `BackupError` (naming each
    problem) on any difference; reads, never writes."""
    archive = Archive(Path(source))
    if not archive.path.exists():
        raise BackupError(f"{source}: no such backup")
    try:
        names = archive.names()
        if MANIFEST not in names:
            raise BackupError(f"{source}: no {MANIFEST}: not a Milepost backup")
        with archive.open(MANIFEST) as handle:
            manifest = Manifest.from_json(handle.read())
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{source}: cannot read: {exc}") from None
    if manifest.format != BACKUP_FORMAT:
        raise BackupError(
            f"{source}: backup format {manifest.format}; this Milepost reads format {BACKUP_FORMAT}"
        )
    problems: list[str] = []
    present = set(names) - {MANIFEST}
    for name in sorted(set(manifest.files) - present):
        problems.append(f"{name}: missing")
    for name in sorted(present - set(manifest.files)):
        problems.append(f"{name}: not listed in the manifest")
    for name in sorted(present & set(manifest.files)):
        digest = hashlib.sha256()
        size = 0
        with archive.open(name) as handle:
            for block in iter(lambda handle=handle: handle.read(1 << 20), b""):  # type: ignore[misc]
                digest.update(block)
                size += len(block)
        expected = manifest.files[name]
        if digest.hexdigest() != expected.get("sha256") or size != expected.get("bytes"):
            problems.append(f"{name}: checksum mismatch (the file was changed or damaged)")
    if problems:
        raise BackupError(
            f"{source}: the backup does not match its manifest:\n  " + "\n  ".join(problems)
        )
    return manifest
