"""Plan import, OKR side: organization settings, teams, cycles, objectives, key results,
alignment, check-ins, and the states applied last (`milepost.plans.importer` runs them).

Each item is written through its service (so the same validation and audit events apply as
in the app); the two things no service expresses are written with `milepost.servicekit`
(validated, versioned, audited): an alignment link's weight and a cycle's state (an imported
cycle takes the state the file gives it, without the activation and closing rituals, which
are about agreeing on and scoring a plan that here already exists).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from milepost.audit.context import current_request_id
from milepost.audit.models import AuditEvent
from milepost.audit.services import snapshot
from milepost.engine.model import CycleState, KeyResultKind, ObjectiveState, Plan
from milepost.errors import DomainError
from milepost.okrs import services as okr_services
from milepost.okrs.engine_io import checkin_history, organization_today
from milepost.okrs.key_results import checkin_date_error
from milepost.okrs.models import Alignment, CheckIn, CheckInSource, Cycle, KeyResult, Objective
from milepost.organizations import services as org_services
from milepost.organizations.models import Team
from milepost.plans.document import IssuePath, PlanDocument
from milepost.plans.import_context import ImportContext, show
from milepost.plans.import_support import FieldChange
from milepost.servicekit import apply_update

# Plan settings → Organization fields.
SETTING_FIELDS = {
    "on_track_gap": "on_track_gap",
    "at_risk_gap": "at_risk_gap",
    "allow_over_achievement": "allow_over_achievement",
    "over_achievement_cap": "over_achievement_cap",
    "rollup": "rollup_mode",
    "objective_status": "objective_status_mode",
    "stale_after_days": "stale_after_days",
    "max_key_results_per_objective": "max_key_results_per_objective",
    "max_objectives_per_team": "max_objectives_per_team",
    "output_done_share": "output_done_share",
}
TEAM_FIELDS = {"capacity_days_per_week": "capacity_days_per_week", "parent": "parent"}
CYCLE_FIELDS = {"start_date": "start", "end_date": "end"}
OBJECTIVE_FIELDS = {"owner_team": "team", "owner_user": "owner"}
KR_FIELDS = {
    "start_value": "start",
    "target_value": "target",
    "due_date": "due",
    "maintain_direction": "direction",
    "objective": None,
}
CHECKIN_FIELDS = {"effective_date": "date"}
LATER_STATES = (ObjectiveState.CLOSED, ObjectiveState.CANCELLED)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") and isinstance(value.value, str) else value


# --- organization and settings ---------------------------------------------------------------


def import_settings(ctx: ImportContext, plan: Plan) -> None:
    """The organization's name, time zone and settings, where the file writes them (a
    setting the file leaves out keeps the organization's value)."""
    organization = ctx.organization
    wanted: dict[str, Any] = {}
    where: dict[str, tuple[str, str]] = {}
    for name in ("name", "timezone"):
        if ctx.locator.has("organization", name):
            wanted[name] = plan.organization_name if name == "name" else plan.timezone
            where[name] = ("organization", name)
    for plan_name, column in SETTING_FIELDS.items():
        if ctx.locator.has("settings", plan_name):
            wanted[column] = _plain(getattr(plan.settings, plan_name))
            where[column] = ("settings", plan_name)
    labels = {column: ".".join(path) for column, path in where.items()}
    changes, shown = ctx.diff(organization, wanted, labels)
    created = ctx.result.created_organization  # recorded as created, with these settings
    if not created:
        ctx.seen("organization", organization.slug)
    if not changes:
        return
    try:
        with transaction.atomic():
            org_services.update_organization_settings(actor=ctx.actor, changes=changes)
    except DomainError as exc:
        if not exc.errors:  # refused as a whole (only owners change settings)
            ctx.result.error(where[next(iter(changes))], exc.detail)
        for name, messages in exc.errors.items():
            for message in messages:
                ctx.result.error(where.get(name, ()), str(message))
        return
    organization.refresh_from_db()
    if not created:
        ctx.changed("organization", organization.slug, "updated", shown)


