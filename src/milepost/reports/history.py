"""As-of views: objectives, key results, the alignment tree and the roadmap as they stood at
the end of a past day, and a cycle's baseline against what actually happened.

How the past is reconstructed:

* **Field values** come from the audit log. Every write goes through a service that records
  the fields it changed (before and after), so the value of a field at a moment is the current
  value with every later change undone, newest first (`fields_as_of`). A row whose
  ``<model>.create`` event is later did not exist yet; a later ``.archive`` means it was live,
  a later ``.restore`` that it was archived; an alignment removed later is brought back from
  the snapshot its ``alignment.delete`` event holds. Rows written without an event (imports,
  the demo) count as having been there all along.
* **Numbers** come from the engine, as of that day, from the check-ins recorded by the end of
  that day (a correction recorded later is not applied; a value typed in later for an earlier
  date is not known yet).
* Who may see what is decided by today's visibility (the stricter choice: a past view never
  shows what the actor may not see now). The organization's settings are today's.
* Known limits: an objective moved to another cycle since appears in its current cycle;
  roadmap dependencies, initiative links and task totals are today's (task completion and
  logged time are dated, so they are as of the day).

At today's date every view equals the live one (a test proves it for the tree and the plan).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.db.models import Count, Q, Sum

from milepost.accounts.models import User
from milepost.audit.models import AuditEvent
from milepost.engine.explain import Explanation
from milepost.engine.model import (
    AlignmentLink,
    CycleInput,
    CycleState,
    InitiativeStatus,
    KeyResultInput,
    ObjectiveInput,
    ObjectiveState,
    Plan,
    TeamInput,
)
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.results import KeyResultResult, ObjectiveResult, OkrReport
from milepost.engine.roadmap import RoadmapReport, evaluate_roadmap
from milepost.engine.score import score
from milepost.okrs.engine_io import checkin_history, key_result_input, organization_today
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Team
from milepost.reports.queries import KeyResultNode, TreeNode, with_visibility
from milepost.roadmap.engine_io import load_plan
from milepost.roadmap.models import Initiative, Milestone
from milepost.work.models import Task, TaskStatus, TimeEntry

_ZERO = Decimal(0)


def end_of_day(organization: Organization, day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the organization's time zone (aware)."""
    try:
        zone = ZoneInfo(organization.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


# --- replaying the audit log ------------------------------------------------------------------


@dataclass
class PastRow[T]:
    """A row as it stood at a moment: ``row`` is a detached copy holding the past values."""

    row: T
    existed: bool
    archived: bool

    @property
    def live(self) -> bool:
        return self.existed and not self.archived


def _events(
    organization_id: int, target_type: str, ids: Iterable[int], moment: dt.datetime
) -> dict[int, list[AuditEvent]]:
    """Events on the rows after ``moment``, newest first, by row id. One query."""
    grouped: dict[int, list[AuditEvent]] = defaultdict(list)
    id_list = sorted(set(ids))
    if not id_list:
        return grouped
    for event in AuditEvent.objects.filter(
        organization_id=organization_id,
        target_type=target_type,
        target_id__in=id_list,
        created_at__gte=moment,
    ).order_by("-created_at", "-id"):
        grouped[event.target_id or 0].append(event)
    return grouped


def _detached[M: models.Model](row: M) -> M:
    clone = copy.copy(row)
    clone._state = copy.copy(row._state)
    clone._state.fields_cache = dict(row._state.fields_cache)
    return clone


def _converter(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    return {f.attname: f for f in model._meta.concrete_fields}


def _value(f: models.Field[Any, Any], raw: Any) -> Any:
    if raw is None or f.is_relation or isinstance(f, models.JSONField):
        return raw
    return f.to_python(raw)


def fields_as_of[M: models.Model](
    model: type[M], rows: Iterable[M], moment: dt.datetime, organization_id: int
) -> dict[int, PastRow[M]]:
    """Each row as it stood at ``moment`` (see the module docstring), by id. One query."""
    row_list = list(rows)
    fields = _converter(model)
    events = _events(
        organization_id, model._meta.model_name or "", (r.pk for r in row_list), moment
    )
    past: dict[int, PastRow[M]] = {}
    for row in row_list:
        clone = _detached(row)
        existed = True
        archived = getattr(row, "archived_at", None) is not None
        for event in events.get(row.pk, ()):  # newest first: each step undoes one change
            action = event.action.rpartition(".")[2]
            if action == "create" or event.action == "keyresult.carry_over":
                existed = False
            elif action == "archive":
                archived = False
            elif action == "restore":
                archived = True
            elif event.before:
                for name, raw in event.before.items():
                    f = fields.get(name)
                    if f is not None and name not in {"version", "id", "organization_id"}:
                        setattr(clone, name, _value(f, raw))
        if hasattr(clone, "archived_at"):
            # Archived then: keep when (or say "by then" if it has been restored since).
            was = (clone.archived_at or moment) if archived else None
            clone.archived_at = was
        past[row.pk] = PastRow(clone, existed, archived)
    return past


def _removed_alignments(organization_id: int, moment: dt.datetime) -> list[Alignment]:
    """Alignment links removed after ``moment``, rebuilt from their ``alignment.delete``
    events (unsaved rows with their old ids). One query."""
    fields = _converter(Alignment)
    rows = []
    for event in AuditEvent.objects.filter(
        organization_id=organization_id,
        action="alignment.delete",
        created_at__gte=moment,
    ).order_by("created_at", "id"):
        before = event.before or {}
        values = {
            name: _value(f, before[name])
            for name, f in fields.items()
            if name in before and name not in {"created_at", "updated_at"}
        }
        if "id" in values and "child_id" in values:
            rows.append(Alignment(**values))
    return rows


# --- the OKR plan as of a day -----------------------------------------------------------------


@dataclass
class PastOkr:
    """A cycle's objectives and key results as they stood on ``day``, with the engine's
    evaluation of them. Keys are today's (unique now); titles and numbers are the day's."""

    day: dt.date
    cycle: Cycle | None  # None: the cycle did not exist yet
    plan: Plan
    report: OkrReport
    objectives: dict[str, Objective]  # engine key -> past row (of the cycle and below it)
    key_results: dict[str, KeyResult]
    inputs: dict[str, KeyResultInput]
    histories: dict[str, list[CheckIn]]
    links: list[Alignment]  # live at that day, between objectives of the plan
    visible: set[int]  # objective ids the actor may see (today's rules)

    def in_cycle(self, objective: Objective) -> bool:
        return self.cycle is not None and objective.cycle_id == self.cycle.pk


def _descendants(
    links: Sequence[Alignment], roots: set[int], kr_objective: Mapping[int, int]
) -> set[int]:
    children: dict[int, set[int]] = defaultdict(set)
    for link in links:
        parent = link.parent_objective_id or kr_objective.get(link.parent_key_result_id or 0)
        if parent is not None:
            children[parent].add(link.child_id)
    found = set(roots)
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def okr_as_of(actor: Actor, cycle: Cycle, day: dt.date) -> PastOkr:
    """The cycle's OKRs as they stood at the end of ``day`` (see the module docstring),
    evaluated by the engine as of ``day``. A fixed number of queries."""
    organization = actor.organization
    org_id = organization.pk
    moment = end_of_day(organization, day)
    past_cycle = fields_as_of(Cycle, [cycle], moment, org_id)[cycle.pk]
    cycle_row = past_cycle.row if past_cycle.existed else None

    # Every link of the organization then (objectives from other cycles may roll up below).
    current_links = list(Alignment.objects.filter(organization_id=org_id).order_by("pk"))
    known = {a.pk for a in current_links}
    removed = [a for a in _removed_alignments(org_id, moment) if a.pk not in known]
    link_state = fields_as_of(Alignment, current_links + removed, moment, org_id)
    removed_ids = {a.pk for a in removed}
    links = [
        p.row
        for pk, p in sorted(link_state.items())
        if (p.existed or pk in removed_ids) and not p.archived
    ]
    # Only the key results that objectives are aligned to matter for the descendants.
    kr_objective = dict(
        KeyResult.objects.filter(
            organization_id=org_id,
            pk__in=sorted({a.parent_key_result_id for a in links if a.parent_key_result_id}),
        ).values_list("pk", "objective_id")
    )
    roots = set(
        Objective.objects.filter(organization_id=org_id, cycle=cycle).values_list("pk", flat=True)
    )
    wanted = _descendants(links, roots, kr_objective) if cycle_row is not None else set()
    objective_rows = list(
        with_visibility(
            actor,
            Objective.objects.filter(organization_id=org_id, pk__in=sorted(wanted)),
        ).select_related("cycle")
    )
    visible = {o.pk for o in objective_rows if o.visible_to_actor}  # type: ignore[attr-defined]
    past_objectives = fields_as_of(Objective, objective_rows, moment, org_id)
    cycles: dict[int, Cycle] = {}
    if cycle_row is not None:
        cycles[cycle.pk] = cycle_row
    for o in objective_rows:
        cycles.setdefault(o.cycle_id, o.cycle)
    objectives: dict[int, Objective] = {}
    for pk, p in past_objectives.items():
        if not p.live or p.row.cycle_id not in cycles:
            continue
        if pk in roots and p.row.cycle_id != cycle.pk:
            continue  # moved into this cycle after the day
        if pk not in roots and p.row.cycle_id == cycle.pk:
            continue  # moved out of this cycle since: shown in its current cycle (a known limit)
        row = p.row
        row.cycle = cycles[row.cycle_id]
        objectives[pk] = row
    # Descendants reach the plan only through links alive that day.
    reachable = _descendants(
        [a for a in links if a.child_id in objectives],
        {pk for pk, o in objectives.items() if o.cycle_id == cycle.pk},
        kr_objective,
    )
    objectives = {pk: o for pk, o in objectives.items() if pk in reachable}

    kr_rows = list(KeyResult.objects.filter(objective_id__in=sorted(objectives)).order_by("pk"))
    past_krs = fields_as_of(KeyResult, kr_rows, moment, org_id)
    key_results = {
        pk: p.row for pk, p in past_krs.items() if p.live and p.row.objective_id in objectives
    }
    users = {
        u.pk: u
        for u in User.objects.filter(
            pk__in={kr.owner_id for kr in key_results.values() if kr.owner_id}
            | {o.owner_user_id for o in objectives.values() if o.owner_user_id}
        )
    }
    teams = list(Team.objects.filter(organization_id=org_id).order_by("key"))
    team_keys = {t.pk: t.key for t in teams}
    checkins: dict[int, list[CheckIn]] = defaultdict(list)
    for c in CheckIn.objects.filter(
        key_result_id__in=sorted(key_results), recorded_at__lt=moment
    ).select_related("author"):
        checkins[c.key_result_id].append(c)
    milestone_rows = list(Milestone.objects.filter(key_result_id__in=sorted(key_results)))
    milestones: dict[int, list[Milestone]] = defaultdict(list)
    for ms in fields_as_of(Milestone, milestone_rows, moment, org_id).values():
        if ms.existed and ms.row.key_result_id is not None:
            milestones[ms.row.key_result_id].append(ms.row)

    current_keys = {o.pk: o.key for o in objective_rows}
    key_of = {pk: current_keys[pk] for pk in objectives}
    kr_inputs: dict[str, KeyResultInput] = {}
    kr_by_key: dict[str, KeyResult] = {}
    histories: dict[str, list[CheckIn]] = {}
    kr_path: dict[int, str] = {}
    # Today's keys: unique now, whatever the keys were then.
    current_kr_keys = {r.pk: r.key for r in kr_rows}
    for pk, kr in sorted(
        key_results.items(), key=lambda i: (i[1].objective_id, current_kr_keys[i[0]], i[0])
    ):
        kr.objective = objectives[kr.objective_id]
        kr.owner = users.get(kr.owner_id) if kr.owner_id else None
        kr_in = key_result_input(kr, checkins.get(pk, ()), milestones.get(pk, ()))
        path = f"{key_of[kr.objective_id]}/{current_kr_keys[pk]}"
        kr_in = dataclasses.replace(kr_in, key=path, objective_key=key_of[kr.objective_id])
        kr_inputs[path] = kr_in
        kr_by_key[path] = kr
        histories[path] = checkin_history(checkins.get(pk, ()))
        kr_path[pk] = path
    aligns: dict[int, list[AlignmentLink]] = defaultdict(list)
    plan_links = []
    for link in links:
        if link.child_id not in objectives:
            continue
        if link.parent_objective_id is not None and link.parent_objective_id in objectives:
            aligns[link.child_id].append(
                AlignmentLink(parent_objective=key_of[link.parent_objective_id], weight=link.weight)
            )
            plan_links.append(link)
        elif link.parent_key_result_id is not None and link.parent_key_result_id in kr_path:
            aligns[link.child_id].append(
                AlignmentLink(
                    parent_key_result=kr_path[link.parent_key_result_id], weight=link.weight
                )
            )
            plan_links.append(link)
    objective_inputs = []
    by_key: dict[str, Objective] = {}
    for pk, o in sorted(
        objectives.items(), key=lambda i: (i[1].cycle.start_date, current_keys[i[0]], i[0])
    ):
        owner = users.get(o.owner_user_id) if o.owner_user_id else None
        objective_inputs.append(
            ObjectiveInput(
                key=current_keys[pk],
                title=o.title,
                cycle_key=o.cycle.key,
                team_key=team_keys.get(o.owner_team_id) if o.owner_team_id else None,
                owner=owner.email if owner is not None else None,
                weight=o.weight,
                state=ObjectiveState(o.state),
                aligns_to=tuple(aligns.get(pk, ())),
            )
        )
        by_key[current_keys[pk]] = o
    plan = Plan(
        organization_name=organization.name,
        timezone=organization.timezone,
        settings=organization.engine_settings(),
        teams=tuple(
            TeamInput(
                t.key,
                t.name,
                team_keys.get(t.parent_id) if t.parent_id else None,
                t.capacity_days_per_week,
            )
            for t in teams
            if t.archived_at is None
        ),
        cycles=tuple(
            CycleInput(c.key, c.name, c.start_date, c.end_date, CycleState(c.state))
            for c in sorted(cycles.values(), key=lambda c: (c.start_date, c.pk))
            if any(o.cycle_id == c.pk for o in objectives.values())
        ),
        objectives=tuple(objective_inputs),
        key_results=tuple(kr_inputs.values()),
    )
    return PastOkr(
        day=day,
        cycle=cycle_row,
        plan=plan,
        report=evaluate_okrs(plan, day),
        objectives=by_key,
        key_results=kr_by_key,
        inputs=kr_inputs,
        histories=histories,
        links=plan_links,
        visible=visible,
    )


# --- the alignment tree -----------------------------------------------------------------------


def alignment_tree_as_of(actor: Actor, cycle: Cycle, day: dt.date) -> list[TreeNode]:
    """The cycle's alignment tree as it stood at the end of ``day``: the same shape as
    `milepost.reports.queries.alignment_tree` (locked nodes for objectives the actor may not
    see), with the day's titles, targets and links and the engine's numbers as of that day."""
    past = okr_as_of(actor, cycle, day)
    return tree_from(past)


def tree_from(past: PastOkr) -> list[TreeNode]:
    """The alignment forest of a reconstructed cycle (see `alignment_tree_as_of`)."""
    objectives = sorted(
        ((k, o) for k, o in past.objectives.items() if past.in_cycle(o)),
        key=lambda item: (item[0], item[1].pk),
    )
    by_id = {o.pk: (k, o) for k, o in objectives}
    key_results: dict[int, list[tuple[str, KeyResult]]] = defaultdict(list)
    for path, kr in sorted(
        past.key_results.items(), key=lambda i: (i[0].rpartition("/")[2], i[1].pk)
    ):
        if kr.objective_id in by_id:
            key_results[kr.objective_id].append((path, kr))
    kr_ids = {kr.pk for items in key_results.values() for _, kr in items}
    under_objective: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    under_kr: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    has_parent: set[int] = set()
    for link in sorted(past.links, key=lambda a: a.pk):
        if link.child_id not in by_id:
            continue
        if link.parent_objective_id is not None and link.parent_objective_id in by_id:
            under_objective[link.parent_objective_id].append((link.child_id, link.weight))
            has_parent.add(link.child_id)
        elif link.parent_key_result_id is not None and link.parent_key_result_id in kr_ids:
            under_kr[link.parent_key_result_id].append((link.child_id, link.weight))
            has_parent.add(link.child_id)

    def build(objective_id: int, weight: Decimal, path: frozenset[int]) -> TreeNode:
        key, o = by_id[objective_id]
        result = past.report.objectives[key]
        path = path | {objective_id}

        def children(pairs: list[tuple[int, Decimal]]) -> list[TreeNode]:
            return [build(c, w, path) for c, w in pairs if c not in path]

        if objective_id not in past.visible:
            return TreeNode(
                locked=True,
                progress=result.progress,
                expected=result.expected,
                status=result.status.value,
                weight=weight,
                children=children(under_objective.get(objective_id, []))
                + [
                    node
                    for _, kr in key_results.get(objective_id, [])
                    for node in children(under_kr.get(kr.pk, []))
                ],
            )
        nodes = []
        for kr_path, kr in key_results.get(objective_id, []):
            r = past.report.key_results[kr_path]
            nodes.append(
                KeyResultNode(
                    id=kr.pk,
                    key=kr_path.rpartition("/")[2],
                    title=kr.title,
                    kind=kr.kind,
                    unit=kr.unit,
                    start_value=kr.start_value,
                    target_value=kr.target_value,
                    current_value=r.current,
                    progress=r.progress,
                    expected=r.expected,
                    status=r.status.value,
                    confidence=r.confidence,
                    owner=kr.owner_id,
                    children=children(under_kr.get(kr.pk, [])),
                )
            )
        return TreeNode(
            locked=False,
            id=o.pk,
            key=key,
            title=o.title,
            visibility=o.visibility,
            state=o.state,
            owner_team=o.owner_team_id,
            owner_user=o.owner_user_id,
            progress=result.progress,
            expected=result.expected,
            status=result.status.value,
            weight=weight,
            key_results=nodes,
            children=children(under_objective.get(objective_id, [])),
        )

    return [build(o.pk, Decimal(1), frozenset()) for _, o in objectives if o.pk not in has_parent]


# --- one objective, one key result ------------------------------------------------------------


@dataclass
class KeyResultAsOf:
    row: KeyResult  # the day's values
    input: KeyResultInput
    result: KeyResultResult
    history: list[CheckIn]  # the check-ins known that day, as the engine read them
    day: dt.date


@dataclass
class ObjectiveAsOf:
    row: Objective  # the day's values
    result: ObjectiveResult
    key_results: list[KeyResultAsOf]
    parents: list[Objective] = field(default_factory=list)  # visible ones
    children: list[Objective] = field(default_factory=list)
    day: dt.date = dt.date.min


def _kr_view(past: PastOkr, path: str) -> KeyResultAsOf:
    return KeyResultAsOf(
        row=past.key_results[path],
        input=past.inputs[path],
        result=past.report.key_results[path],
        history=past.histories[path],
        day=past.day,
    )


def objective_as_of(actor: Actor, objective: Objective, day: dt.date) -> ObjectiveAsOf | None:
    """The objective as it stood at the end of ``day`` (None if it did not exist yet or was
    archived then): its title and owners then, its key results then with the engine's numbers
    as of that day, and the objectives it was aligned with."""
    past = okr_as_of(actor, objective.cycle, day)
    key = next((k for k, o in past.objectives.items() if o.pk == objective.pk), None)
    if key is None:
        return None
    row = past.objectives[key]
    by_pk = {o.pk: o for o in past.objectives.values()}
    kr_objective = {kr.pk: kr.objective_id for kr in past.key_results.values()}
    parents, children = [], []
    for link in past.links:
        parent_id = link.parent_objective_id or kr_objective.get(link.parent_key_result_id or 0)
        if link.child_id == row.pk and parent_id in by_pk and parent_id in past.visible:
            parents.append(by_pk[parent_id])
        elif parent_id == row.pk and link.child_id in past.visible:
            children.append(by_pk[link.child_id])
    return ObjectiveAsOf(
        row=row,
        result=past.report.objectives[key],
        key_results=[
            _kr_view(past, path)
            for path in sorted(past.key_results)
            if past.key_results[path].objective_id == row.pk
        ],
        parents=parents,
        children=children,
        day=day,
    )


def key_result_as_of(actor: Actor, key_result: KeyResult, day: dt.date) -> KeyResultAsOf | None:
    """The key result as it stood at the end of ``day`` (None if it did not exist yet or was
    archived then), evaluated by the engine as of that day from the check-ins known then."""
    past = okr_as_of(actor, key_result.objective.cycle, day)
    path = next((p for p, kr in past.key_results.items() if kr.pk == key_result.pk), None)
    return _kr_view(past, path) if path is not None else None


# --- the roadmap ------------------------------------------------------------------------------


@dataclass
class RoadmapAsOf:
    plan: Plan
    okr: OkrReport
    roadmap: RoadmapReport
    initiative_ids: dict[str, int]
    day: dt.date


def _initiatives_as_of(
    organization: Organization, plan: Plan, moment: dt.datetime, day: dt.date
) -> tuple[tuple[Any, ...], dict[str, int]]:
    """The plan's initiatives with their fields, task completion and logged time as of the
    day; those created later are left out."""
    org_id = organization.pk
    rows = list(
        Initiative.objects.filter(
            organization_id=org_id, key__in=[i.key for i in plan.initiatives]
        ).select_related("team")
    )
    past = fields_as_of(Initiative, rows, moment, org_id)
    ids = [r.pk for r in rows]
    done = dict(
        Task.objects.filter(initiative_id__in=ids, archived_at__isnull=True, status=TaskStatus.DONE)
        .filter(Q(done_at__isnull=True) | Q(done_at__lt=moment))
        .values("initiative_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("initiative_id", "n")
    )
    time = {
        row["initiative_id"]: (row["hours"] or _ZERO, row["cost"] or _ZERO)
        for row in TimeEntry.objects.filter(
            initiative_id__in=ids, archived_at__isnull=True, date__lte=day
        )
        .values("initiative_id")
        .annotate(hours=Sum("hours"), cost=Sum("cost"))
        .order_by()
    }
    teams = dict(
        Team.objects.filter(organization_id=org_id, archived_at__isnull=True).values_list(
            "pk", "key"
        )
    )
    by_key = {r.key: past[r.pk] for r in rows}
    inputs = []
    for initiative in plan.initiatives:
        p = by_key.get(initiative.key)
        if p is None:
            inputs.append(initiative)
            continue
        if not p.live:
            continue
        r = p.row
        hours, time_cost = time.get(r.pk, (_ZERO, _ZERO))
        inputs.append(
            dataclasses.replace(
                initiative,
                title=r.title,
                team_key=teams.get(r.team_id) if r.team_id else None,
                status=InitiativeStatus(r.status),
                start=r.start_date,
                end=r.end_date,
                effort_days=r.effort_days,
                budget=r.budget,
                actual_cost=r.actual_cost + time_cost,
                planned_hours=r.planned_hours,
                logged_hours=hours,
                tasks_done=min(done.get(r.pk, 0), initiative.tasks_total),
            )
        )
    return tuple(inputs), {r.key: r.pk for r in rows if by_key[r.key].live}


def roadmap_as_of(actor: Actor, cycle: Cycle, day: dt.date) -> RoadmapAsOf:
    """The cycle's roadmap as it stood at the end of ``day``: the OKRs then (`okr_as_of`), the
    initiatives' dates, status, effort and money then, the milestones then, evaluated by the
    engine as of that day (schedule, plan-health findings, priorities)."""
    organization = actor.organization
    moment = end_of_day(organization, day)
    current = load_plan(organization, cycle=cycle)
    past_okr = okr_as_of(actor, cycle, day)
    initiatives, ids = _initiatives_as_of(organization, current, moment, day)
    known = {kr.key for kr in past_okr.plan.key_results}
    initiatives = tuple(
        dataclasses.replace(
            i, key_results=tuple(link for link in i.key_results if link.key_result in known)
        )
        for i in initiatives
    )
    milestone_rows = list(
        Milestone.objects.filter(
            organization_id=organization.pk, key__in=[m.key for m in current.milestones]
        )
    )
    past_milestones = {
        p.row.key: p
        for p in fields_as_of(Milestone, milestone_rows, moment, organization.pk).values()
    }
    milestones = []
    for m in current.milestones:
        p = past_milestones.get(m.key)
        if p is None:
            milestones.append(m)
        elif p.live:
            milestones.append(
                dataclasses.replace(m, name=p.row.name, on=p.row.date, done_on=p.row.done_on)
            )
    present = {i.key for i in initiatives} | {m.key for m in milestones}
    cycles = past_okr.plan.cycles
    if all(c.key != cycle.key for c in cycles) and past_okr.cycle is not None:
        c = past_okr.cycle
        cycles = (*cycles, CycleInput(c.key, c.name, c.start_date, c.end_date, CycleState(c.state)))
    plan = dataclasses.replace(
        past_okr.plan,
        cycles=cycles,
        initiatives=initiatives,
        milestones=tuple(milestones),
        dependencies=tuple(
            d for d in current.dependencies if d.predecessor in present and d.successor in present
        ),
    )
    okr = evaluate_okrs(plan, day)
    return RoadmapAsOf(plan, okr, evaluate_roadmap(plan, day, okr), ids, day)


# --- baseline against what happened -----------------------------------------------------------


@dataclass
class BaselineComparison:
    """One key result of a cycle's baseline against what happened."""

    objective_title: str
    title: str
    key_result_id: int
    baseline_target: str
    baseline_due: str
    current_target: str | None  # None: removed since the baseline
    current_due: str | None
    value: Decimal | None  # the latest value (as of the cycle's last day or today)
    progress_vs_baseline: Decimal | None
    progress_vs_current: Decimal | None
    score_vs_baseline: str = ""
    score_vs_current: str = ""
    explanation: Explanation | None = None

    @property
    def changed(self) -> bool:
        return (self.current_target, self.current_due) != (self.baseline_target, self.baseline_due)


def baseline_comparison(actor: Actor, cycle: Cycle) -> list[BaselineComparison]:
    """Each key result of the cycle's baseline (the plan as agreed at activation; empty if it
    was never activated) against what happened: its target and due date then and now, its
    latest value, and its progress and score measured against the baseline and against the
    current plan (both by the engine, as of the cycle's last day or today if earlier). Key
    results the actor may not see are left out."""
    baseline = cycle.baseline or {}
    if not baseline.get("objectives"):
        return []
    organization = actor.organization
    day = max(cycle.start_date, min(organization_today(organization), cycle.end_date))
    visible_ids = set(
        Objective.objects.visible_to(actor)
        .filter(pk__in=[o["id"] for o in baseline["objectives"]])
        .values_list("pk", flat=True)
    )
    kr_ids = [
        k["id"] for o in baseline["objectives"] if o["id"] in visible_ids for k in o["key_results"]
    ]
    rows = {
        kr.pk: kr
        for kr in KeyResult.objects.filter(
            pk__in=kr_ids, organization_id=organization.pk
        ).select_related("objective__cycle", "owner")
    }
    checkins: dict[int, list[CheckIn]] = defaultdict(list)
    for c in CheckIn.objects.filter(key_result_id__in=kr_ids):
        checkins[c.key_result_id].append(c)
    milestones: dict[int, list[Milestone]] = defaultdict(list)
    for m in Milestone.objects.filter(key_result_id__in=kr_ids, archived_at__isnull=True):
        milestones[m.key_result_id or 0].append(m)
    settings = organization.engine_settings()
    out: list[BaselineComparison] = []
    for o in baseline["objectives"]:
        if o["id"] not in visible_ids:
            continue
        for k in o["key_results"]:
            kr = rows.get(k["id"])
            live = kr is not None and kr.archived_at is None and kr.objective.archived_at is None
            if kr is None:
                out.append(
                    BaselineComparison(
                        o["title"],
                        k["title"],
                        k["id"],
                        k["target_value"],
                        k["due_date"],
                        None,
                        None,
                        None,
                        None,
                        None,
                    )
                )
                continue
            current_in = key_result_input(kr, checkins.get(kr.pk, ()), milestones.get(kr.pk, ()))
            baseline_in = dataclasses.replace(
                current_in,
                start=Decimal(k["start_value"]),
                target=Decimal(k["target_value"]),
                due=dt.date.fromisoformat(k["due_date"]),
            )
            now = evaluate_key_result(current_in, day, settings, with_forecast=False)
            then = evaluate_key_result(baseline_in, day, settings, with_forecast=False)
            out.append(
                BaselineComparison(
                    objective_title=o["title"],
                    title=kr.title,
                    key_result_id=kr.pk,
                    baseline_target=k["target_value"],
                    baseline_due=k["due_date"],
                    current_target=_plain(kr.target_value) if live else None,
                    current_due=kr.effective_due_date.isoformat() if live else None,
                    value=now.current,
                    progress_vs_baseline=then.progress,
                    progress_vs_current=now.progress if live else None,
                    score_vs_baseline=score(then.progress).grade,
                    score_vs_current=score(now.progress).grade if live else "",
                    explanation=then.explanation,
                )
            )
    return out


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text


__all__ = [
    "BaselineComparison",
    "KeyResultAsOf",
    "ObjectiveAsOf",
    "PastOkr",
    "PastRow",
    "RoadmapAsOf",
    "alignment_tree_as_of",
    "baseline_comparison",
    "end_of_day",
    "fields_as_of",
    "key_result_as_of",
    "objective_as_of",
    "okr_as_of",
    "roadmap_as_of",
    "tree_from",
]
