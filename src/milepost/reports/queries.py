"""Read models shared by the web app and the API: the alignment tree of a cycle, the roadmap
schedule, plan-health findings, the priority ranking, and the audit log.

Each takes the acting `Actor` and applies visibility once, here:

* an objective the actor may not see (private, or of a team they are not in) appears in the
  tree as a *locked* node: its progress and status count (the roll-up of a public parent
  includes it) but its title, key, owner and key results are withheld;
* findings that involve such an objective (or one of its key results) are left out for that
  actor, and explanations that name it are redacted.

Every number comes from the engine: the tree reads the stored columns the engine maintains;
schedule, findings and priorities are a live evaluation of the plan
(`milepost.roadmap.engine_io.load_plan_with_ids`, whose ids name the rows). Each function
runs a fixed number of queries, whatever the size of the organization.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Case, QuerySet, Value, When

from milepost.audit.models import AuditEvent
from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.explain import Explanation, Term
from milepost.engine.model import Plan
from milepost.engine.results import Finding, PriorityResult
from milepost.errors import NotFound
from milepost.okrs.models import Alignment, Cycle, KeyResult, Objective
from milepost.okrs.querysets import objective_visibility_q
from milepost.organizations.access import Actor
from milepost.organizations.models import Role
from milepost.reports.snapshot import Snapshot, snapshot

if TYPE_CHECKING:
    from milepost.engine.model import InitiativeInput

# --- the alignment tree ---------------------------------------------------------------------


@dataclass(slots=True)
class KeyResultNode:
    id: int
    key: str
    title: str
    kind: str
    unit: str
    start_value: Decimal
    target_value: Decimal
    current_value: Decimal
    progress: Decimal
    expected: Decimal
    status: str
    confidence: int | None
    owner: int | None
    children: list[TreeNode] = field(default_factory=list)  # objectives aligned to this KR


@dataclass(slots=True)
class TreeNode:
    """One objective in the tree. ``locked``: the actor may not see it; only its numbers
    are shown (id, key, title, owners and key results are withheld)."""

    locked: bool
    progress: Decimal
    expected: Decimal
    status: str
    id: int | None = None
    key: str | None = None
    title: str | None = None
    visibility: str | None = None
    state: str | None = None
    owner_team: int | None = None
    owner_user: int | None = None
    weight: Decimal = Decimal(1)  # of the link to the parent (1 for a root)
    key_results: list[KeyResultNode] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)


def with_visibility(actor: Actor, objectives: QuerySet[Objective]) -> QuerySet[Objective]:
    """Annotate ``visible_to_actor`` with the one visibility rule (`objective_visibility_q`)."""
    if actor.is_admin:
        return objectives.annotate(visible_to_actor=Value(True, output_field=BooleanField()))
    return objectives.annotate(
        visible_to_actor=Case(
            When(objective_visibility_q(actor), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


# An objective node's columns (the stored numbers included), as the tree and its subtree
# partial read them.
TREE_NODE_COLUMNS = (
    "pk",
    "key",
    "title",
    "visibility",
    "state",
    "owner_team_id",
    "owner_user_id",
    "progress",
    "expected",
    "status",
)
_TREE_OBJECTIVE_COLUMNS = (*TREE_NODE_COLUMNS, "visible_to_actor")
# A key result node's columns in `KeyResultNode`'s field order, then its objective's id (a
# node is built from a row's slice, ``row[:-1]``, without naming 13 fields per key result).
_TREE_KR_COLUMNS = (
    "pk",
    "key",
    "title",
    "kind",
    "unit",
    "start_value",
    "target_value",
    "current_value",
    "progress",
    "expected",
    "status",
    "confidence",
    "owner_id",
    "objective_id",
)
# Such a row, typed: mypy checks ``KeyResultNode(*row[:-1], ...)`` field by field.
_KeyResultRow = tuple[
    int,
    str,
    str,
    str,
    str,
    Decimal,
    Decimal,
    Decimal,
    Decimal,
    Decimal,
    str,
    int | None,
    int | None,
    int,
]


@cyclic_gc_paused()  # a node per objective and key result (37,500 at full size), no cycles
def alignment_tree(actor: Actor, cycle: Cycle, *, root: int | None = None) -> list[TreeNode]:
    """The cycle's objectives as a forest: roots are objectives with no parent in the cycle;
    under each objective, its key results and the objectives aligned to it (an objective
    aligned to two parents appears under both; one aligned to a key result appears under
    that key result). Three queries, rows read as tuples (the numbers are the stored columns
    the engine keeps current, so no plan evaluation is needed).

    With ``root`` (an objective of the cycle the actor may see): only the subtree below it,
    reading only that subtree's objectives and key results. `NotFound` when there is no
    such objective for the actor."""
    links = list(
        Alignment.objects.of(actor.organization_id)
        .filter(child__cycle=cycle, child__archived_at__isnull=True, archived_at__isnull=True)
        .order_by("pk")
        .values_list(
            "child_id",
            "parent_objective_id",
            "parent_key_result_id",
            "weight",
            "parent_key_result__objective_id",
        )
    )
    objectives_qs = Objective.objects.of(actor.organization_id).filter(
        cycle=cycle, archived_at__isnull=True
    )
    key_results_qs = KeyResult.objects.of(actor.organization_id).filter(
        objective__cycle=cycle, objective__archived_at__isnull=True, archived_at__isnull=True
    )
    if root is not None:
        below = _subtree_ids(root, links)
        objectives_qs = objectives_qs.filter(pk__in=below)
        key_results_qs = key_results_qs.filter(objective_id__in=below)
    objectives = list(
        with_visibility(actor, objectives_qs)
        .order_by("key", "pk")
        .values_list(*_TREE_OBJECTIVE_COLUMNS)
    )
    by_id = {o[0]: o for o in objectives}
    visible = {o[0] for o in objectives if o[10]}
    if root is not None and root not in visible:
        raise NotFound("Objective not found in this cycle.")
    key_results: dict[int, list[_KeyResultRow]] = defaultdict(list)
    kr_objective: dict[int, int] = {}
    # The same objectives as above, as a join rather than a list of thousands of ids.
    for row in key_results_qs.order_by("key", "pk").values_list(*_TREE_KR_COLUMNS):
        key_results[row[-1]].append(row)
        kr_objective[row[0]] = row[-1]
    under_objective: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    under_kr: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    has_parent: set[int] = set()
    for child_id, parent_objective_id, parent_kr_id, weight, _ in links:
        if child_id not in by_id:
            continue
        if parent_objective_id is not None and parent_objective_id in by_id:
            under_objective[parent_objective_id].append((child_id, weight))
            has_parent.add(child_id)
        elif parent_kr_id is not None and parent_kr_id in kr_objective:
            under_kr[parent_kr_id].append((child_id, weight))
            has_parent.add(child_id)

    def build(objective_id: int, weight: Decimal, path: frozenset[int]) -> TreeNode:
        (
            pk,
            key,
            title,
            visibility,
            state,
            owner_team_id,
            owner_user_id,
            progress,
            expected,
            status,
            _,
        ) = by_id[objective_id]
        path = path | {objective_id}

        def children(pairs: list[tuple[int, Decimal]]) -> list[TreeNode]:
            # `path` guards against a loop in stored data (the services refuse them).
            return [build(c, w, path) for c, w in pairs if c not in path]

        if objective_id not in visible:
            # The numbers count; nothing that identifies the objective is shown. Children
            # the actor may see still hang below it.
            return TreeNode(
                locked=True,
                progress=progress,
                expected=expected,
                status=status,
                weight=weight,
                children=children(under_objective.get(objective_id, []))
                + [
                    node
                    for kr in key_results.get(objective_id, [])
                    for node in children(under_kr.get(kr[0], []))
                ],
            )
        own = key_results.get(objective_id, [])
        return TreeNode(
            locked=False,
            id=pk,
            key=key,
            title=title,
            visibility=visibility,
            state=state,
            owner_team=owner_team_id,
            owner_user=owner_user_id,
            progress=progress,
            expected=expected,
            status=status,
            weight=weight,
            # A node of its own per place in the tree: its children differ with the path.
            key_results=[KeyResultNode(*kr[:-1], children(under_kr.get(kr[0], []))) for kr in own],
            children=children(under_objective.get(objective_id, [])),
        )

    if root is not None:
        return [build(root, Decimal(1), frozenset())]
    return [build(o[0], Decimal(1), frozenset()) for o in objectives if o[0] not in has_parent]


def _subtree_ids(root: int, links: list[tuple[Any, ...]]) -> set[int]:
    """``root`` and every objective aligned below it, directly or through a key result, from
    the cycle's alignment links (child, parent objective, parent key result, weight, the
    parent key result's objective)."""
    below: dict[int, list[int]] = defaultdict(list)
    for child_id, parent_objective_id, _, _, parent_kr_objective_id in links:
        parent = parent_objective_id if parent_objective_id is not None else parent_kr_objective_id
        if parent is not None:
            below[parent].append(child_id)
    found = {root}
    stack = [root]
    while stack:
        for child in below.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


