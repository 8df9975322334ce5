"""The bulk path of a plan import: into an organization that holds no plan yet.

`milepost.plans.importer.import_plan` writes item by item through the services (each in a
savepoint) so that an import into an organization with data merges by key and lists every
error with its path. Into an organization with no plan data (typically one the command line
creates for this very import) nothing can merge: every item of the file is created. There the
importer takes this path instead:

1. **Validate everything in memory**, in the order and with the rules of the item path: the
   same people resolution (`People`), the same checks the services make (a binary key result
   starts at 0 and ends at 1, a due date inside its cycle, an initiative owner or task
   assignee who is an active member, a milestone not done in the future, a check-in's date
   and value, Django's field validation of every row with its own messages, via `FieldCheck`),
   the same failure cascade (an item whose team, cycle, objective, key result or initiative
   was refused is skipped, not reported twice). Any error: the same errors at the same paths,
   and nothing is inserted.
2. **Insert** every row with `bulk_create` (large batches) in dependency order, each row in
   its final state (a team with its parent, a cycle with its state, a cancelled initiative
   cancelled, a done milestone done) with the version the item path would leave it at.
3. **Audit**: one ``<model>.create`` event per row, in bulk, with the row's snapshot (the
   actions the services write: ``team.create``, ``keyresult.create``, ``initiative.link``,
   ``dependency.add``, ``checkin.record``, ...), and one ``plan.import`` event for the
   organization with the counts per kind.

The organization's settings and new members go through the services as on the item path
(a handful of rows). A check the bulk path cannot make exactly as the item path does raises
`NeedItemPath` before anything is inserted: the importer rolls back to before this path and
imports item by item instead. That is the case for a dependency loop (the service reports
it with the items in the order it walks them).

The caller (the importer) holds the transaction, recomputes the stored progress afterwards
and rolls back on any error or for a dry run.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from milepost.audit.context import current_request_id
from milepost.audit.models import AuditEvent
from milepost.audit.services import jsonable
from milepost.engine.model import (
    CycleState,
    DependencyType,
    InitiativeStatus,
    KeyResultKind,
    ObjectiveState,
)
from milepost.engine.okr import evaluate_okrs
from milepost.errors import InvalidInput
from milepost.okrs.engine_io import kr_stored_values, objective_stored_values, organization_today
from milepost.okrs.key_results import checkin_date_error
from milepost.okrs.models import Alignment, CheckIn, CheckInSource, Cycle, KeyResult, Objective
from milepost.organizations.models import Organization, Team
from milepost.plans.document import IssuePath, PlanDocument
from milepost.plans.field_check import FieldCheck
from milepost.plans.import_context import ImportContext, show
from milepost.plans.import_okrs import (
    CHECKIN_FIELDS,
    CYCLE_FIELDS,
    KR_FIELDS,
    LATER_STATES,
    OBJECTIVE_FIELDS,
    TEAM_FIELDS,
    import_settings,
)
from milepost.plans.import_roadmap import (
    CLOSED_BY_IMPORT,
    INITIATIVE_FIELDS,
    MILESTONE_FIELDS,
    TASK_FIELDS,
    counted_toward,
)
from milepost.plans.import_support import KIND_LABELS, FieldChange
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.servicekit import invalid_from
from milepost.work.models import Task, TaskStatus

if TYPE_CHECKING:
    from milepost.accounts.models import User
    from milepost.organizations.access import Actor

__all__ = ["NeedItemPath", "NewRows", "bulk_import", "has_plan_data"]

BATCH = 2000
ALIGNMENT_FIELDS = {"parent_objective": "objective", "parent_key_result": "key_result"}
PLAN_MODELS: tuple[type[models.Model], ...] = (
    Team,
    Cycle,
    Objective,
    KeyResult,
    Alignment,
    CheckIn,
    Initiative,
    InitiativeKeyResult,
    Milestone,
    Dependency,
    Task,
)


class NeedItemPath(Exception):
    """The file needs a check only the item path makes exactly; nothing was inserted."""


def has_plan_data(organization: Organization) -> bool:
    """Whether the organization holds any plan row (archived ones included)."""
    return any(
        model._default_manager.filter(organization_id=organization.pk).exists()
        for model in PLAN_MODELS
    )


def _checker(model: type[models.Model], *exclude: str) -> FieldCheck:
    return FieldCheck(model, exclude)


class NewRows[M: models.Model]:
    """New, unsaved instances of one model for rows counted in millions (a full-size
    import's tasks and check-ins), without `Model.__init__`: its keyword handling, reference
    descriptors and signals cost ~15 µs a row (this: 5), about 25 s for 2.4 M rows.

    ``make(**values)`` gives what ``model(**values)`` gives — every concrete field at its
    default unless given, a reference given as a row (saved or not) cached on the instance
    with its id, or given by its id — for models with no callable default, no reference to a
    column other than an id and nothing listening to their ``pre_init``/``post_init`` (checked
    when made)."""

    def __init__(self, model: type[M]) -> None:
        fields = model._meta.concrete_fields
        if any(callable(f.default) for f in fields if f.has_default()):
            raise TypeError(f"{model.__name__} has a callable default: use its constructor")
        if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
            raise TypeError(f"{model.__name__} has init listeners: use its constructor")
        if any(isinstance(f, models.ForeignKey) and not f.target_field.primary_key for f in fields):
            raise TypeError(f"{model.__name__} refers to a column other than an id")
        self.model = model
        self.defaults = {f.attname: f.get_default() for f in fields}
        self.references = {f.name: f.attname for f in fields if f.is_relation}

    def make(self, **values: Any) -> M:
        row = self.model.__new__(self.model)
        row._state = ModelState()
        columns = dict(self.defaults)
        cached: dict[str, Any] = {}
        references = self.references
        for name, value in values.items():
            attname = references.get(name)
            if attname is None:
                columns[name] = value
            else:
                cached[name] = value
                columns[attname] = None if value is None else value.pk
        if len(columns) != len(self.defaults):
            unknown = sorted(set(columns) - set(self.defaults))
            raise TypeError(f"{self.model.__name__} has no field {', '.join(unknown)}")
        # One by one in the constructor's order (not `__dict__.update`): the instances then
        # share their attribute names as constructed ones do (~250 bytes a row less). The
        # referenced rows are cached after, as a reference's id descriptor would drop them.
        for name, value in columns.items():
            setattr(row, name, value)
        row._state.fields_cache = cached
        return row


class _Bulk:
    """One bulk import: the rows built from the file, then inserted."""

    def __init__(self, ctx: ImportContext, document: PlanDocument) -> None:
        self.ctx = ctx
        self.document = document
        self.plan = document.plan
        self.now = timezone.now()
        self.org_id = ctx.organization.pk
        self.team_check = _checker(Team, "organization", "parent", "lead")
        self.cycle_check = _checker(Cycle, "organization", "parent")
        self.objective_check = _checker(
            Objective, "organization", "cycle", "owner_team", "owner_user", "carried_from"
        )
        self.kr_check = _checker(KeyResult, "organization", "objective", "owner", "carried_from")
        self.alignment_check = _checker(
            Alignment, "organization", "child", "parent_objective", "parent_key_result"
        )
        self.initiative_check = _checker(Initiative, "organization", "team", "owner", "cycle")
        self.link_check = _checker(InitiativeKeyResult, "organization", "initiative", "key_result")
        self.milestone_check = _checker(Milestone, "organization", "initiative", "key_result")
        self.dependency_check = _checker(
            Dependency,
            "organization",
            "predecessor_initiative",
            "predecessor_milestone",
            "successor_initiative",
            "successor_milestone",
        )
        self.task_check = _checker(Task, "organization", "initiative", "assignee")
        self.checkin_check = _checker(
            CheckIn, "organization", "key_result", "author", "corrects", "idempotency_key"
        )
        self.new_tasks = NewRows(Task)
        self.new_checkins = NewRows(CheckIn)
        self.alignments: list[Alignment] = []
        self.links: list[InitiativeKeyResult] = []
        self.dependency_rows: list[tuple[str, Dependency]] = []
        self.tasks: list[Task] = []
        self.checkins: list[tuple[str, KeyResult, CheckIn]] = []
        # Changes the item path makes after creating a row (each its own audit event):
        # id(row) → [(action, {attname: (before, after)})].
        self.followups: dict[int, list[tuple[str, dict[str, tuple[Any, Any]]]]] = {}

    def later(self, row: models.Model, action: str, **changes: Any) -> None:
        """Give a built row a change the item path applies after creating it: the row gets
        the new values (and a version), the audit an update event, as from `apply_update`
        (its ``after`` read from the row once inserted, so a reference carries its id)."""
        diff = {name: (getattr(row, name), value) for name, value in changes.items()}
        for name, value in changes.items():
            setattr(row, name, value)
        row.version += 1  # type: ignore[attr-defined]
        self.followups.setdefault(id(row), []).append((action, diff))

    # --- refusals, as `ImportContext.step` reports them ---------------------------------------

    def refuse(
        self,
        kind: str,
        key: str,
        path: IssuePath,
        errors: Mapping[str, list[str]] | ValidationError,
        fields: Mapping[str, str | None],
    ) -> None:
        if isinstance(errors, ValidationError):
            exc = invalid_from(errors)
        else:
            exc = InvalidInput("; ".join(m for ms in errors.values() for m in ms), errors=errors)
            exc.errors = {name: list(messages) for name, messages in errors.items()}
        self.ctx.report(path, exc, fields)
        self.ctx.failed.add((kind, key))

    def valid(
        self,
        check: FieldCheck,
        row: models.Model,
        kind: str,
        key: str,
        path: IssuePath,
        fields: Mapping[str, str | None],
    ) -> bool:
        error = check.errors(row)
        if error is None:
            return True
        self.refuse(kind, key, path, error, fields)
        return False

    def member(self, user: User | None, name: str) -> dict[str, list[str]]:
        """The roadmap and work services take only an *active* member as owner/assignee."""
        if user is not None and not user.is_active:
            return {name: ["is not a member of this organization"]}
        return {}

    # --- validation and building, in the item path's order ---------------------------------

    def teams(self) -> None:
        ctx = self.ctx
        for team in self.plan.teams:
            key, path = team.key, ctx.path("team", team.key)
            ctx.seen("team", key)
            row = Team(
                organization_id=self.org_id,
                key=team.key,
                name=team.name.strip(),
                capacity_days_per_week=team.capacity_days_per_week,
            )
            if self.valid(self.team_check, row, "team", key, path, TEAM_FIELDS):
                ctx.teams[key] = row
                ctx.changed("team", key, "created")
        for team in self.plan.teams:
            child = ctx.teams.get(team.key)
            if child is None or not team.parent_key:
                continue
            parent = ctx.teams.get(team.parent_key)
            if parent is None or ctx.is_failed("team", team.parent_key):
                continue
            self.later(child, "team.update", parent_id=None)
            child.parent = parent  # the id is known once the parent is inserted

    def cycles(self) -> None:
        ctx = self.ctx
        for cycle in self.plan.cycles:
            key, path = cycle.key, ctx.path("cycle", cycle.key)
            ctx.seen("cycle", key)
            row = Cycle(
                organization_id=self.org_id,
                key=key,
                name=cycle.name.strip(),
                start_date=cycle.start,
                end_date=cycle.end,
            )
            if self.valid(self.cycle_check, row, "cycle", key, path, CYCLE_FIELDS):
                ctx.cycles[key] = row
                ctx.changed("cycle", key, "created")

    def objectives(self) -> None:
        ctx, document = self.ctx, self.document
        for objective in self.plan.objectives:
            key, path = objective.key, ctx.path("objective", objective.key)
            ctx.seen("objective", key)
            cycle = ctx.cycles.get(objective.cycle_key)
            team = ctx.teams.get(objective.team_key) if objective.team_key else None
            if (
                cycle is None
                or ctx.is_failed("cycle", objective.cycle_key)
                or ctx.is_failed("team", objective.team_key)
            ):
                ctx.failed.add(("objective", key))
                continue
            owner = ctx.people.resolve(objective.owner, (*path, "owner"))
            later = objective.state in LATER_STATES
            row = Objective(
                organization_id=self.org_id,
                cycle=cycle,
                key=key,
                title=objective.title.strip(),
                description=document.descriptions.get(f"objective:{key}", ""),
                owner_team=team,
                owner_user=owner,
                state=ObjectiveState.ACTIVE.value if later else objective.state.value,
                weight=objective.weight,
            )
            if not self.valid(self.objective_check, row, "objective", key, path, OBJECTIVE_FIELDS):
                continue
            if later:  # closed or cancelled last, as the item path does
                self.later(row, "objective.update", state=objective.state.value)
            ctx.objectives[key] = row
            ctx.changed("objective", key, "created")

    def key_results(self) -> None:
        ctx, document = self.ctx, self.document
        for kr in self.plan.key_results:
            key, path = kr.key, ctx.path("key_result", kr.key)
            ctx.seen("key_result", key)
            objective = ctx.objectives.get(kr.objective_key)
            if objective is None or ctx.is_failed("objective", kr.objective_key):
                ctx.failed.add(("key_result", key))
                continue
            cycle = objective.cycle
            if kr.window_start != cycle.start_date:
                ctx.result.warn(
                    (*path, "window_start"),
                    f"not stored: a key result's window starts with its cycle "
                    f"({cycle.start_date.isoformat()}); ignored",
                )
            owner = ctx.people.resolve(kr.owner, (*path, "owner"))
            due = None if kr.due == cycle.end_date else kr.due
            errors: dict[str, list[str]] = {}
            if kr.kind == KeyResultKind.BINARY:
                if kr.start != 0:
                    errors["start_value"] = ["a binary key result starts at 0 (not done)"]
                if kr.target != 1:
                    errors["target_value"] = ["a binary key result has target 1 (done)"]
            if due is not None and (due < cycle.start_date or due > cycle.end_date):
                errors["due_date"] = [
                    f"must be inside the cycle {cycle.key} ({cycle.start_date} to {cycle.end_date})"
                ]
            if errors:
                self.refuse("key_result", key, path, errors, KR_FIELDS)
                continue
            row = KeyResult(
                organization_id=self.org_id,
                objective=objective,
                key=kr.key.split("/", 1)[1],
                title=kr.title.strip(),
                description=document.descriptions.get(f"kr:{key}", ""),
                kind=kr.kind.value,
                unit=kr.unit,
                start_value=kr.start,
                target_value=kr.target,
                current_value=kr.start,
                weight=kr.weight,
                owner=owner,
                due_date=due,
                curve=kr.curve.value,
                maintain_direction=kr.maintain_direction.value,
            )
            if self.valid(self.kr_check, row, "key_result", key, path, KR_FIELDS):
                ctx.key_results[key] = row
                ctx.changed("key_result", key, "created")

    def alignment(self) -> None:
        ctx = self.ctx
        for objective in self.plan.objectives:
            child = ctx.objectives.get(objective.key)
            if child is None or ctx.is_failed("objective", objective.key):
                continue
            seen: set[tuple[str, str]] = set()
            for link in objective.aligns_to:
                ref = (
                    ("objective", link.parent_objective)
                    if link.parent_objective
                    else ("key_result", link.parent_key_result or "")
                )
                if ref in seen:  # the file's duplicates are refused by the reader already
                    continue
                seen.add(ref)
                label = f"{objective.key} → {ref[1]}"
                path = ctx.path("alignment", label)
                ctx.seen("alignment", label)
                parent = ctx.objectives.get(ref[1]) if ref[0] == "objective" else None
                parent_kr = ctx.key_results.get(ref[1]) if ref[0] == "key_result" else None
                if (parent is None and parent_kr is None) or ctx.is_failed(*ref):
                    continue
                row = Alignment(
                    organization_id=self.org_id,
                    child=child,
                    parent_objective=parent,
                    parent_key_result=parent_kr,
                    weight=link.weight,
                )
                check = self.alignment_check
                if self.valid(check, row, "alignment", label, path, ALIGNMENT_FIELDS):
                    self.alignments.append(row)
                    ctx.changed("alignment", label, "created")

    def initiatives(self) -> None:
        ctx, document = self.ctx, self.document
        for initiative in self.plan.initiatives:
            key, path = initiative.key, ctx.path("initiative", initiative.key)
            ctx.seen("initiative", key)
            if initiative.logged_hours != 0:
                ctx.result.warn(
                    (*path, "logged_hours"),
                    "not stored: Milepost sums the hours logged on the initiative's tasks; ignored",
                )
            if key not in document.tasks and (initiative.tasks_total or initiative.tasks_done):
                ctx.result.warn(
                    (*path, "tasks_total"),
                    "not stored: Milepost counts the initiative's tasks (list them under tasks); "
                    "ignored",
                )
            if ctx.is_failed("team", initiative.team_key):
                ctx.failed.add(("initiative", key))
                continue
            team = ctx.teams.get(initiative.team_key) if initiative.team_key else None
            owner = ctx.people.resolve(initiative.owner, (*path, "owner"))
            errors = self.member(owner, "owner")
            if errors:
                self.refuse("initiative", key, path, errors, INITIATIVE_FIELDS)
                continue
            status = initiative.status
            cancelled = status is InitiativeStatus.CANCELLED
            row = Initiative(
                organization_id=self.org_id,
                key=key,
                title=initiative.title.strip(),
                description=document.descriptions.get(f"initiative:{key}", ""),
                team=team,
                owner=owner,
                status=InitiativeStatus.PLANNED.value if cancelled else status.value,
                start_date=initiative.start,
                end_date=initiative.end,
                effort_days=initiative.effort_days,
                budget=initiative.budget,
                planned_hours=initiative.planned_hours,
            )
            if status is InitiativeStatus.DONE:
                row.closed_at = self.now
            if not self.valid(
                self.initiative_check, row, "initiative", key, path, INITIATIVE_FIELDS
            ):
                continue
            if initiative.actual_cost:  # recorded as an update after the creation
                self.later(row, "initiative.update", actual_cost=initiative.actual_cost)
                if not self.valid(
                    self.initiative_check, row, "initiative", key, path, INITIATIVE_FIELDS
                ):
                    continue
            if cancelled:  # cancelled last, after its tasks are in
                self.later(
                    row,
                    "initiative.status",
                    status=InitiativeStatus.CANCELLED.value,
                    outcome_summary=CLOSED_BY_IMPORT,
                    closed_at=self.now,
                )
            ctx.initiatives[key] = row
            ctx.changed("initiative", key, "created")

    def initiative_links(self) -> None:
        ctx = self.ctx
        for initiative in self.plan.initiatives:
            row = ctx.initiatives.get(initiative.key)
            if row is None or ctx.is_failed("initiative", initiative.key):
                continue
            for link in initiative.key_results:
                label = f"{initiative.key} → {link.key_result}"
                path = ctx.path("link", label)
                ctx.seen("link", label)
                key_result = ctx.key_results.get(link.key_result)
                if key_result is None or ctx.is_failed("key_result", link.key_result):
                    continue
                made = InitiativeKeyResult(
                    organization_id=self.org_id,
                    initiative=row,
                    key_result=key_result,
                    weight=link.weight,
                )
                if self.valid(self.link_check, made, "link", label, path, {}):
                    self.links.append(made)
                    ctx.changed("link", label, "created")

    def milestones(self) -> None:
        ctx = self.ctx
        counted = counted_toward(ctx, self.plan)
        today = organization_today(ctx.actor.organization)
        for milestone in self.plan.milestones:
            key, path = milestone.key, ctx.path("milestone", milestone.key)
            ctx.seen("milestone", key)
            initiative = ctx.initiatives.get(milestone.initiative_key or "")
            kr_path, weight = counted.get(key, (None, None))
            key_result = ctx.key_results.get(kr_path) if kr_path else None
            if ctx.is_failed("initiative", milestone.initiative_key) or ctx.is_failed(
                "key_result", kr_path
            ):
                ctx.failed.add(("milestone", key))
                continue
            row = Milestone(
                organization_id=self.org_id,
                key=key,
                name=milestone.name.strip(),
                date=milestone.on,
                initiative=initiative if milestone.initiative_key else None,
            )
            if key_result is not None:
                row.key_result = key_result
                row.weight = weight if weight is not None else Decimal(1)
            if not self.valid(self.milestone_check, row, "milestone", key, path, MILESTONE_FIELDS):
                continue
            if milestone.done_on is not None:  # completed after its creation
                if milestone.done_on > today:
                    self.refuse(
                        "milestone",
                        key,
                        path,
                        {"done_on": [f"cannot be in the future (today is {today.isoformat()})"]},
                        MILESTONE_FIELDS,
                    )
                    continue
                self.later(row, "milestone.complete", done_on=milestone.done_on)
            ctx.milestones[key] = row
            ctx.changed("milestone", key, "created")

    def dependencies(self) -> None:
        ctx = self.ctx
        items: dict[str, Initiative | Milestone] = {}
        for initiative in self.plan.initiatives:
            if initiative.key in ctx.initiatives and not ctx.is_failed(
                "initiative", initiative.key
            ):
                items[initiative.key] = ctx.initiatives[initiative.key]
        for milestone in self.plan.milestones:
            if milestone.key in ctx.milestones and not ctx.is_failed("milestone", milestone.key):
                items[milestone.key] = ctx.milestones[milestone.key]
        wanted: dict[tuple[str, str], tuple[DependencyType, int, str]] = {}
        for d in self.plan.dependencies:
            label = f"{d.predecessor} → {d.successor} {d.type.value}"
            if (d.predecessor, d.successor) in wanted:
                ctx.result.error(
                    ctx.path("dependency", label),
                    f"{d.successor} already depends on {d.predecessor}: Milepost holds one "
                    "dependency between two items",
                )
                continue
            wanted[(d.predecessor, d.successor)] = (d.type, d.lag_days, label)
        for (before, after), (kind, lag, label) in wanted.items():
            ctx.seen("dependency", label)
            predecessor, successor = items.get(before), items.get(after)
            if predecessor is None or successor is None:
                continue
            row = Dependency(
                organization_id=self.org_id,
                predecessor_initiative=predecessor if isinstance(predecessor, Initiative) else None,
                predecessor_milestone=predecessor if isinstance(predecessor, Milestone) else None,
                successor_initiative=successor if isinstance(successor, Initiative) else None,
                successor_milestone=successor if isinstance(successor, Milestone) else None,
                type=kind.value,
                lag_days=lag,
            )
            path = ctx.path("dependency", label)
            if self.valid(self.dependency_check, row, "dependency", label, path, {}):
                self.dependency_rows.append((f"{before} → {after}", row))
                ctx.changed("dependency", label, "created")
        if _has_loop(self.dependency_rows):
            raise NeedItemPath("a dependency loop")

    def people_named(self) -> Iterator[str | None]:
        """Every owner and assignee the file names."""
        plan = self.plan
        yield from (objective.owner for objective in plan.objectives)
        yield from (kr.owner for kr in plan.key_results)
        yield from (initiative.owner for initiative in plan.initiatives)
        for specs in self.document.tasks.values():
            yield from (spec.assignee for spec in specs)

    def task_rows(self) -> None:
        ctx = self.ctx
        for initiative_key, specs in self.document.tasks.items():
            initiative = (
                ctx.initiatives.get(initiative_key)
                if not ctx.is_failed("initiative", initiative_key)
                else None
            )
            for spec in specs:
                label = f"{initiative_key}/{spec.key}"
                ctx.seen("task", label)
                if initiative is None:
                    continue
                path = ctx.path("task", label)
                assignee = ctx.people.resolve(spec.assignee, (*path, "assignee"))
                errors = self.member(assignee, "assignee")
                if errors:
                    self.refuse("task", label, path, errors, TASK_FIELDS)
                    continue
                status = TaskStatus(spec.status.value)
                row = self.new_tasks.make(
                    organization_id=self.org_id,
                    initiative=initiative,
                    key=spec.key,
                    title=spec.title.strip(),
                    assignee=assignee,
                    status=status.value,
                    estimate_hours=spec.estimate_hours,
                    due_date=spec.due,
                    done_at=self.now if status == TaskStatus.DONE else None,
                )
                if self.valid(self.task_check, row, "task", label, path, TASK_FIELDS):
                    self.tasks.append(row)
                    ctx.changed("task", label, "created")

    def checkin_rows(self) -> None:
        """As `import_okrs.import_checkins` into key results with no history yet."""
        ctx, document = self.ctx, self.document
        today = organization_today(ctx.organization)
        author = ctx.actor.user
        date_errors: dict[tuple[dt.date, dt.date], str | None] = {}
        for kr in self.plan.key_results:
            if not kr.checkins or ctx.is_failed("key_result", kr.key):
                continue
            row = ctx.key_results.get(kr.key)
            if row is None:
                continue
            notes = document.checkin_notes.get(kr.key, ())
            cycle = row.objective.cycle
            closed = cycle.state == CycleState.CLOSED  # new cycles are open until the end
            for index, point in enumerate(kr.checkins):
                label = f"{kr.key} {point.on.isoformat()} #{index + 1}"
                ctx.seen("checkin", label)
                checkin = self.new_checkins.make(
                    organization_id=self.org_id,
                    key_result=row,
                    value=point.value,
                    confidence=point.confidence,
                    note=notes[index] if index < len(notes) else "",
                    author=author,
                    source=CheckInSource.IMPORT.value,
                    recorded_at=self.now,
                    effective_date=point.on,
                )
                ok = True
                if not self.checkin_check.accepts(checkin):
                    path = ctx.locator.checkin(kr.key, index)
                    error = self.checkin_check.errors(checkin)
                    if error is not None:
                        for name, messages in error.message_dict.items():
                            for message in messages:
                                ctx.result.error((*path, CHECKIN_FIELDS.get(name, name)), message)
                        ok = False
                if row.kind == KeyResultKind.BINARY and point.value not in (0, 1):
                    ctx.result.error(
                        (*ctx.locator.checkin(kr.key, index), "value"),
                        "a binary key result takes 0 (not done) or 1 (done)",
                    )
                    ok = False
                window = (point.on, cycle.start_date)
                if window not in date_errors:
                    date_errors[window] = checkin_date_error(
                        point.on, cycle_start=cycle.start_date, today=today, org=ctx.organization
                    )
                if date_errors[window] is not None:
                    ctx.result.error(
                        (*ctx.locator.checkin(kr.key, index), "date"), str(date_errors[window])
                    )
                    ok = False
                if closed:
                    ctx.result.error(
                        ctx.locator.checkin(kr.key, index),
                        f"cycle {cycle.key} is closed: its check-ins can no longer change",
                    )
                    ok = False
                if ok:
                    self.checkins.append((label, row, checkin))

    def final_cycle_states(self) -> None:
        for cycle in self.plan.cycles:
            row = self.ctx.cycles.get(cycle.key)
            if row is not None and row.state != cycle.state.value:
                self.later(row, "cycle.update", state=cycle.state.value)

    # --- writing ---------------------------------------------------------------------------

    def stored_progress(self) -> None:
        """Fill the stored progress columns from the engine's evaluation of the file's plan,
        so that the importer's `recompute_organization` (which evaluates the rows as stored
        and writes only what differs) finds nothing or little to write: rewriting thousands
        of rows was most of an import's time. Where the file and the rows differ for the
        engine (a milestone listed under two key results counts toward the first only), the
        recompute corrects the row; the stored numbers are always the recompute's."""
        ctx = self.ctx
        report = evaluate_okrs(self.plan, organization_today(ctx.organization), with_forecast=False)
        histories: dict[str, list[CheckIn]] = {}
        for _, row, checkin in self.checkins:
            histories.setdefault(f"{row.objective.key}/{row.key}", []).append(checkin)
        for key, row in ctx.key_results.items():
            result = report.key_results.get(key)
            if result is not None:
                for name, value in kr_stored_values(result, row, histories.get(key, [])).items():
                    setattr(row, name, value)
        for key, objective in ctx.objectives.items():
            found = report.objectives.get(key)
            if found is not None:
                for name, value in objective_stored_values(found).items():
                    setattr(objective, name, value)

    def insert(self) -> dict[str, int]:
        ctx = self.ctx
        teams = list(ctx.teams.values())
        for level in _team_levels(teams):
            insert_rows(Team, level)
        insert_rows(Cycle, list(ctx.cycles.values()))
        insert_rows(Objective, list(ctx.objectives.values()))
        with_checkins = {id(row) for _, row, _ in self.checkins}
        for row in ctx.key_results.values():
            if id(row) in with_checkins:
                row.version = 2  # the check-ins' version bump
        insert_rows(KeyResult, list(ctx.key_results.values()))
        insert_rows(Alignment, self.alignments)
        insert_rows(Initiative, list(ctx.initiatives.values()))
        insert_rows(InitiativeKeyResult, self.links)
        insert_rows(Milestone, list(ctx.milestones.values()))
        insert_rows(Dependency, [row for _, row in self.dependency_rows])
        insert_rows(Task, self.tasks)
        insert_rows(CheckIn, [c for _, _, c in self.checkins])
        refresh_statistics(_IMPORTED_TABLES)
        return {
            "team": len(teams),
            "cycle": len(ctx.cycles),
            "objective": len(ctx.objectives),
            "key_result": len(ctx.key_results),
            "alignment": len(self.alignments),
            "initiative": len(ctx.initiatives),
            "link": len(self.links),
            "milestone": len(ctx.milestones),
            "dependency": len(self.dependency_rows),
            "task": len(self.tasks),
            "checkin": len(self.checkins),
        }

    def audit(self, counts: Mapping[str, int]) -> None:
        ctx = self.ctx
        actor: Actor = ctx.actor
        events = _AuditRows(actor, self.org_id, self.now, self.followups)
        events.created("team.create", "team", ctx.teams.values(), lambda r: r.name)
        events.created("cycle.create", "cycle", ctx.cycles.values(), lambda r: r.name)
        events.created("objective.create", "objective", ctx.objectives.values(), lambda r: r.title)
        events.created("keyresult.create", "keyresult", ctx.key_results.values(), lambda r: r.title)
        events.created("alignment.create", "alignment", self.alignments, str)
        events.created(
            "initiative.create", "initiative", ctx.initiatives.values(), lambda r: r.title
        )
        events.created(
            "initiative.link",
            "initiative",
            self.links,
            lambda r: r.initiative.title,
            target=lambda r: r.initiative_id,
        )
        events.created("milestone.create", "milestone", ctx.milestones.values(), lambda r: r.name)
        labels = {id(row): label for label, row in self.dependency_rows}
        events.created(
            "dependency.add",
            "dependency",
            [row for _, row in self.dependency_rows],
            lambda r: labels[id(r)],
        )
        events.created("task.create", "task", self.tasks, lambda r: r.title)
        events.created(
            "checkin.record",
            "checkin",
            [c for _, _, c in self.checkins],
            lambda c: f"{c.key_result.objective.key}/{c.key_result.key}: {c.value}",
        )
        events.rows.append(
            events.event(
                "plan.import",
                "organization",
                self.org_id,
                ctx.organization.name,
                after={
                    "path": "bulk",
                    "created": {KIND_LABELS[k]: n for k, n in counts.items() if n},
                },
            )
        )
        insert_values(AuditEvent, events.rows)

    def record_checkins(self) -> None:
        for label, _, checkin in self.checkins:
            self.ctx.changed(
                "checkin", label, "created", (FieldChange("value", "", show(checkin.value)),)
            )