# --- teams -------------------------------------------------------------------------------------


def import_teams(ctx: ImportContext, plan: Plan) -> None:
    """Create or update the file's teams (by key); parents are set once every team exists."""
    existing = {t.key: t for t in Team.objects.filter(organization_id=ctx.organization.pk)}
    ctx.teams.update(existing)
    for team in plan.teams:
        key, path = team.key, ctx.path("team", team.key)
        ctx.seen("team", key)
        row = existing.get(key)
        if row is None:
            created = ctx.step(
                "team",
                key,
                path,
                partial(
                    org_services.create_team,
                    actor=ctx.actor,
                    key=team.key,
                    name=team.name,
                    capacity_days_per_week=team.capacity_days_per_week,
                ),
                TEAM_FIELDS,
            )
            if created is not None:
                ctx.teams[key] = created
                ctx.changed("team", key, "created")
            continue
        wanted = {"name": team.name, "capacity_days_per_week": team.capacity_days_per_week}
        changes, shown = ctx.diff(row, wanted, {})
        archived = row.archived_at is not None
        if not changes and not archived:
            continue

        def write(row: Team = row, changes: dict[str, Any] = changes) -> Team:
            if row.archived_at is not None:
                org_services.restore_team(actor=ctx.actor, team=row)
            if changes:
                row = org_services.update_team(actor=ctx.actor, team=row, changes=changes)
            return row

        updated = ctx.step("team", key, path, write, TEAM_FIELDS)
        if updated is not None:
            ctx.teams[key] = updated
            restored = (FieldChange("archived", "yes", "no"),) if archived else ()
            ctx.changed("team", key, "updated", restored + shown)
    for team in plan.teams:
        row = ctx.teams.get(team.key)
        if row is None or ctx.is_failed("team", team.key):
            continue
        parent = ctx.teams.get(team.parent_key) if team.parent_key else None
        if team.parent_key and (parent is None or ctx.is_failed("team", team.parent_key)):
            continue
        changes, shown = ctx.diff(row, {"parent": parent}, {})
        if not changes:
            continue
        updated = ctx.step(
            "team",
            team.key,
            ctx.path("team", team.key),
            partial(org_services.update_team, actor=ctx.actor, team=row, changes=changes),
            TEAM_FIELDS,
        )
        if updated is not None:
            ctx.teams[team.key] = updated
            ctx.changed("team", team.key, "updated", shown)


# --- cycles ------------------------------------------------------------------------------------


def import_cycles(ctx: ImportContext, plan: Plan) -> None:
    """Create or update the file's cycles (by key); their states are applied last."""
    existing = {c.key: c for c in Cycle.objects.filter(organization_id=ctx.organization.pk)}
    ctx.cycles.update(existing)
    for cycle in plan.cycles:
        key, path = cycle.key, ctx.path("cycle", cycle.key)
        ctx.seen("cycle", key)
        row = existing.get(key)
        if row is None:
            created = ctx.step(
                "cycle",
                key,
                path,
                partial(
                    okr_services.create_cycle,
                    actor=ctx.actor,
                    key=cycle.key,
                    name=cycle.name,
                    start_date=cycle.start,
                    end_date=cycle.end,
                ),
                CYCLE_FIELDS,
            )
            if created is not None:
                ctx.cycles[key] = created
                ctx.changed("cycle", key, "created")
            continue
        wanted = {"name": cycle.name, "start_date": cycle.start, "end_date": cycle.end}
        changes, shown = ctx.diff(row, wanted, CYCLE_FIELDS)
        archived = row.archived_at is not None
        if not changes and not archived:
            continue

        def write(row: Cycle = row, changes: dict[str, Any] = changes) -> Cycle:
            if row.archived_at is not None:
                okr_services.restore_cycle(actor=ctx.actor, cycle=row)
            if changes:
                row = okr_services.update_cycle(actor=ctx.actor, cycle=row, changes=changes)
            return row

        updated = ctx.step("cycle", key, path, write, CYCLE_FIELDS)
        if updated is not None:
            ctx.cycles[key] = updated
            restored = (FieldChange("archived", "yes", "no"),) if archived else ()
            ctx.changed("cycle", key, "updated", restored + shown)


