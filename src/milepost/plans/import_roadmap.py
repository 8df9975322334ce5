"""Plan import, roadmap side: initiatives, their links to key results, milestones,
dependencies and tasks (`milepost.plans.importer` runs them after the OKR side).

Everything is written through the roadmap and work services. What the database holds
differently from a plan file, and how the import bridges it:

* ``logged_hours`` and bare ``tasks_total``/``tasks_done`` counts have no column: Milepost
  sums the time logged on an initiative's tasks and counts its tasks. Given, they are
  reported as warnings and ignored.
* A milestone counts toward one key result in the database. A file that lists one milestone
  under two key results keeps the first and warns about the others.
* An initiative cancelled in the file is created open and cancelled last, so its tasks can
  be added first (a cancelled initiative takes no new tasks); closing one records a closure
  note saying the import closed it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from milepost.engine.model import DependencyType, InitiativeStatus, Plan
from milepost.plans.document import PlanDocument, TaskSpec
from milepost.plans.exporter import task_key
from milepost.plans.import_context import ImportContext
from milepost.plans.import_support import FieldChange
from milepost.roadmap import services as roadmap_services
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work import services as work_services
from milepost.work.models import Task

INITIATIVE_FIELDS = {"start_date": "start", "end_date": "end"}
MILESTONE_FIELDS = {"date": "date", "key_result": None, "weight": None}
TASK_FIELDS = {"due_date": "due"}
CLOSED_BY_IMPORT = "Closed by a plan import."

_Endpoint = Initiative | Milestone


# --- initiatives ---------------------------------------------------------------------------------


def import_initiatives(ctx: ImportContext, document: PlanDocument) -> None:
    """Create or update the file's initiatives (by key); a cancellation is applied last."""
    existing = {
        i.key: i
        for i in Initiative.objects.filter(organization_id=ctx.organization.pk).select_related(
            "team", "owner"
        )
    }
    ctx.initiatives.update(existing)
    for initiative in document.plan.initiatives:
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
        status = initiative.status
        wanted: dict[str, Any] = {
            "title": initiative.title,
            "description": document.descriptions.get(f"initiative:{key}", ""),
            "team": team,
            "owner": owner,
            "start_date": initiative.start,
            "end_date": initiative.end,
            "effort_days": initiative.effort_days,
            "budget": initiative.budget,
            "actual_cost": initiative.actual_cost,
            "planned_hours": initiative.planned_hours,
        }
        if status is not InitiativeStatus.CANCELLED:
            wanted["status"] = status.value
        row = existing.get(key)
        if row is None:
            created = ctx.step(
                "initiative",
                key,
                path,
                partial(_create_initiative, ctx, key, wanted),
                INITIATIVE_FIELDS,
            )
            if created is not None:
                ctx.initiatives[key] = created
                ctx.changed("initiative", key, "created")
            continue
        changes, shown = ctx.diff(row, wanted, INITIATIVE_FIELDS)
        archived = row.archived_at is not None
        if not changes and not archived:
            continue

        def write(row: Initiative = row, changes: dict[str, Any] = changes) -> Initiative:
            if row.archived_at is not None:
                row = roadmap_services.restore_initiative(actor=ctx.actor, initiative=row)
            if changes:
                if changes.get("status") == InitiativeStatus.DONE and not row.delivered_summary:
                    changes = {**changes, "delivered_summary": CLOSED_BY_IMPORT}
                row = roadmap_services.update_initiative(
                    actor=ctx.actor, initiative=row, changes=changes
                )
            return row

        updated = ctx.step("initiative", key, path, write, INITIATIVE_FIELDS)
        if updated is not None:
            ctx.initiatives[key] = updated
            restored = (FieldChange("archived", "yes", "no"),) if archived else ()
            ctx.changed("initiative", key, "updated", restored + shown)


def _create_initiative(ctx: ImportContext, key: str, wanted: dict[str, Any]) -> Initiative:
    values = dict(wanted)
    actual_cost = values.pop("actual_cost")
    initiative = roadmap_services.create_initiative(
        actor=ctx.actor, key=key, status=values.pop("status", InitiativeStatus.PLANNED), **values
    )
    if actual_cost:  # no argument of create_initiative: the spend is recorded as an update
        initiative = roadmap_services.update_initiative(
            actor=ctx.actor, initiative=initiative, changes={"actual_cost": actual_cost}
        )
    return initiative