class _AuditRows:
    """``<model>.create`` events for rows just inserted, with each row's snapshot (the
    concrete fields but the timestamps, references as ids: `audit.services.snapshot`)."""

    def __init__(
        self,
        actor: Actor,
        organization_id: int,
        now: dt.datetime,
        followups: Mapping[int, list[tuple[str, dict[str, tuple[Any, Any]]]]],
    ) -> None:
        self.followups = followups
        self.actor = actor
        self.organization_id = organization_id
        self.now = now
        self.request_id = current_request_id.get()
        self.rows: list[dict[str, Any]] = []  # events as column values: no model instances

    def created(
        self,
        action: str,
        target_type: str,
        rows: Iterable[models.Model],
        label: Any,
        target: Any = None,
    ) -> None:
        rows = list(rows)
        if not rows:
            return
        names = [
            f.attname
            for f in rows[0]._meta.concrete_fields
            if f.name not in {"created_at", "updated_at"}
        ]
        plain = (str, int, bool, type(None))
        updates: list[dict[str, Any]] = []
        for row in rows:
            values = row.__dict__
            after = {}
            for name in names:
                value = values[name]
                after[name] = value if type(value) in plain else jsonable(value)
            followups = self.followups.get(id(row), ())
            if followups:  # the row as created, then each later change as its event
                after["version"] = 1
                for _, diff in reversed(followups):
                    for name, (old, _) in diff.items():
                        after[name] = jsonable(old)
                for update, diff in followups:
                    updates.append(
                        self.event(
                            update,
                            target_type,
                            row.pk,
                            label(row),
                            before={n: jsonable(old) for n, (old, _) in diff.items()},
                            after={n: jsonable(values[n]) for n in diff},
                        )
                    )
            self.rows.append(
                self.event(
                    action,
                    target_type,
                    target(row) if target is not None else row.pk,
                    label(row),
                    after=after,
                )
            )
        self.rows.extend(updates)

    def event(
        self,
        action: str,
        target_type: str,
        target_id: int | None,
        label: Any,
        *,
        after: dict[str, Any],
        before: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "actor_id": self.actor.user_id,
            "actor_label": self.actor.label,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "target_label": str(label)[:300],
            "before": before,
            "after": after,
            "created_at": self.now,
            "request_id": self.request_id,
        }