# --- objectives ----------------------------------------------------------------------------------


def import_objectives(ctx: ImportContext, document: PlanDocument) -> None:
    """Create or update the file's objectives (by key). A closed or cancelled state is applied
    last, once their key results and check-ins are in."""
    existing = {
        o.key: o
        for o in Objective.objects.filter(organization_id=ctx.organization.pk).select_related(
            "owner_team", "owner_user", "cycle"
        )
    }
    ctx.objectives.update(existing)
    for objective in document.plan.objectives:
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
        wanted: dict[str, Any] = {
            "title": objective.title,
            "description": document.descriptions.get(f"objective:{key}", ""),
            "cycle": cycle,
            "owner_team": team,
            "owner_user": owner,
            "weight": objective.weight,
        }
        if objective.state not in LATER_STATES:
            wanted["state"] = objective.state.value
        row = existing.get(key)
        if row is None:
            state = wanted.get("state", ObjectiveState.ACTIVE.value)
            created = ctx.step(
                "objective",
                key,
                path,
                partial(
                    okr_services.create_objective,
                    actor=ctx.actor,
                    key=key,
                    title=wanted["title"],
                    description=wanted["description"],
                    cycle=cycle,
                    owner_team=team,
                    owner_user=owner,
                    weight=objective.weight,
                    state=state,
                ),
                OBJECTIVE_FIELDS,
            )
            if created is not None:
                ctx.objectives[key] = created
                ctx.changed("objective", key, "created")
            continue
        changes, shown = ctx.diff(row, wanted, OBJECTIVE_FIELDS)
        archived = row.archived_at is not None
        if not changes and not archived:
            continue

        def write(row: Objective = row, changes: dict[str, Any] = changes) -> Objective:
            if row.archived_at is not None:
                okr_services.restore_objective(actor=ctx.actor, objective=row)
            if changes:
                row = okr_services.update_objective(actor=ctx.actor, objective=row, changes=changes)
            return row

        updated = ctx.step("objective", key, path, write, OBJECTIVE_FIELDS)
        if updated is not None:
            ctx.objectives[key] = updated
            restored = (FieldChange("archived", "yes", "no"),) if archived else ()
            ctx.changed("objective", key, "updated", restored + shown)


# --- key results ---------------------------------------------------------------------------------