def apply_initiative_cancellations(ctx: ImportContext, plan: Plan) -> None:
    """Cancel the initiatives the file gives as cancelled (after their tasks are in)."""
    for initiative in plan.initiatives:
        row = ctx.initiatives.get(initiative.key)
        if (
            row is None
            or ctx.is_failed("initiative", initiative.key)
            or initiative.status is not InitiativeStatus.CANCELLED
            or row.status == InitiativeStatus.CANCELLED
        ):
            continue
        before = row.status
        updated = ctx.step(
            "initiative",
            initiative.key,
            ctx.path("initiative", initiative.key),
            partial(
                roadmap_services.change_initiative_status,
                actor=ctx.actor,
                initiative=row,
                status=InitiativeStatus.CANCELLED,
                outcome_summary="" if row.outcome_summary else CLOSED_BY_IMPORT,
            ),
        )
        if updated is not None:
            ctx.initiatives[initiative.key] = updated
            ctx.changed(
                "initiative",
                initiative.key,
                "updated",
                (FieldChange("status", str(before), InitiativeStatus.CANCELLED.value),),
            )


# --- links to key results ------------------------------------------------------------------------


def import_links(ctx: ImportContext, plan: Plan) -> None:
    """Make each initiative's links to key results what the file says (links to key results
    the file does not list are left alone)."""
    in_file = {kr.key for kr in plan.key_results}
    rows = {
        i.key: ctx.initiatives[i.key]
        for i in plan.initiatives
        if i.key in ctx.initiatives and not ctx.is_failed("initiative", i.key)
    }
    current: dict[int, dict[str, InitiativeKeyResult]] = {}
    for link in InitiativeKeyResult.objects.filter(
        initiative_id__in=[r.pk for r in rows.values()], archived_at__isnull=True
    ).select_related("key_result__objective"):
        kr_key = f"{link.key_result.objective.key}/{link.key_result.key}"
        if kr_key in in_file:
            current.setdefault(link.initiative_id, {})[kr_key] = link
    for initiative in plan.initiatives:
        row = rows.get(initiative.key)
        if row is None:
            continue
        wanted = {link.key_result: link.weight for link in initiative.key_results}
        have = current.get(row.pk, {})
        for kr_path, link in have.items():
            if kr_path in wanted:
                continue
            label = f"{initiative.key} → {kr_path}"
            if ctx.step(
                "link",
                label,
                ctx.path("initiative", initiative.key),
                partial(_unlink, ctx, link),
            ):
                ctx.changed("link", label, "removed")
        for kr_path, weight in wanted.items():
            label = f"{initiative.key} → {kr_path}"
            path = ctx.path("link", label)
            ctx.seen("link", label)
            key_result = ctx.key_results.get(kr_path)
            if key_result is None or ctx.is_failed("key_result", kr_path):
                continue
            existing = have.get(kr_path)
            if existing is None:
                made = ctx.step(
                    "link",
                    label,
                    path,
                    partial(
                        roadmap_services.link_initiative,
                        actor=ctx.actor,
                        initiative=row,
                        key_result=key_result,
                        weight=weight,
                    ),
                )
                if made is not None:
                    ctx.changed("link", label, "created")
                continue
            changes, shown = ctx.diff(existing, {"weight": weight}, {})
            if not changes:
                continue
            if ctx.step(
                "link",
                label,
                path,
                partial(
                    roadmap_services.update_initiative_link,
                    actor=ctx.actor,
                    link=existing,
                    changes=changes,
                ),
            ):
                ctx.changed("link", label, "updated", shown)


def _unlink(ctx: ImportContext, link: InitiativeKeyResult) -> bool:
    roadmap_services.unlink_initiative(actor=ctx.actor, link=link)
    return True


# --- milestones ----------------------------------------------------------------------------------


def counted_toward(ctx: ImportContext, plan: Plan) -> dict[str, tuple[str, Decimal]]:
    """milestone key → (key result, weight): the first key result that lists it."""
    counted: dict[str, tuple[str, Decimal]] = {}
    for kr in plan.key_results:
        for ref in kr.milestones:
            if ref.key not in counted:
                counted[ref.key] = (kr.key, ref.weight)
                continue
            ctx.result.warn(
                ctx.locator.path("kr_milestone", f"{kr.key} {ref.key}"),
                f"milestone {ref.key} already counts toward {counted[ref.key][0]}: a "
                "milestone counts toward one key result in Milepost; ignored here",
            )
    return counted