def insert_values(model: type[models.Model], items: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows given as column values (attname → value; a field left out takes its
    default): on PostgreSQL straight into ``COPY``, without a model instance per row, JSON
    written by orjson (the standard library's encoder spent ~10 s of CPU on the 2.9 M audit
    events of a full-size import)."""
    if not items:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**item) for item in items], batch_size=BATCH)
        return
    from psycopg.types.json import Jsonb

    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    json = {f.attname for f in fields if isinstance(f, models.JSONField)}
    defaults = {f.attname: f.get_default() for f in fields}
    names = [f.attname for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for item in items:
                out = []
                for name in names:
                    value = item.get(name, defaults[name])
                    if name in json and value is not None:
                        value = Jsonb(value, orjson.dumps)
                    out.append(value)
                copy.write_row(out)


_IMPORTED_TABLES: tuple[type[models.Model], ...] = (
    Team,
    Cycle,
    Objective,
    KeyResult,
    Alignment,
    Initiative,
    InitiativeKeyResult,
    Milestone,
    Dependency,
    Task,
    CheckIn,
)


def refresh_statistics(tables: Sequence[type[models.Model]]) -> None:
    """Have PostgreSQL re-read the statistics of tables that just grew in bulk. Its planner
    otherwise keeps the sizes it knew (an empty organization's), and the first queries after
    an import (the importer's recompute reads every key result with its check-ins) picked
    nested loops over 100,000s of rows: 20 s instead of 2 at a tenth of the bench size."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(quote(m._meta.db_table) for m in tables)}")


def insert_rows(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert new rows, each getting its id. On PostgreSQL with ``COPY`` (ids drawn from the
    table's sequence first, in one query); elsewhere with `bulk_create`. A row's references
    are taken from the rows they point to (inserted before it); ``auto_now`` timestamps are
    set to now, as `save` does."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(rows, batch_size=BATCH)
        return
    from psycopg.types.json import Jsonb

    now = timezone.now()
    meta = model._meta
    fields = list(meta.concrete_fields)
    quote = connection.ops.quote_name
    pk_name = meta.pk.attname if meta.pk is not None else "id"
    table = meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        getters: list[Any] = []
        for field in fields:
            if field.primary_key:
                getters.append(None)
            elif field.is_relation:
                getters.append(("ref", field))
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                getters.append(("now", field.attname))
            elif isinstance(field, models.JSONField):
                getters.append(("json", field.attname))
            else:
                getters.append(("plain", field.attname))
        columns = ", ".join(quote(str(f.column)) for f in fields)
        sql = f"COPY {quote(table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row, pk in zip(rows, ids, strict=True):
                values = row.__dict__
                values[pk_name] = pk
                out: list[Any] = []
                for getter in getters:
                    if getter is None:
                        out.append(pk)
                        continue
                    how, what = getter
                    if how == "plain":
                        out.append(values[what])
                    elif how == "ref":
                        value = values[what.attname]
                        if value is None:
                            target = what.get_cached_value(row, None)
                            value = target.pk if target is not None else None
                            values[what.attname] = value
                        out.append(value)
                    elif how == "now":
                        values[what] = now
                        out.append(now)
                    else:
                        value = values[what]
                        out.append(None if value is None else Jsonb(value, orjson.dumps))
                copy.write_row(out)
                row._state.adding = False
                row._state.db = connection.alias


def _team_levels(teams: Sequence[Team]) -> list[list[Team]]:
    """Teams grouped so that each team's parent is in an earlier group."""
    depth: dict[int, int] = {}

    def level(team: Team) -> int:
        found = depth.get(id(team))
        if found is None:
            parent = team.parent
            found = 0 if parent is None else level(parent) + 1
            depth[id(team)] = found
        return found

    groups: dict[int, list[Team]] = {}
    for team in teams:
        groups.setdefault(level(team), []).append(team)
    return [groups[n] for n in sorted(groups)]


def _has_loop(dependencies: Sequence[tuple[str, Dependency]]) -> bool:
    """Whether the dependencies form a loop (Kahn's algorithm over the rows' ends)."""

    def end(row: Dependency, side: str) -> int:
        item = getattr(row, f"{side}_initiative") or getattr(row, f"{side}_milestone")
        return id(item)

    successors: dict[int, list[int]] = {}
    incoming: dict[int, int] = {}
    for _, row in dependencies:
        before, after = end(row, "predecessor"), end(row, "successor")
        successors.setdefault(before, []).append(after)
        incoming[after] = incoming.get(after, 0) + 1
        incoming.setdefault(before, 0)
    ready = deque(node for node, n in incoming.items() if n == 0)
    done = 0
    while ready:
        node = ready.popleft()
        done += 1
        for nxt in successors.get(node, ()):
            incoming[nxt] -= 1
            if incoming[nxt] == 0:
                ready.append(nxt)
    return done != len(incoming)


def bulk_import(ctx: ImportContext, document: PlanDocument) -> None:
    """Import `document` into `ctx.organization`, which holds no plan data (see the module
    docstring). Errors land in ``ctx.result`` (then nothing is inserted); `NeedItemPath`
    when the item path must decide. The caller holds the transaction."""
    bulk = _Bulk(ctx, document)
    ctx.people.read_ahead(bulk.people_named())
    import_settings(ctx, document.plan)
    bulk.teams()
    bulk.cycles()
    bulk.objectives()
    bulk.key_results()
    bulk.alignment()
    bulk.initiatives()
    bulk.initiative_links()
    bulk.milestones()
    bulk.dependencies()
    bulk.task_rows()
    bulk.checkin_rows()
    bulk.final_cycle_states()
    if not ctx.result.errors:
        ctx.people.add_joining()
        bulk.stored_progress()
        counts = bulk.insert()
        bulk.audit(counts)
        bulk.record_checkins()
    ctx.finish()