def import_key_results(ctx: ImportContext, document: PlanDocument) -> None:
    """Create or update the file's key results (by objective and key)."""
    existing = {
        f"{kr.objective.key}/{kr.key}": kr
        for kr in KeyResult.objects.filter(organization_id=ctx.organization.pk).select_related(
            "objective", "owner"
        )
    }
    ctx.key_results.update(existing)
    for kr in document.plan.key_results:
        key, path = kr.key, ctx.path("key_result", kr.key)
        ctx.seen("key_result", key)
        objective = ctx.objectives.get(kr.objective_key)
        if objective is None or ctx.is_failed("objective", kr.objective_key):
            ctx.failed.add(("key_result", key))
            continue
        cycle = ctx.cycles[objective.cycle.key]
        if kr.window_start != cycle.start_date:
            ctx.result.warn(
                (*path, "window_start"),
                f"not stored: a key result's window starts with its cycle "
                f"({cycle.start_date.isoformat()}); ignored",
            )
        owner = ctx.people.resolve(kr.owner, (*path, "owner"))
        wanted: dict[str, Any] = {
            "title": kr.title,
            "description": document.descriptions.get(f"kr:{key}", ""),
            "kind": kr.kind.value,
            "unit": kr.unit,
            "start_value": kr.start,
            "target_value": kr.target,
            "weight": kr.weight,
            "owner": owner,
            "curve": kr.curve.value,
            "maintain_direction": kr.maintain_direction.value,
        }
        due = None if kr.due == cycle.end_date else kr.due
        row = existing.get(key)
        if row is None:
            created = ctx.step(
                "key_result",
                key,
                path,
                partial(
                    okr_services.create_key_result,
                    actor=ctx.actor,
                    objective=objective,
                    key=kr.key.split("/", 1)[1],
                    due_date=due,
                    **wanted,
                ),
                KR_FIELDS,
            )
            if created is not None:
                ctx.key_results[key] = created
                ctx.changed("key_result", key, "created")
            continue
        if (row.due_date or cycle.end_date) != kr.due:
            wanted["due_date"] = due
        changes, shown = ctx.diff(row, wanted, KR_FIELDS)
        archived = row.archived_at is not None
        if not changes and not archived:
            continue

        def write(row: KeyResult = row, changes: dict[str, Any] = changes) -> KeyResult:
            if row.archived_at is not None:
                okr_services.restore_key_result(actor=ctx.actor, key_result=row)
            if changes:
                row = okr_services.update_key_result(
                    actor=ctx.actor, key_result=row, changes=changes
                )
            return row

        updated = ctx.step("key_result", key, path, write, KR_FIELDS)
        if updated is not None:
            ctx.key_results[key] = updated
            restored = (FieldChange("archived", "yes", "no"),) if archived else ()
            ctx.changed("key_result", key, "updated", restored + shown)


# --- alignment -----------------------------------------------------------------------------------

_Ref = tuple[str, str]  # ("objective", key) or ("key_result", "objective/kr")


def _ref_label(child: str, ref: _Ref) -> str:
    return f"{child} → {ref[1]}"


def _unalign(ctx: ImportContext, link: Alignment) -> bool:
    okr_services.unalign_objective(actor=ctx.actor, alignment=link)
    return True


def _reweigh(ctx: ImportContext, link: Alignment, changes: dict[str, Any]) -> Alignment:
    locked = Alignment.objects.select_for_update().get(pk=link.pk)
    return apply_update(
        actor=ctx.actor,
        instance=locked,
        changes=changes,
        allowed=["weight"],
        action="alignment.update",
    )


def import_alignment(ctx: ImportContext, plan: Plan) -> None:
    """Make each objective's alignment what the file says, among the objectives and key
    results the file lists: links to parents the file does not list are left alone."""
    in_file = {("objective", o.key) for o in plan.objectives} | {
        ("key_result", kr.key) for kr in plan.key_results
    }
    children = {
        o.key: ctx.objectives[o.key]
        for o in plan.objectives
        if o.key in ctx.objectives and not ctx.is_failed("objective", o.key)
    }
    by_child: dict[int, dict[_Ref, Alignment]] = {}
    rows = Alignment.objects.filter(
        organization_id=ctx.organization.pk,
        archived_at__isnull=True,
        child_id__in=[o.pk for o in children.values()],
    ).select_related("parent_objective", "parent_key_result__objective")
    for link in rows:
        if link.parent_objective is not None:
            ref: _Ref = ("objective", link.parent_objective.key)
        elif link.parent_key_result is not None:
            kr = link.parent_key_result
            ref = ("key_result", f"{kr.objective.key}/{kr.key}")
        else:
            continue
        if ref in in_file:
            by_child.setdefault(link.child_id, {})[ref] = link
    wanted: dict[str, dict[_Ref, Decimal]] = {}
    for objective in plan.objectives:
        if objective.key not in children:
            continue
        wanted[objective.key] = {
            (
                ("objective", link.parent_objective)
                if link.parent_objective
                else ("key_result", link.parent_key_result or "")
            ): link.weight
            for link in objective.aligns_to
        }
    # Removals first: a link the file drops may be what stands in the way of a new one.
    for key, child in children.items():
        for ref, link in by_child.get(child.pk, {}).items():
            if ref in wanted[key]:
                continue
            label = _ref_label(key, ref)
            done = ctx.step(
                "alignment",
                label,
                ctx.path("objective", key),
                partial(_unalign, ctx, link),
            )
            if done:
                ctx.changed("alignment", label, "removed")
    for key, child in children.items():
        current = by_child.get(child.pk, {})
        for ref, weight in wanted[key].items():
            label = _ref_label(key, ref)
            path = ctx.path("alignment", label)
            ctx.seen("alignment", label)
            parent = ctx.objectives.get(ref[1]) if ref[0] == "objective" else None
            parent_kr = ctx.key_results.get(ref[1]) if ref[0] == "key_result" else None
            if (parent is None and parent_kr is None) or ctx.is_failed(*ref):
                continue
            existing = current.get(ref)
            if existing is None:
                made = ctx.step(
                    "alignment",
                    label,
                    path,
                    partial(
                        okr_services.align_objective,
                        actor=ctx.actor,
                        child=child,
                        parent_objective=parent,
                        parent_key_result=parent_kr,
                        weight=weight,
                    ),
                    {"parent_objective": "objective", "parent_key_result": "key_result"},
                )
                if made is not None:
                    ctx.changed("alignment", label, "created")
                continue
            changes, shown = ctx.diff(existing, {"weight": weight}, {})
            if not changes:
                continue
            updated = ctx.step(
                "alignment",
                label,
                path,
                partial(_reweigh, ctx, existing, changes),
            )
            if updated is not None:
                ctx.changed("alignment", label, "updated", shown)