def import_milestones(ctx: ImportContext, plan: Plan) -> None:
    """Create or update the file's milestones (by key), with the key result each counts
    toward and its weight there."""
    counted = counted_toward(ctx, plan)
    in_file = {kr.key for kr in plan.key_results}
    existing = {
        m.key: m
        for m in Milestone.objects.filter(organization_id=ctx.organization.pk).select_related(
            "initiative", "key_result__objective"
        )
    }
    ctx.milestones.update(existing)
    for milestone in plan.milestones:
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
        wanted: dict[str, Any] = {
            "name": milestone.name,
            "date": milestone.on,
            "initiative": initiative if milestone.initiative_key else None,
        }
        row = existing.get(key)
        if key_result is not None:
            wanted["key_result"] = key_result
            wanted["weight"] = weight
        elif row is not None and row.key_result is not None:
            current = f"{row.key_result.objective.key}/{row.key_result.key}"
            if current in in_file:  # the file lists that key result without this milestone
                wanted["key_result"] = None
        if row is None:
            created = ctx.step(
                "milestone",
                key,
                path,
                partial(_create_milestone, ctx, key, wanted, milestone.done_on),
                MILESTONE_FIELDS,
            )
            if created is not None:
                ctx.milestones[key] = created
                ctx.changed("milestone", key, "created")
            continue
        wanted["done_on"] = milestone.done_on
        changes, shown = ctx.diff(row, wanted, MILESTONE_FIELDS)
        archived = row.archived_at is not None
        if not changes and not archived:
            continue

        def write(row: Milestone = row, changes: dict[str, Any] = changes) -> Milestone:
            if row.archived_at is not None:
                row = roadmap_services.restore_milestone(actor=ctx.actor, milestone=row)
            if changes:
                row = roadmap_services.update_milestone(
                    actor=ctx.actor, milestone=row, changes=changes
                )
            return row

        updated = ctx.step("milestone", key, path, write, MILESTONE_FIELDS)
        if updated is not None:
            ctx.milestones[key] = updated
            restored = (FieldChange("archived", "yes", "no"),) if archived else ()
            ctx.changed("milestone", key, "updated", restored + shown)


def _create_milestone(
    ctx: ImportContext, key: str, wanted: dict[str, Any], done_on: Any
) -> Milestone:
    milestone = roadmap_services.create_milestone(actor=ctx.actor, key=key, **wanted)
    if done_on is not None:
        milestone = roadmap_services.complete_milestone(
            actor=ctx.actor, milestone=milestone, done_on=done_on
        )
    return milestone


# --- dependencies --------------------------------------------------------------------------------


def _end_key(initiative: Initiative | None, milestone: Milestone | None) -> str:
    return initiative.key if initiative is not None else milestone.key if milestone else ""


