"""What a plan import reports, and where each item sits in the file.

`ImportResult` is what `milepost.plans.importer.import_plan` returns: every error and warning
with its path in the file, the changes (for the web preview), and per kind of item how many
were created, updated, removed and left unchanged. `FileLocator` finds an item's path in the
plan data from its key, so an error raised by a service while writing an item is reported
where the item is written in the file. Pure Python: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from milepost.plans.document import IssuePath, PlanIssue, format_path

# Kinds of item, in the order a report lists them.
KINDS: tuple[tuple[str, str], ...] = (
    ("organization", "organization"),
    ("member", "members"),
    ("team", "teams"),
    ("cycle", "cycles"),
    ("objective", "objectives"),
    ("key_result", "key results"),
    ("alignment", "alignment links"),
    ("initiative", "initiatives"),
    ("link", "initiative links to key results"),
    ("milestone", "milestones"),
    ("dependency", "dependencies"),
    ("task", "tasks"),
    ("checkin", "check-ins"),
)
KIND_LABELS = dict(KINDS)
ACTIONS = ("created", "updated", "removed", "unchanged")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of an item, before and after, as text for people."""

    name: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Change:
    """One item the import creates, updates or removes."""

    kind: str  # a key of KINDS
    key: str  # the item's key in the file ("growth/arr", "blog", "growth → company")
    action: str  # "created", "updated" or "removed"
    path: IssuePath = ()
    fields: tuple[FieldChange, ...] = ()

    def __str__(self) -> str:
        what = f"{KIND_LABELS.get(self.kind, self.kind).rstrip('s')} {self.key}"
        if self.fields:
            detail = ", ".join(
                f"{f.name}: {f.before or '—'} → {f.after or '—'}" for f in self.fields
            )
            return f"{self.action} {what} ({detail})"
        return f"{self.action} {what}"


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.removed


@dataclass
class ImportResult:
    """The outcome of a plan import (or of its dry run).

    ``applied`` is true when the changes were committed: no error and not a dry run. On any
    error nothing is written and ``errors`` lists every one with its path in the file; a dry
    run reports exactly what the real run would do, then writes nothing.
    """

    organization_slug: str
    dry_run: bool
    applied: bool = False
    created_organization: bool = False
    errors: list[PlanIssue] = field(default_factory=list)
    warnings: list[PlanIssue] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    counts: dict[str, KindCounts] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        """Whether the import changes (or changed) anything."""
        return any(c.changed for c in self.counts.values())

    def count(self, kind: str) -> KindCounts:
        return self.counts.setdefault(kind, KindCounts())

    def record(self, change: Change) -> None:
        counts = self.count(change.kind)
        setattr(counts, change.action, getattr(counts, change.action) + 1)
        self.changes.append(change)

    def unchanged(self, kind: str) -> None:
        self.count(kind).unchanged += 1

    def error(self, path: IssuePath, message: str) -> None:
        issue = PlanIssue(path, message)
        if issue not in self.errors:
            self.errors.append(issue)

    def warn(self, path: IssuePath, message: str) -> None:
        issue = PlanIssue(path, message)
        if issue not in self.warnings:
            self.warnings.append(issue)

    def summary_rows(self) -> list[tuple[str, KindCounts]]:
        """(label, counts) for each kind the file touched, in report order."""
        return [(label, self.counts[kind]) for kind, label in KINDS if kind in self.counts]

    def summary_lines(self) -> list[str]:
        """One line per kind: ``objectives: 2 created, 1 updated, 5 unchanged``."""
        lines = []
        for label, counts in self.summary_rows():
            parts = [
                f"{getattr(counts, action)} {action}"
                for action in ACTIONS
                if getattr(counts, action) or action == "unchanged"
            ]
            lines.append(f"{label}: {', '.join(parts)}")
        return lines


def _items(parent: Any, name: str, path: IssuePath) -> list[tuple[IssuePath, dict[str, Any]]]:
    value = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(value, list):
        return []
    return [((*path, name, i), item) for i, item in enumerate(value) if isinstance(item, dict)]