# --- check-ins -----------------------------------------------------------------------------------


def import_checkins(ctx: ImportContext, document: PlanDocument) -> None:
    """Record the file's check-ins with their dates (source "import"). A check-in is the
    same as one already in the key result's history when the date and the value are; each
    is recorded once, so importing the file again records nothing.

    A plan's history can hold thousands of check-ins, so they are checked by the rules of
    `milepost.okrs.services.record_checkin` (a number the column holds; 0 or 1 for a binary
    key result; from the cycle's start to today, `checkin_date_error`; not in a closed
    cycle) and inserted together, each with its ``checkin.record`` audit event; the stored
    progress is recomputed once at the end of the import instead of after each one.
    """
    rows = {
        kr.key: ctx.key_results[kr.key]
        for kr in document.plan.key_results
        if kr.checkins and kr.key in ctx.key_results and not ctx.is_failed("key_result", kr.key)
    }
    histories: dict[int, list[CheckIn]] = {}
    for checkin in CheckIn.objects.filter(key_result_id__in=[r.pk for r in rows.values()]):
        histories.setdefault(checkin.key_result_id, []).append(checkin)
    today = organization_today(ctx.organization)
    now = timezone.now()
    new: list[tuple[str, KeyResult, CheckIn]] = []
    for kr in document.plan.key_results:
        row = rows.get(kr.key)
        if row is None:
            continue
        have = Counter(
            (c.effective_date, c.value.normalize())
            for c in checkin_history(histories.get(row.pk, ()))
        )
        notes = document.checkin_notes.get(kr.key, ())
        cycle = ctx.cycles[ctx.objectives[kr.objective_key].cycle.key]
        for index, point in enumerate(kr.checkins):
            label = f"{kr.key} {point.on.isoformat()} #{index + 1}"
            ctx.seen("checkin", label)
            same = (point.on, point.value.normalize())
            if have[same] > 0:
                have[same] -= 1
                continue
            path = ctx.locator.checkin(kr.key, index)
            checkin = CheckIn(
                organization_id=ctx.organization.pk,
                key_result=row,
                value=point.value,
                confidence=point.confidence,
                note=notes[index] if index < len(notes) else "",
                author=ctx.actor.user,
                source=CheckInSource.IMPORT,
                recorded_at=now,
                effective_date=point.on,
            )
            if _checkin_ok(ctx, path, checkin, row, cycle, today):
                new.append((label, row, checkin))
    if not new or ctx.result.errors:
        return
    CheckIn.objects.bulk_create([checkin for _, _, checkin in new], batch_size=500)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization_id=ctx.organization.pk,
                actor_id=ctx.actor.user_id,
                actor_label=ctx.actor.label,
                action="checkin.record",
                target_type="checkin",
                target_id=checkin.pk,
                target_label=f"{row.objective.key}/{row.key}: {checkin.value}"[:300],
                after=snapshot(checkin),
                created_at=now,
                request_id=current_request_id.get(),
            )
            for _, row, checkin in new
        ],
        batch_size=500,
    )
    KeyResult.objects.filter(pk__in={row.pk for _, row, _ in new}).update(
        version=F("version") + 1, updated_at=now
    )
    for label, _, checkin in new:
        ctx.changed("checkin", label, "created", (FieldChange("value", "", show(checkin.value)),))


