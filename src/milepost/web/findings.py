"""Plan-health findings as the pages show them: only those the actor may see (the rule in
`milepost.reports.queries`), each object it involves named and linked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from milepost.engine.results import Finding
from milepost.organizations.access import Actor
from milepost.reports.queries import finding_hidden, hidden_objective_keys
from milepost.reports.snapshot import Snapshot
from milepost.web.format import SEVERITY_ORDER
from milepost.web.links import id_link


@dataclass(frozen=True)
class FindingObject:
    kind: str
    key: str
    label: str
    url: str


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    objects: tuple[FindingObject, ...]

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def severity(self) -> str:
        return self.finding.severity.value

    @property
    def message(self) -> str:
        return self.finding.message


KIND_LABELS = {
    "initiative": "Initiative",
    "milestone": "Milestone",
    "kr": "Key result",
    "objective": "Objective",
    "team": "Team",
    "cycle": "Cycle",
}


class FindingLinker:
    """Names and links the objects of findings from one snapshot. It keeps the snapshot's
    names and row ids, not the snapshot: it is carried to the next one after check-ins only
    (same names, same rows), and must not keep the old evaluation alive."""

    def __init__(self, snap: Snapshot) -> None:
        plan = snap.plan
        self.initiative_ids = snap.initiative_ids
        self.key_result_ids = snap.key_result_ids
        self.objective_ids = snap.objective_ids
        self.titles: dict[str, str] = {}
        for i in plan.initiatives:
            self.titles[f"initiative:{i.key}"] = i.title
        for m in plan.milestones:
            self.titles[f"milestone:{m.key}"] = m.name
        for kr in plan.key_results:
            self.titles[f"kr:{kr.key}"] = kr.title
        for o in plan.objectives:
            self.titles[f"objective:{o.key}"] = o.title
        for t in plan.teams:
            self.titles[f"team:{t.key}"] = t.name
        for c in plan.cycles:
            self.titles[f"cycle:{c.key}"] = c.name
        self.milestone_initiative = {m.key: m.initiative_key for m in plan.milestones}
        self.initiative_link = id_link("web:initiative-detail")
        self.key_result_link = id_link("web:key-result-detail")
        self.objective_link = id_link("web:objective-detail")

    def url(self, kind: str, key: str) -> str:
        if kind == "initiative" and key in self.initiative_ids:
            return self.initiative_link(self.initiative_ids[key])
        if kind == "milestone":
            owner = self.milestone_initiative.get(key)
            if owner is not None and owner in self.initiative_ids:
                return self.initiative_link(self.initiative_ids[owner])
        if kind == "kr" and key in self.key_result_ids:
            return self.key_result_link(self.key_result_ids[key])
        if kind == "objective" and key in self.objective_ids:
            return self.objective_link(self.objective_ids[key])
        return ""

    def view(self, finding: Finding) -> FindingView:
        objects = []
        for obj in finding.objects:
            kind, _, key = obj.partition(":")
            objects.append(
                FindingObject(
                    kind=KIND_LABELS.get(kind, kind),
                    key=key,
                    label=self.titles.get(obj, key),
                    url=self.url(kind, key),
                )
            )
        return FindingView(finding, tuple(objects))


def visible_findings(
    actor: Actor, snap: Snapshot, hidden: set[str] | None = None
) -> list[FindingView]:
    """The snapshot's findings the actor may see, named and linked (one query for who may
    see what, unless `hidden` — `hidden_objective_keys(actor)` — is given; none for admins)."""
    return finding_views(snap, seen_findings(actor, snap, hidden))


def seen_findings(actor: Actor, snap: Snapshot, hidden: set[str] | None = None) -> list[Finding]:
    """The snapshot's findings the actor may see, as the engine gives them (a page that
    shows only a few names and links those few: a large plan has 10,000s of findings)."""
    if hidden is None:
        hidden = hidden_objective_keys(actor)
    if not hidden:
        return list(snap.roadmap.findings)
    return [f for f in snap.roadmap.findings if not finding_hidden(f, hidden)]


def finding_views(snap: Snapshot, findings: Iterable[Finding]) -> list[FindingView]:
    """Findings of the snapshot, each object named and linked (the names and links are
    gathered once per snapshot, or carried from the one it patched after check-ins only)."""
    linker = snap.extras.get(FindingLinker)
    if linker is None:
        linker = snap.carried.get(FindingLinker) or FindingLinker(snap)
        snap.extras[FindingLinker] = linker
    return [linker.view(f) for f in findings]


@dataclass(frozen=True)
class FindingGroup:
    severity: str
    code: str
    findings: list[FindingView]


def grouped(findings: list[FindingView]) -> list[FindingGroup]:
    """Findings grouped by severity (errors first), then by code."""
    buckets: dict[tuple[str, str], list[FindingView]] = defaultdict(list)
    for f in findings:
        buckets[(f.severity, f.code)].append(f)
    order = {s: n for n, s in enumerate(SEVERITY_ORDER)}
    return [
        FindingGroup(severity, code, items)
        for (severity, code), items in sorted(
            buckets.items(), key=lambda item: (order.get(item[0][0], 9), item[0][1])
        )
    ]


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each severity (every severity listed, errors first)."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for f in findings:
        severity = f.severity.value
        counts[severity] = counts.get(severity, 0) + 1
    return counts