def _iso(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


class FileLocator:
    """Paths of the items of a plan file, found by key (the first item wins, as in the
    reader). An item not found is reported at the top level."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.paths: dict[tuple[str, str], IssuePath] = {}
        self.checkins: dict[str, list[IssuePath]] = {}
        for path, raw in _items(data, "teams", ()):
            self._put("team", raw.get("key"), path)
        for path, raw in _items(data, "cycles", ()):
            self._put("cycle", raw.get("key"), path)
        for path, raw in _items(data, "objectives", ()):
            okey = raw.get("key")
            self._put("objective", okey, path)
            for l_path, link in _items(raw, "aligns_to", path):
                parent = link.get("objective") or link.get("key_result")
                self._put("alignment", f"{okey} → {parent}", l_path)
            for k_path, kr in _items(raw, "key_results", path):
                full = f"{okey}/{kr.get('key')}"
                self._put("key_result", full, k_path)
                for m_path, ref in _items(kr, "milestones", k_path):
                    self._put("kr_milestone", f"{full} {ref.get('milestone')}", m_path)
                # The reader sorts check-ins by date (stable); keep the same order.
                rows = [
                    (_iso(c.get("date")) or date.min, c_path)
                    for c_path, c in _items(kr, "checkins", k_path)
                ]
                rows.sort(key=lambda row: row[0])
                self.checkins.setdefault(full, [p for _, p in rows])
        for path, raw in _items(data, "initiatives", ()):
            ikey = raw.get("key")
            self._put("initiative", ikey, path)
            for l_path, link in _items(raw, "key_results", path):
                self._put("link", f"{ikey} → {link.get('key_result')}", l_path)
            for t_path, task in _items(raw, "tasks", path):
                self._put("task", f"{ikey}/{task.get('key')}", t_path)
            self._depends_on(raw, path, ikey)
            for m_path, milestone in _items(raw, "milestones", path):
                self._put("milestone", milestone.get("key"), m_path)
                self._depends_on(milestone, m_path, milestone.get("key"))
        for path, raw in _items(data, "milestones", ()):
            self._put("milestone", raw.get("key"), path)
            self._depends_on(raw, path, raw.get("key"))
        for path, raw in _items(data, "dependencies", ()):
            kind = raw.get("type") or "FS"
            self._put(
                "dependency", f"{raw.get('predecessor')} → {raw.get('successor')} {kind}", path
            )

    def _put(self, kind: str, key: Any, path: IssuePath) -> None:
        if isinstance(key, str):
            self.paths.setdefault((kind, key), path)

    def _depends_on(self, raw: dict[str, Any], path: IssuePath, successor: Any) -> None:
        for d_path, d in _items(raw, "depends_on", path):
            predecessor = d.get("initiative") or d.get("milestone")
            kind = d.get("type") or "FS"
            self._put("dependency", f"{predecessor} → {successor} {kind}", d_path)

    def path(self, kind: str, key: str) -> IssuePath:
        return self.paths.get((kind, key), ())

    def order(self, path: IssuePath) -> tuple[int, ...]:
        """Where a path sits in the file, so issues print top to bottom."""
        position: list[int] = []
        node: Any = self.data
        for part in path:
            if isinstance(node, dict) and isinstance(part, str):
                keys = list(node)
                position.append(keys.index(part) if part in keys else len(keys))
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int):
                position.append(part)
                node = node[part] if 0 <= part < len(node) else None
            else:
                position.append(1 << 30)
                node = None
        return tuple(position)

    def sort(self, issues: list[PlanIssue]) -> None:
        """Put issues in file order (stable for issues at one place)."""
        issues.sort(key=lambda issue: self.order(issue.path))

    def checkin(self, kr_key: str, index: int) -> IssuePath:
        paths = self.checkins.get(kr_key, [])
        return paths[index] if index < len(paths) else self.path("key_result", kr_key)

    def has(self, section: str, name: str) -> bool:
        """Whether the file writes ``section.name`` (``organization.timezone``, ...)."""
        raw = self.data.get(section)
        return isinstance(raw, dict) and raw.get(name) is not None


def issue_lines(issues: Iterable[PlanIssue], source: str = "") -> list[str]:
    """``FILE: path: message`` lines (without the file when `source` is empty)."""
    prefix = f"{source}: " if source else ""
    return [f"{prefix}{format_path(i.path)}: {i.message}" for i in issues]
