"""An organization's plan from the database as a plan file: `export_plan` and `export_text`.

The export holds what the plan-file format holds (docs/plan-format.md), read from the live
rows (archived ones are left out, as the engine leaves them out), and it is written by
`milepost.plans.canonical`, so the text is deterministic:

* every list is in a fixed order that does not depend on the database: teams, objectives,
  initiatives by key; cycles by start date; key results by key within their objective;
  check-ins oldest first (as the engine reads the history: a correction replaces the
  check-in it corrects); tasks in the order they were created; milestones by date;
* numbers are written in their shortest exact form (``1.500000`` in a column is ``1.5``);
* a person is their email address.

What a plan file cannot hold is not exported (backups keep it: `milepost.integrations.backup`):
time entries (so neither ``logged_hours`` nor the cost of logged time: ``actual_cost`` is the
initiative's own recorded spend), check-in authors and correction history, objective
visibility, initiatives' business case and closure notes, retrospectives, members and roles.

Promise: for an organization exported with `export_text`, imported into an empty
organization with `milepost.plans.importer.import_plan`, and exported again, the two texts
are byte-identical.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from django.db.models import DateTimeField, Func

from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    CycleInput,
    CycleState,
    DependencyInput,
    DependencyType,
    EngineSettings,
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    MilestoneInput,
    MilestoneRef,
    ObjectiveInput,
    ObjectiveState,
    Plan,
    TeamInput,
)
from milepost.engine.model import Curve as CurveKind
from milepost.errors import NotFound
from milepost.okrs.engine_io import checkin_history, live_key_results, live_objectives
from milepost.okrs.models import Alignment, CheckIn, Cycle
from milepost.organizations.models import Organization, Team
from milepost.plans.canonical import canonical_text
from milepost.plans.document import PlanDocument, TaskSpec, TaskStatus, task_counts
from milepost.roadmap.engine_io import plan_initiatives, plan_milestones
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult
from milepost.work.models import Task

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

__all__ = ["export_plan", "export_text", "task_key", "tidy_decimal"]

ExportFormat = Literal["yaml", "json"]


def tidy_decimal(value: Decimal) -> Decimal:
    """The shortest exact form of a number: ``1.500000`` → ``1.5``, ``4000000.000`` →
    ``4000000`` (never an exponent, never ``-0``)."""
    if value == 0:
        return Decimal(0)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _tidy_or_none(value: Decimal | None) -> Decimal | None:
    return None if value is None else tidy_decimal(value)


class _KeyResultRow(NamedTuple):
    """The columns of a key result a plan file holds (its objective is found by id)."""

    pk: int
    objective_id: int
    key: str
    title: str
    description: str
    kind: str
    unit: str
    start_value: Decimal
    target_value: Decimal
    due_date: dt.date | None
    weight: Decimal
    curve: str
    maintain_direction: str
    owner_id: int | None


class _MilestoneRow(NamedTuple):
    """The columns of a milestone a plan file holds."""

    pk: int
    key: str
    name: str
    date: dt.date
    weight: Decimal
    done_on: dt.date | None
    initiative_id: int | None
    key_result_id: int | None


class _RecordedOrder(Func):
    """A check-in's ``recorded_at``, read only to order the check-ins of one day: on
    PostgreSQL as the UTC wall-clock time (``timestamp``, which psycopg reads in C) instead of
    ``timestamptz`` (which Django reads through a Python loader: 2 s for the 1.4 M check-ins
    of a full-size export). The order is the same; the values are naive there."""

    template = "%(expressions)s"
    output_field = DateTimeField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Sequence[Any]]:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s AT TIME ZONE 'UTC')", **extra_context
        )


class _CheckInRow(NamedTuple):
    """A check-in as `checkin_history` orders it, with its value and note."""

    pk: int
    key_result_id: int
    corrects_id: int | None
    effective_date: dt.date
    recorded_at: dt.datetime
    value: Decimal
    confidence: int | None
    note: str
    archived_at: dt.datetime | None = None


# A million tasks: their status by a dict lookup rather than the enum's call machinery.
_TASK_STATUSES: dict[str, TaskStatus] = {status.value: status for status in TaskStatus}


def task_key(key: str, pk: int) -> str:
    """A task's key in a plan file: its own, or ``task-<id>`` for a task created without one
    (the importer recognises that name for the same task)."""
    return key or f"task-{pk}"


def _settings(organization: Organization) -> EngineSettings:
    # A stored setting equal to the default is written as the default (so it is left out):
    # the column holds 0.100 where the default is written 0.10.
    stored = organization.engine_settings()
    default = EngineSettings()
    values = {}
    for f in fields(EngineSettings):
        value = getattr(stored, f.name)
        if isinstance(value, Decimal):
            value = (
                getattr(default, f.name)
                if value == getattr(default, f.name)
                else (tidy_decimal(value))
            )
        values[f.name] = value
    return EngineSettings(**values)


def _cycle_input(cycle: Cycle) -> CycleInput:
    return CycleInput(
        cycle.key, cycle.name, cycle.start_date, cycle.end_date, CycleState(cycle.state)
    )


def _email(user_id: int | None, emails: dict[int, str]) -> str | None:
    return emails.get(user_id) if user_id is not None else None


def _user_emails(ids: Iterable[int | None]) -> dict[int, str]:
    from milepost.accounts.models import User

    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return dict(User.objects.filter(pk__in=wanted).values_list("pk", "email"))


def export_plan(organization: Organization, *, cycle_key: str | None = None) -> PlanDocument:
    """The organization's plan (or one cycle's) as a plan document, ready for
    `milepost.plans.canonical.canonical_text`.

    With ``cycle_key``: that cycle's objectives and key results; the initiatives of the cycle,
    those dated within it and those linked to its key results; their milestones and the
    dependencies between them (the selection of `milepost.roadmap.engine_io.load_plan`). Links
    to anything outside the selection are left out; importing the file never removes them.
    Raises `NotFound` for an unknown or archived cycle. A fixed number of queries.
    """
    org_id = organization.pk
    cycle: Cycle | None = None
    if cycle_key is not None:
        cycle = Cycle.objects.filter(
            organization_id=org_id, key=cycle_key, archived_at__isnull=True
        ).first()
        if cycle is None:
            raise NotFound(f"Cycle {cycle_key!r} not found.")

    objectives_qs = live_objectives(org_id).select_related("cycle")
    if cycle is not None:
        objectives_qs = objectives_qs.filter(cycle=cycle)
    objective_rows = sorted(objectives_qs, key=lambda o: o.key)
    objective_by_id = {o.pk: o for o in objective_rows}

    key_results_qs = live_key_results(org_id).filter(objective__in=objectives_qs.values("pk"))
    kr_rows = sorted(
        map(_KeyResultRow._make, key_results_qs.values_list(*_KeyResultRow._fields)),
        key=lambda kr: (objective_by_id[kr.objective_id].key, kr.key),
    )
    kr_by_id = {kr.pk: kr for kr in kr_rows}
    kr_path = {kr.pk: f"{objective_by_id[kr.objective_id].key}/{kr.key}" for kr in kr_rows}

    teams = {t.pk: t for t in Team.objects.filter(organization_id=org_id, archived_at__isnull=True)}

    # Cycles: all live ones for the whole plan; for one cycle, that cycle.
    if cycle is None:
        cycle_rows = list(Cycle.objects.filter(organization_id=org_id, archived_at__isnull=True))
    else:
        cycle_rows = [cycle]
    cycle_rows.sort(key=lambda c: (c.start_date, c.end_date, c.key))

    initiatives_qs = plan_initiatives(organization, cycle)
    initiative_rows = sorted(initiatives_qs, key=lambda i: i.key)
    initiative_by_id = {i.pk: i for i in initiative_rows}
    milestone_rows = sorted(
        map(
            _MilestoneRow._make,
            plan_milestones(organization, initiatives_qs, cycle).values_list(
                *_MilestoneRow._fields
            ),
        ),
        key=lambda m: (m.date, m.key),
    )
    milestone_by_id = {m.pk: m for m in milestone_rows}

    # A million tasks: each row read as a tuple (no model instance) becomes its spec at once;
    # the assignee's email comes with it.
    task_specs_by_initiative: dict[int, list[TaskSpec]] = defaultdict(list)
    for pk, initiative_id, key, title, status, estimate, assignee, due in (
        Task.objects.filter(initiative__in=initiatives_qs.values("pk"), archived_at__isnull=True)
        .order_by("id")
        .values_list(
            "pk",
            "initiative_id",
            "key",
            "title",
            "status",
            "estimate_hours",
            "assignee__email",
            "due_date",
        )
    ):
        task_specs_by_initiative[initiative_id].append(
            TaskSpec(
                task_key(key, pk),
                title,
                _TASK_STATUSES[status],
                None if estimate is None else tidy_decimal(estimate),
                assignee,
                due,
            )
        )

    emails = _user_emails(
        [o.owner_user_id for o in objective_rows]
        + [kr.owner_id for kr in kr_rows]
        + [i.owner_id for i in initiative_rows]
    )

    # Alignment between exported objectives and key results.
    links: dict[int, list[AlignmentLink]] = defaultdict(list)
    for child_id, parent_objective_id, parent_kr_id, weight in Alignment.objects.filter(
        organization_id=org_id, archived_at__isnull=True, child__in=objectives_qs.values("pk")
    ).values_list("child_id", "parent_objective_id", "parent_key_result_id", "weight"):
        if parent_objective_id in objective_by_id:
            parent = objective_by_id[parent_objective_id].key
            links[child_id].append(
                AlignmentLink(parent_objective=parent, weight=tidy_decimal(weight))
            )
        elif parent_kr_id in kr_by_id:
            links[child_id].append(
                AlignmentLink(parent_key_result=kr_path[parent_kr_id], weight=tidy_decimal(weight))
            )
    for rows in links.values():
        rows.sort(key=lambda link: (link.parent_objective or "", link.parent_key_result or ""))

    # Check-ins, as the engine reads the history, with their notes.
    # The key results' rows as a join (a list of 100,000 ids is slow to send and to plan),
    # and the organization named too: by the join alone PostgreSQL read the check-ins of
    # every organization in the database (4.2 s instead of 0.45 s beside eight others).
    checkins: dict[int, list[_CheckInRow]] = defaultdict(list)
    for row in (
        CheckIn.objects.filter(
            organization_id=org_id,
            key_result__in=key_results_qs.values("pk"),
            archived_at__isnull=True,
        )
        .annotate(recorded=_RecordedOrder("recorded_at"))
        .values_list(*_CheckInRow._fields[:4], "recorded", *_CheckInRow._fields[5:-1])
    ):
        checkins[row[1]].append(_CheckInRow(*row))

    # Milestones that count toward an exported key result.
    kr_milestones: dict[int, list[_MilestoneRow]] = defaultdict(list)
    for milestone in milestone_rows:
        if milestone.key_result_id in kr_by_id:
            kr_milestones[milestone.key_result_id].append(milestone)

    descriptions: dict[str, str] = {}
    notes: dict[str, tuple[str, ...]] = {}
    objective_inputs: list[ObjectiveInput] = []
    for o in objective_rows:
        if o.description:
            descriptions[f"objective:{o.key}"] = o.description
        team = teams.get(o.owner_team_id) if o.owner_team_id is not None else None
        objective_inputs.append(
            ObjectiveInput(
                key=o.key,
                title=o.title,
                cycle_key=o.cycle.key,
                team_key=team.key if team is not None else None,
                owner=_email(o.owner_user_id, emails),
                weight=tidy_decimal(o.weight),
                state=ObjectiveState(o.state),
                aligns_to=tuple(links.get(o.pk, ())),
            )
        )

    kr_inputs: list[KeyResultInput] = []
    for kr in kr_rows:
        path = kr_path[kr.pk]
        history = checkin_history(checkins.get(kr.pk, ()))
        if any(c.note for c in history):
            notes[path] = tuple(c.note for c in history)
        if kr.description:
            descriptions[f"kr:{path}"] = kr.description
        objective = objective_by_id[kr.objective_id]
        kr_cycle = objective.cycle
        kr_inputs.append(
            KeyResultInput(
                key=path,
                objective_key=objective.key,
                title=kr.title,
                kind=KeyResultKind(kr.kind),
                start=tidy_decimal(kr.start_value),
                target=tidy_decimal(kr.target_value),
                window_start=kr_cycle.start_date,
                due=kr.due_date or kr_cycle.end_date,
                weight=tidy_decimal(kr.weight),
                curve=CurveKind(kr.curve),
                maintain_direction=MaintainDirection(kr.maintain_direction),
                checkins=tuple(
                    CheckInPoint(c.effective_date, tidy_decimal(c.value), c.confidence)
                    for c in history
                ),
                milestones=tuple(
                    MilestoneRef(m.key, m.date, tidy_decimal(m.weight), m.done_on)
                    for m in kr_milestones.get(kr.pk, ())
                ),
                owner=_email(kr.owner_id, emails),
                unit=kr.unit,
            )
        )

    kr_links: dict[int, list[InitiativeKeyResultLink]] = defaultdict(list)
    for initiative_id, kr_id, weight in InitiativeKeyResult.objects.filter(
        organization_id=org_id,
        archived_at__isnull=True,
        initiative__in=initiatives_qs.values("pk"),
        key_result__in=key_results_qs.values("pk"),
    ).values_list("initiative_id", "key_result_id", "weight"):
        kr_links[initiative_id].append(
            InitiativeKeyResultLink(kr_path[kr_id], tidy_decimal(weight))
        )

    task_specs: dict[str, tuple[TaskSpec, ...]] = {}
    initiative_inputs: list[InitiativeInput] = []
    for i in initiative_rows:
        if i.description:
            descriptions[f"initiative:{i.key}"] = i.description
        specs = tuple(task_specs_by_initiative.get(i.pk, ()))
        if specs:
            task_specs[i.key] = specs
        total, done = task_counts(specs)
        team = teams.get(i.team_id) if i.team_id is not None else None
        initiative_inputs.append(
            InitiativeInput(
                key=i.key,
                title=i.title,
                team_key=team.key if team is not None else None,
                status=InitiativeStatus(i.status),
                start=i.start_date,
                end=i.end_date,
                effort_days=tidy_decimal(i.effort_days),
                budget=_tidy_or_none(i.budget),
                actual_cost=tidy_decimal(i.actual_cost),
                planned_hours=_tidy_or_none(i.planned_hours),
                tasks_total=total,
                tasks_done=done,
                key_results=tuple(sorted(kr_links.get(i.pk, ()), key=lambda x: x.key_result)),
                owner=_email(i.owner_id, emails),
            )
        )

    milestone_inputs = tuple(
        MilestoneInput(
            key=m.key,
            name=m.name,
            on=m.date,
            initiative_key=(
                initiative_by_id[m.initiative_id].key
                if m.initiative_id in initiative_by_id
                else None
            ),
            done_on=m.done_on,
        )
        for m in milestone_rows
    )
    dependency_inputs = _dependencies(org_id, initiative_by_id, milestone_by_id)

    team_rows = sorted(teams.values(), key=lambda t: t.key)
    plan = Plan(
        organization_name=organization.name,
        timezone=organization.timezone,
        settings=_settings(organization),
        teams=tuple(
            TeamInput(
                key=t.key,
                name=t.name,
                parent_key=teams[t.parent_id].key if t.parent_id in teams else None,
                capacity_days_per_week=tidy_decimal(t.capacity_days_per_week),
            )
            for t in team_rows
        ),
        cycles=tuple(_cycle_input(c) for c in cycle_rows),
        objectives=tuple(objective_inputs),
        key_results=tuple(kr_inputs),
        initiatives=tuple(initiative_inputs),
        milestones=milestone_inputs,
        dependencies=dependency_inputs,
    )
    return PlanDocument(plan=plan, descriptions=descriptions, checkin_notes=notes, tasks=task_specs)


def _dependencies(
    org_id: int,
    initiatives: dict[int, Initiative],
    milestones: dict[int, _MilestoneRow],
) -> tuple[DependencyInput, ...]:
    rows = Dependency.objects.filter(organization_id=org_id, archived_at__isnull=True).values_list(
        "predecessor_initiative_id",
        "predecessor_milestone_id",
        "successor_initiative_id",
        "successor_milestone_id",
        "type",
        "lag_days",
    )
    found: list[DependencyInput] = []
    for p_ini, p_ms, s_ini, s_ms, kind, lag in rows:
        predecessor = initiatives.get(p_ini) if p_ini is not None else milestones.get(p_ms)
        successor = initiatives.get(s_ini) if s_ini is not None else milestones.get(s_ms)
        if predecessor is None or successor is None:
            continue  # an end outside the exported plan
        found.append(
            DependencyInput(
                predecessor=predecessor.key,
                successor=successor.key,
                type=DependencyType(kind),
                lag_days=lag,
            )
        )
    found.sort(key=lambda d: (d.predecessor, d.successor, d.type.value))
    return tuple(found)


def export_text(
    organization: Organization, *, cycle_key: str | None = None, fmt: ExportFormat = "yaml"
) -> str:
    """The canonical plan-file text (YAML or JSON) of `export_plan`."""
    return canonical_text(export_plan(organization, cycle_key=cycle_key), fmt)