# --- redaction of what the actor may not see --------------------------------------------------


def hidden_objective_keys(actor: Actor) -> set[str]:
    """Keys of the organization's objectives the actor may not see (none for admins).
    One query (none for admins)."""
    if actor.is_admin:
        return set()
    qs = Objective.objects.of(actor.organization_id).exclude(objective_visibility_q(actor))
    return set(qs.values_list("key", flat=True))


def _key_pattern(hidden: Collection[str]) -> re.Pattern[str] | None:
    if not hidden:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(hidden, key=len, reverse=True))
    return re.compile(rf"(?<![-\w])(?:{alternatives})(?:/[-\w]+)?(?![-\w])")


def _mentions(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


def _redact(pattern: re.Pattern[str] | None, text: str) -> str:
    return pattern.sub("(private)", text) if pattern is not None else text


def redact_explanation(explanation: Explanation, hidden: Collection[str]) -> Explanation:
    """The explanation with every term naming a hidden objective (or one of its key results)
    reduced to its number: the label says "(private)" and the detail (which may quote a
    title) is dropped."""
    pattern = _key_pattern(hidden)
    if pattern is None:
        return explanation
    terms = tuple(
        Term(_redact(pattern, t.label), t.value, "")
        if _mentions(pattern, t.label) or _mentions(pattern, t.detail)
        else t
        for t in explanation.terms
    )
    return Explanation(
        rule=explanation.rule,
        summary=_redact(pattern, explanation.summary),
        terms=terms,
        notes=tuple(_redact(pattern, n) for n in explanation.notes),
    )


def finding_hidden(finding: Finding, hidden: Collection[str]) -> bool:
    """Whether the finding involves a hidden objective (or one of its key results)."""
    for obj in finding.objects:
        kind, _, key = obj.partition(":")
        if kind == "objective" and key in hidden:
            return True
        if kind == "kr" and key.split("/", 1)[0] in hidden:
            return True
    return False


def findings_about_teams(
    plan: Plan, findings: Iterable[Finding], teams: Collection[str]
) -> list[Finding]:
    """The findings about these teams (by key) or their work: their initiatives and those
    initiatives' milestones."""
    work = {i.key for i in plan.initiatives if i.team_key in teams}
    about = {f"team:{key}" for key in teams} | {f"initiative:{key}" for key in work}
    about |= {f"milestone:{m.key}" for m in plan.milestones if m.initiative_key in work}
    return [f for f in findings if not about.isdisjoint(f.objects)]


# --- schedule, findings, priorities -----------------------------------------------------------


@dataclass
class ScheduleRow:
    kind: str  # "initiative" | "milestone"
    id: int
    key: str
    title: str
    planned_start: dt.date | None
    planned_end: dt.date | None
    earliest_start: dt.date
    earliest_finish: dt.date
    latest_start: dt.date
    latest_finish: dt.date
    slack_days: int
    critical: bool


@dataclass
class RoadmapSchedule:
    as_of: dt.date
    items: list[ScheduleRow]
    critical_paths: list[list[str]]
    project_start: dt.date | None
    project_finish: dt.date | None
    error: str | None  # why there is no schedule (a dependency loop), else None


def _evaluate(actor: Actor, cycle: Cycle | None, as_of: dt.date | None) -> Snapshot:
    """The plan's evaluation, kept between requests until the plan changes
    (`milepost.reports.snapshot`): computed (three queries for the plan) when anything changed
    since it was kept, so an API client always reads what the database holds; one query
    otherwise."""
    return snapshot(actor.organization, cycle, as_of=as_of, fresh_after=time.time())


def roadmap_schedule(
    actor: Actor, cycle: Cycle | None, *, as_of: dt.date | None = None
) -> RoadmapSchedule:
    """The computed schedule (critical path method) of the cycle's roadmap, or of the whole
    organization's when `cycle` is None: each initiative's and milestone's planned dates
    beside its earliest/latest dates, slack and criticality. A fixed number of queries."""
    loaded = _evaluate(actor, cycle, as_of)
    roadmap = loaded.roadmap
    initiatives = {i.key: i for i in loaded.plan.initiatives}
    milestones = {m.key: m for m in loaded.plan.milestones}
    rows: list[ScheduleRow] = []
    schedule = roadmap.schedule
    if schedule is not None:
        for key, item in schedule.items.items():
            if key in initiatives:
                ini = initiatives[key]
                kind, pk, title, start, end = (
                    "initiative",
                    loaded.initiative_ids[key],
                    ini.title,
                    ini.start,
                    ini.end,
                )
            elif key in milestones:
                ms = milestones[key]
                pk = loaded.milestone_ids[key]
                kind, title, start, end = "milestone", ms.name, ms.on, ms.on
            else:  # pragma: no cover - the plan holds only these two kinds
                continue
            rows.append(
                ScheduleRow(
                    kind=kind,
                    id=pk,
                    key=key,
                    title=title,
                    planned_start=start,
                    planned_end=end,
                    earliest_start=item.earliest_start,
                    earliest_finish=item.earliest_finish,
                    latest_start=item.latest_start,
                    latest_finish=item.latest_finish,
                    slack_days=item.slack_days,
                    critical=item.critical,
                )
            )
    rows.sort(key=lambda r: (r.earliest_start, r.key))
    return RoadmapSchedule(
        as_of=loaded.as_of,
        items=rows,
        critical_paths=[list(p) for p in schedule.critical_paths] if schedule else [],
        project_start=schedule.project_start if schedule else None,
        project_finish=schedule.project_finish if schedule else None,
        error=roadmap.schedule_error,
    )


def plan_findings(
    actor: Actor, cycle: Cycle | None, *, as_of: dt.date | None = None
) -> list[Finding]:
    """Where the OKRs and the roadmap disagree (plan-health findings), errors first; findings
    about objectives the actor may not see are left out. A fixed number of queries."""
    roadmap = _evaluate(actor, cycle, as_of).roadmap
    hidden = hidden_objective_keys(actor)
    return [f for f in roadmap.findings if not finding_hidden(f, hidden)]


@dataclass
class RankedInitiative:
    rank: int
    id: int
    key: str
    title: str
    score: Decimal
    aligned: bool
    explanation: Explanation


def priority_ranking(
    actor: Actor, cycle: Cycle | None, *, as_of: dt.date | None = None
) -> list[RankedInitiative]:
    """Initiatives ranked by the outcomes they serve (engine priority), each with its
    term-by-term explanation; terms about objectives the actor may not see are redacted."""
    loaded = _evaluate(actor, cycle, as_of)
    roadmap = loaded.roadmap
    hidden = hidden_objective_keys(actor)
    initiatives = {i.key: i for i in loaded.plan.initiatives}
    ranked: list[RankedInitiative] = []
    for result in roadmap.priorities:
        initiative = initiatives.get(result.key)
        if initiative is None:  # pragma: no cover - the plan's initiatives come from these rows
            continue
        ranked.append(_ranked(result, loaded.initiative_ids[result.key], initiative, hidden))
    return ranked


def _ranked(
    result: PriorityResult, pk: int, initiative: InitiativeInput, hidden: set[str]
) -> RankedInitiative:
    return RankedInitiative(
        rank=result.rank,
        id=pk,
        key=initiative.key,
        title=initiative.title,
        score=result.score,
        aligned=result.aligned,
        explanation=redact_explanation(result.explanation, hidden),
    )


# --- the audit log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None  # exact ("checkin.record") or a prefix ending in "." ("keyresult.")
    target_type: str | None = None
    target_id: int | None = None
    actor_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_log(actor: Actor, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The organization's audit events, newest first (admins and owners only: the log holds
    every change, including those of objectives others may not see). One query when
    evaluated; PermissionDenied for other roles."""
    actor.require(Role.ADMIN, "read the audit log")
    f = filters or AuditFilters()
    qs = AuditEvent.objects.filter(organization_id=actor.organization_id)
    if f.action:
        qs = (
            qs.filter(action__startswith=f.action)
            if f.action.endswith(".")
            else qs.filter(action=f.action)
        )
    if f.target_type:
        qs = qs.filter(target_type=f.target_type)
    if f.target_id is not None:
        qs = qs.filter(target_id=f.target_id)
    if f.actor_id is not None:
        qs = qs.filter(actor_id=f.actor_id)
    if f.since is not None:
        qs = qs.filter(created_at__gte=f.since)
    if f.until is not None:
        qs = qs.filter(created_at__lt=f.until)
    return qs.order_by("-created_at", "-id")


__all__ = [
    "AuditFilters",
    "KeyResultNode",
    "RankedInitiative",
    "RoadmapSchedule",
    "ScheduleRow",
    "TreeNode",
    "alignment_tree",
    "audit_log",
    "finding_hidden",
    "hidden_objective_keys",
    "plan_findings",
    "priority_ranking",
    "redact_explanation",
    "roadmap_schedule",
]