def _checkin_ok(
    ctx: ImportContext,
    path: IssuePath,
    checkin: CheckIn,
    kr: KeyResult,
    cycle: Cycle,
    today: dt.date,
) -> bool:
    """Whether a check-in from the file may be recorded (errors at `path` otherwise)."""
    ok = True
    try:
        checkin.clean_fields(exclude=["organization", "key_result", "author", "corrects"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                ctx.result.error((*path, CHECKIN_FIELDS.get(name, name)), message)
        ok = False
    if kr.kind == KeyResultKind.BINARY and checkin.value not in (0, 1):
        ctx.result.error((*path, "value"), "a binary key result takes 0 (not done) or 1 (done)")
        ok = False
    date_error = checkin_date_error(
        checkin.effective_date, cycle_start=cycle.start_date, today=today, org=ctx.organization
    )
    if date_error is not None:
        ctx.result.error((*path, "date"), date_error)
        ok = False
    if cycle.state == CycleState.CLOSED:
        ctx.result.error(path, f"cycle {cycle.key} is closed: its check-ins can no longer change")
        ok = False
    return ok


# --- states applied last -------------------------------------------------------------------------


def apply_objective_states(ctx: ImportContext, plan: Plan) -> None:
    """Close or cancel the objectives the file gives as closed or cancelled."""
    for objective in plan.objectives:
        row = ctx.objectives.get(objective.key)
        if (
            row is None
            or ctx.is_failed("objective", objective.key)
            or objective.state not in LATER_STATES
        ):
            continue
        changes, shown = ctx.diff(row, {"state": objective.state.value}, {})
        if not changes:
            continue
        updated = ctx.step(
            "objective",
            objective.key,
            ctx.path("objective", objective.key),
            partial(okr_services.update_objective, actor=ctx.actor, objective=row, changes=changes),
            OBJECTIVE_FIELDS,
        )
        if updated is not None:
            ctx.objectives[objective.key] = updated
            ctx.changed("objective", objective.key, "updated", shown)


def apply_cycle_states(ctx: ImportContext, plan: Plan) -> None:
    """Give each cycle the state the file says (after everything inside it is written)."""
    for cycle in plan.cycles:
        row = ctx.cycles.get(cycle.key)
        if row is None or ctx.is_failed("cycle", cycle.key):
            continue
        changes, shown = ctx.diff(row, {"state": cycle.state.value}, {})
        if not changes:
            continue

        def write(row: Cycle = row, changes: dict[str, Any] = changes) -> Cycle:
            locked = Cycle.objects.select_for_update().get(pk=row.pk)
            return apply_update(
                actor=ctx.actor,
                instance=locked,
                changes=changes,
                allowed=["state"],
                action="cycle.update",
            )

        updated = ctx.step("cycle", cycle.key, ctx.path("cycle", cycle.key), write)
        if updated is not None:
            ctx.cycles[cycle.key] = updated
            ctx.changed("cycle", cycle.key, "updated", shown)