def import_dependencies(ctx: ImportContext, plan: Plan) -> None:
    """Make the dependencies among the file's initiatives and milestones what the file says
    (one dependency between two items; dependencies with an end outside the file are left
    alone)."""
    items: dict[str, _Endpoint] = {}
    for initiative in plan.initiatives:
        if initiative.key in ctx.initiatives and not ctx.is_failed("initiative", initiative.key):
            items[initiative.key] = ctx.initiatives[initiative.key]
    for milestone in plan.milestones:
        if milestone.key in ctx.milestones and not ctx.is_failed("milestone", milestone.key):
            items[milestone.key] = ctx.milestones[milestone.key]
    in_file = {i.key for i in plan.initiatives} | {m.key for m in plan.milestones}
    current: dict[tuple[str, str], Dependency] = {}
    for dependency in Dependency.objects.filter(
        organization_id=ctx.organization.pk, archived_at__isnull=True
    ).select_related(
        "predecessor_initiative",
        "predecessor_milestone",
        "successor_initiative",
        "successor_milestone",
    ):
        ends = (
            _end_key(dependency.predecessor_initiative, dependency.predecessor_milestone),
            _end_key(dependency.successor_initiative, dependency.successor_milestone),
        )
        if ends[0] in in_file and ends[1] in in_file:
            current[ends] = dependency
    wanted: dict[tuple[str, str], tuple[DependencyType, int, str]] = {}
    for d in plan.dependencies:
        label = f"{d.predecessor} → {d.successor} {d.type.value}"
        if (d.predecessor, d.successor) in wanted:
            ctx.result.error(
                ctx.path("dependency", label),
                f"{d.successor} already depends on {d.predecessor}: Milepost holds one "
                "dependency between two items",
            )
            continue
        wanted[(d.predecessor, d.successor)] = (d.type, d.lag_days, label)
    for ends, dependency in current.items():
        if ends in wanted:
            continue
        label = f"{ends[0]} → {ends[1]} {dependency.type}"
        if ctx.step(
            "dependency",
            label,
            (),
            partial(_remove_dependency, ctx, dependency),
        ):
            ctx.changed("dependency", label, "removed")
    for ends, (kind, lag, label) in wanted.items():
        ctx.seen("dependency", label)
        predecessor, successor = items.get(ends[0]), items.get(ends[1])
        if predecessor is None or successor is None:
            continue
        path = ctx.path("dependency", label)
        existing = current.get(ends)
        if existing is None:
            if ctx.step(
                "dependency",
                label,
                path,
                partial(
                    roadmap_services.add_dependency,
                    actor=ctx.actor,
                    predecessor=predecessor,
                    successor=successor,
                    type=kind,
                    lag_days=lag,
                ),
            ):
                ctx.changed("dependency", label, "created")
            continue
        changes, shown = ctx.diff(existing, {"type": kind.value, "lag_days": lag}, {})
        if not changes:
            continue
        if ctx.step(
            "dependency",
            label,
            path,
            partial(
                roadmap_services.update_dependency,
                actor=ctx.actor,
                dependency=existing,
                changes=changes,
            ),
        ):
            ctx.changed("dependency", label, "updated", shown)


def _remove_dependency(ctx: ImportContext, dependency: Dependency) -> bool:
    roadmap_services.remove_dependency(actor=ctx.actor, dependency=dependency)
    return True


# --- tasks ---------------------------------------------------------------------------------------


def import_tasks(ctx: ImportContext, document: PlanDocument) -> None:
    """Create or update the tasks the file lists under each initiative (by key within the
    initiative; a task created without a key is found as ``task-<id>``, the name an export
    gives it). Tasks the file does not list are left alone."""
    initiatives = {
        key: ctx.initiatives[key]
        for key in document.tasks
        if key in ctx.initiatives and not ctx.is_failed("initiative", key)
    }
    existing: dict[int, dict[str, Task]] = {}
    for task in Task.objects.filter(
        initiative_id__in=[i.pk for i in initiatives.values()]
    ).select_related("assignee"):
        existing.setdefault(task.initiative_id, {}).setdefault(task_key(task.key, task.pk), task)
    for initiative_key, specs in document.tasks.items():
        initiative = initiatives.get(initiative_key)
        for spec in specs:
            label = f"{initiative_key}/{spec.key}"
            ctx.seen("task", label)
            if initiative is None:
                continue
            _import_task(ctx, initiative, existing.get(initiative.pk, {}).get(spec.key), spec)


def _import_task(
    ctx: ImportContext, initiative: Initiative, row: Task | None, spec: TaskSpec
) -> None:
    label = f"{initiative.key}/{spec.key}"
    path = ctx.path("task", label)
    assignee = ctx.people.resolve(spec.assignee, (*path, "assignee"))
    wanted: dict[str, Any] = {
        "title": spec.title,
        "status": spec.status.value,
        "estimate_hours": spec.estimate_hours,
        "assignee": assignee,
        "due_date": spec.due,
    }
    if row is None:
        if ctx.step(
            "task",
            label,
            path,
            partial(
                work_services.create_task,
                actor=ctx.actor,
                initiative=initiative,
                key=spec.key,
                **wanted,
            ),
            TASK_FIELDS,
        ):
            ctx.changed("task", label, "created")
        return
    changes, shown = ctx.diff(row, wanted, TASK_FIELDS)
    archived = row.archived_at is not None
    if not changes and not archived:
        return

    def write(row: Task = row) -> Task:
        if row.archived_at is not None:
            row = work_services.restore_task(actor=ctx.actor, task=row)
        if changes:
            row = work_services.update_task(actor=ctx.actor, task=row, changes=changes)
        return row

    if ctx.step("task", label, path, write, TASK_FIELDS):
        restored = (FieldChange("archived", "yes", "no"),) if archived else ()
        ctx.changed("task", label, "updated", restored + shown)
