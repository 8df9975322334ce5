"""Writes for cycles, objectives, alignment, key results and check-ins.

Every service is keyword-only, takes an explicit `actor`, runs in one transaction and writes an
audit event with before/after; bad input raises `InvalidInput` naming every field at fault
(database constraints included: each named constraint is reported on its field) and writes
nothing. Who may do what is decided in `milepost.okrs.access` and re-checked here.

Rules worth knowing:

* A key result's current value changes only through a check-in. Check-ins are append-only: a
  correction is a new check-in that replaces the one it corrects in the history.
* A check-in's effective date is a calendar date in the organization's time zone (default:
  today there) and cannot be in the future. The same ``idempotency_key`` (per organization)
  returns the first check-in and writes nothing.
* Every write that changes a number (check-in, correction, key-result edit, alignment, state,
  archive/restore) refreshes the stored progress of the key results and objectives involved
  and of every objective above them, in the same transaction (`milepost.okrs.engine_io`).
* Alignment is a DAG: a link that would close a loop is refused with `Conflict` naming every
  objective of the loop. Links are removed outright (with an audit event holding what was
  removed); cycles, objectives and key results are archived and can be restored. Archiving a
  cycle hides its objectives, and archiving an objective hides its key results, until restored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q

from milepost.audit.services import record_event, snapshot
from milepost.engine.errors import AlignmentCycleError
from milepost.engine.model import AlignmentLink, ObjectiveInput
from milepost.engine.rollup import build_alignment
from milepost.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from milepost.okrs.access import can_edit_cycle
from milepost.okrs.carry_over import carry_over_key_results, key_result_lineage
from milepost.okrs.cycles import (
    activate_cycle,
    baseline_changes,
    close_cycle,
    create_cycle_from_template,
    missing_retrospectives,
    reopen_cycle,
    require_open_cycle,
)
from milepost.okrs.engine_io import (
    OBJECTIVE_STORED_FIELDS,
    live_key_results,
    recompute_objectives_and_ancestors,
)
from milepost.okrs.key_results import (
    archive_key_result,
    correct_checkin,
    create_key_result,
    record_checkin,
    restore_key_result,
    update_key_result,
)
from milepost.okrs.models import Alignment, Cycle, KeyResult, Objective, Visibility
from milepost.okrs.retrospectives import (
    record_key_result_retrospective,
    record_objective_reflection,
    skip_objective_retrospective,
)
from milepost.okrs.validation import (
    FieldErrors,
    check_cycle,
    check_team,
    check_user,
    clean_date,
    clean_decimal,
    clean_required_date,
    lock_objective,
    lock_objective_id,
    named_fields,
    present_ids,
    require_in_org,
    sync_fields,
    validate,
)
from milepost.organizations.access import Actor
from milepost.organizations.models import Role, Team
from milepost.servicekit import apply_update, archive, check_version, create_audited, restore

if TYPE_CHECKING:
    from milepost.accounts.models import User

__all__ = [
    "activate_cycle",
    "align_objective",
    "archive_cycle",
    "archive_key_result",
    "archive_objective",
    "baseline_changes",
    "carry_over_key_results",
    "close_cycle",
    "correct_checkin",
    "create_cycle",
    "create_cycle_from_template",
    "create_key_result",
    "create_objective",
    "key_result_lineage",
    "missing_retrospectives",
    "record_checkin",
    "record_key_result_retrospective",
    "record_objective_reflection",
    "reopen_cycle",
    "require_open_cycle",
    "restore_cycle",
    "restore_key_result",
    "restore_objective",
    "skip_objective_retrospective",
    "unalign_objective",
    "update_alignment",
    "update_cycle",
    "update_key_result",
    "update_objective",
]

ARCHIVE_FIELDS = ("archived_at", "version", "updated_at")
CYCLE_FIELDS = ("key", "name", "start_date", "end_date", "parent")
ALIGNMENT_FIELDS = ("weight",)
OBJECTIVE_FIELDS = (
    "key",
    "title",
    "description",
    "cycle",
    "owner_team",
    "owner_user",
    "visibility",
    "state",
    "weight",
    "recurring",
)


# --- cycles -----------------------------------------------------------------------------------


def _require_cycle_editor(actor: Actor) -> None:
    if not can_edit_cycle(actor):
        raise PermissionDenied(f"Your role ({actor.role}) does not allow you to change cycles.")


def _check_cycle_dates(
    errors: FieldErrors,
    actor: Actor,
    cycle: Cycle | None,
    parent: Cycle | None,
    start: dt.date | None,
    end: dt.date | None,
) -> None:
    """A sub-cycle lies inside its parent; a cycle's sub-cycles and key-result due dates lie
    inside it; a cycle is never inside itself."""
    if parent is not None:
        if parent.organization_id != actor.organization_id:
            errors.add("parent", "cycle not found")
            return
        if parent.archived_at is not None:
            errors.add("parent", "the parent cycle is archived")
        node: Cycle | None = parent
        for _ in range(100):  # cycles nest a few levels deep; stop on corrupt data
            if node is None:
                break
            if cycle is not None and node.pk == cycle.pk:
                errors.add("parent", "a cycle cannot be inside itself or one of its sub-cycles")
                return
            node = node.parent
        if start is not None and start < parent.start_date:
            errors.add("start_date", f"must be inside the parent cycle (from {parent.start_date})")
        if end is not None and end > parent.end_date:
            errors.add("end_date", f"must be inside the parent cycle (until {parent.end_date})")
    if cycle is None or start is None or end is None:
        return
    for child in Cycle.objects.filter(parent=cycle, archived_at__isnull=True).filter(
        Q(start_date__lt=start) | Q(end_date__gt=end)
    )[:3]:
        errors.add(
            "start_date" if child.start_date < start else "end_date",
            f"sub-cycle {child.key} ({child.start_date} to {child.end_date}) would fall outside",
        )
    for key, objective_key, due in (
        live_key_results(actor.organization_id)
        .filter(objective__cycle=cycle, due_date__isnull=False)
        .filter(Q(due_date__lt=start) | Q(due_date__gt=end))
        .values_list("key", "objective__key", "due_date")[:3]
    ):
        errors.add(
            "start_date" if due is not None and due < start else "end_date",
            f"key result {objective_key}/{key} is due on {due}, outside the new dates",
        )


@transaction.atomic
def create_cycle(
    *,
    actor: Actor,
    key: str,
    name: str,
    start_date: dt.date,
    end_date: dt.date,
    parent: Cycle | None = None,
) -> Cycle:
    """Create a cycle (admins). A sub-cycle (a quarter of a year) lies inside its parent."""
    _require_cycle_editor(actor)
    errors = FieldErrors()
    start = clean_required_date(errors, "start_date", start_date)
    end = clean_required_date(errors, "end_date", end_date)
    errors.raise_if_any()
    _check_cycle_dates(errors, actor, None, parent, start, end)
    errors.raise_if_any()
    cycle = Cycle(
        organization_id=actor.organization_id,
        key=key,
        name=name.strip(),
        start_date=start,
        end_date=end,
        parent=parent,
    )
    with named_fields(Cycle):
        return create_audited(actor=actor, instance=cycle)


def _cycle_objectives(cycle: Cycle) -> tuple[list[int], list[int]]:
    """Ids of the cycle's live objectives and key results."""
    objective_ids = list(
        Objective.objects.filter(cycle=cycle, archived_at__isnull=True).values_list("pk", flat=True)
    )
    kr_ids = list(
        live_key_results(cycle.organization_id)
        .filter(objective__cycle=cycle)
        .values_list("pk", flat=True)
    )
    return objective_ids, kr_ids


def _parents_of(objective_filter: Q) -> set[int]:
    """Objectives that the matching objectives align to (directly or through a key result)."""
    rows = Alignment.objects.filter(objective_filter).values_list(
        "parent_objective_id", "parent_key_result__objective_id"
    )
    return present_ids([p for pair in rows for p in pair])


@transaction.atomic
def update_cycle(
    *, actor: Actor, cycle: Cycle, changes: dict[str, Any], expected_version: int | None = None
) -> Cycle:
    """Rename, move or re-date a cycle (admins). Its state changes through activation and
    closing, not here. New dates refresh the numbers of its key results and objectives."""
    _require_cycle_editor(actor)
    require_in_org(actor, cycle, "Cycle")
    locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
    changes = dict(changes)
    if {"start_date", "end_date"} & set(changes):
        require_open_cycle(locked)  # a closed cycle's dates decided its scores
    errors = FieldErrors()
    for name in ("start_date", "end_date"):
        if name in changes:
            changes[name] = clean_date(errors, name, changes[name])
    if not errors.errors and {"start_date", "end_date", "parent"} & set(changes):
        _check_cycle_dates(
            errors,
            actor,
            locked,
            changes.get("parent", locked.parent),
            changes.get("start_date", locked.start_date),
            changes.get("end_date", locked.end_date),
        )
    errors.raise_if_any()
    before = (locked.start_date, locked.end_date)
    with named_fields(Cycle):
        updated = apply_update(
            actor=actor,
            instance=locked,
            changes=changes,
            allowed=CYCLE_FIELDS,
            expected_version=expected_version,
        )
    if (updated.start_date, updated.end_date) != before:
        objective_ids, kr_ids = _cycle_objectives(updated)
        recompute_objectives_and_ancestors(
            actor.organization, key_result_ids=kr_ids, objective_ids=objective_ids
        )
    return updated


@transaction.atomic
def archive_cycle(*, actor: Actor, cycle: Cycle, expected_version: int | None = None) -> Cycle:
    """Archive a cycle (admins): it and its objectives disappear until it is restored."""
    _require_cycle_editor(actor)
    require_in_org(actor, cycle, "Cycle")
    locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
    parents = _parents_of(Q(child__cycle=locked))
    archived = archive(actor=actor, instance=locked, expected_version=expected_version)
    sync_fields(cycle, archived, ARCHIVE_FIELDS)
    recompute_objectives_and_ancestors(actor.organization, objective_ids=parents)
    return archived


@transaction.atomic
def restore_cycle(*, actor: Actor, cycle: Cycle, expected_version: int | None = None) -> Cycle:
    """Bring an archived cycle back with its objectives (admins)."""
    _require_cycle_editor(actor)
    require_in_org(actor, cycle, "Cycle")
    locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
    check_version(locked, expected_version)
    restored = restore(actor=actor, instance=locked)
    sync_fields(cycle, restored, ARCHIVE_FIELDS)
    objective_ids, kr_ids = _cycle_objectives(restored)
    recompute_objectives_and_ancestors(
        actor.organization, key_result_ids=kr_ids, objective_ids=objective_ids
    )
    return restored


# --- objectives -------------------------------------------------------------------------------


def _check_objective(
    errors: FieldErrors,
    actor: Actor,
    *,
    cycle: Cycle | None,
    owner_team: Team | None,
    owner_user: User | None,
    visibility: str,
    check: Collection[str] = OBJECTIVE_FIELDS,
) -> None:
    if "cycle" in check:
        check_cycle(errors, actor, "cycle", cycle)
    if "owner_team" in check:
        check_team(errors, actor, "owner_team", owner_team)
    if "owner_user" in check:
        check_user(errors, actor, "owner_user", owner_user)
    if visibility == Visibility.TEAM and owner_team is None:
        errors.add("visibility", "a team objective needs an owner team")
    if visibility == Visibility.PRIVATE and owner_team is None and owner_user is None:
        errors.add("visibility", "a private objective needs an owner (a person or a team)")


def _require_owner_rights(actor: Actor, owner_user: User | None, owner_team: Team | None) -> None:
    if not actor.can_edit_owned(
        owner_user_id=owner_user.pk if owner_user is not None else None,
        team_id=owner_team.pk if owner_team is not None else None,
    ):
        raise PermissionDenied(
            "Members own objectives themselves or through one of their teams; "
            "only admins give objectives to other people or teams."
        )


@transaction.atomic
def create_objective(
    *,
    actor: Actor,
    cycle: Cycle,
    key: str,
    title: str,
    description: str = "",
    owner_team: Team | None = None,
    owner_user: User | None = None,
    visibility: str = Visibility.ORGANIZATION,
    state: str = "draft",
    weight: Decimal = Decimal(1),
    recurring: bool = False,
) -> Objective:
    """Create an objective in a cycle (not a closed one). Members create objectives that they
    own or that belong to one of their teams; admins any. A ``recurring`` objective is copied
    into the cycles created from this one's template."""
    actor.require(Role.MEMBER, "create objectives")
    errors = FieldErrors()
    weight = clean_decimal(errors, "weight", weight)
    _check_objective(
        errors,
        actor,
        cycle=cycle,
        owner_team=owner_team,
        owner_user=owner_user,
        visibility=visibility,
    )
    errors.raise_if_any()
    require_open_cycle(cycle)
    _require_owner_rights(actor, owner_user, owner_team)
    objective = Objective(
        organization_id=actor.organization_id,
        cycle=cycle,
        key=key,
        title=title.strip(),
        description=description,
        owner_team=owner_team,
        owner_user=owner_user,
        visibility=visibility,
        state=state,
        weight=weight,
        recurring=recurring,
    )
    with named_fields(Objective):
        create_audited(actor=actor, instance=objective)
    recompute_objectives_and_ancestors(actor.organization, objective_ids={objective.pk})
    objective.refresh_from_db(fields=list(OBJECTIVE_STORED_FIELDS))
    return objective


@transaction.atomic
def update_objective(
    *,
    actor: Actor,
    objective: Objective,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> Objective:
    """Change an objective (its owner or team members, admins). A member cannot give it to
    a person or team other than themselves or their teams. Moving it to another cycle needs
    its key results' due dates to fit the new cycle."""
    locked = lock_objective(actor, objective)
    require_open_cycle(locked.cycle)
    changes = dict(changes)
    errors = FieldErrors()
    if "weight" in changes:
        changes["weight"] = clean_decimal(errors, "weight", changes["weight"])
    cycle = changes.get("cycle", locked.cycle)
    owner_team = changes.get("owner_team", locked.owner_team)
    owner_user = changes.get("owner_user", locked.owner_user)
    _check_objective(
        errors,
        actor,
        cycle=cycle,
        owner_team=owner_team,
        owner_user=owner_user,
        visibility=changes.get("visibility", locked.visibility),
        check=set(changes),
    )
    if "cycle" in changes and "cycle" not in errors and cycle.pk != locked.cycle_id:
        outside = (
            live_key_results(actor.organization_id)
            .filter(objective=locked, due_date__isnull=False)
            .filter(Q(due_date__lt=cycle.start_date) | Q(due_date__gt=cycle.end_date))
            .values_list("key", "due_date")[:3]
        )
        for key, due in outside:
            errors.add("cycle", f"key result {key} is due on {due}, outside cycle {cycle.key}")
    errors.raise_if_any()
    if "cycle" in changes:
        require_open_cycle(cycle)
    if {"owner_team", "owner_user"} & set(changes):
        _require_owner_rights(actor, owner_user, owner_team)
    before = (locked.state, locked.cycle_id)
    with named_fields(Objective):
        updated = apply_update(
            actor=actor,
            instance=locked,
            changes=changes,
            allowed=OBJECTIVE_FIELDS,
            expected_version=expected_version,
        )
    if (updated.state, updated.cycle_id) != before:
        kr_ids: list[int] = []
        if updated.cycle_id != before[1]:  # the key results' windows moved
            kr_ids = list(updated.key_results.values_list("pk", flat=True))
        recompute_objectives_and_ancestors(
            actor.organization,
            key_result_ids=kr_ids,
            objective_ids={updated.pk} | _parents_of(Q(child=updated)),
        )
        updated.refresh_from_db(fields=list(OBJECTIVE_STORED_FIELDS))
    return updated


@transaction.atomic
def archive_objective(
    *, actor: Actor, objective: Objective, expected_version: int | None = None
) -> Objective:
    """Archive an objective (with its key results, which disappear with it until restored)."""
    locked = lock_objective(actor, objective)
    require_open_cycle(locked.cycle)
    parents = _parents_of(Q(child=locked))
    archived = archive(actor=actor, instance=locked, expected_version=expected_version)
    sync_fields(objective, archived, ARCHIVE_FIELDS)
    recompute_objectives_and_ancestors(actor.organization, objective_ids=parents)
    return archived


@transaction.atomic
def restore_objective(
    *, actor: Actor, objective: Objective, expected_version: int | None = None
) -> Objective:
    """Bring an archived objective back, with its key results."""
    locked = lock_objective(actor, objective)
    require_open_cycle(locked.cycle)
    check_version(locked, expected_version)
    restored = restore(actor=actor, instance=locked)
    sync_fields(objective, restored, ARCHIVE_FIELDS)
    recompute_objectives_and_ancestors(
        actor.organization,
        key_result_ids=list(restored.key_results.values_list("pk", flat=True)),
        objective_ids={restored.pk},
    )
    restored.refresh_from_db(fields=list(OBJECTIVE_STORED_FIELDS))
    return restored


# --- alignment --------------------------------------------------------------------------------


def _alignment_loop(organization_id: int, child_id: int, parent_id: int) -> list[int] | None:
    """The loop that a link child → parent would close, as objective ids, or None.

    Links of archived objectives count too, so restoring one can never close a loop."""
    links: dict[str, list[AlignmentLink]] = {}
    rows = Alignment.objects.filter(organization_id=organization_id).values_list(
        "child_id", "parent_objective_id", "parent_key_result__objective_id"
    )
    for child, parent_objective, kr_objective in [*rows, (child_id, parent_id, None)]:
        parent = parent_objective or kr_objective
        links.setdefault(str(child), []).append(AlignmentLink(parent_objective=str(parent)))
        links.setdefault(str(parent), [])
    graph = [
        ObjectiveInput(key=k, title="", cycle_key="", aligns_to=tuple(v)) for k, v in links.items()
    ]
    try:
        build_alignment(graph)
    except AlignmentCycleError as exc:
        return [int(n) for n in exc.nodes]
    return None


@transaction.atomic
def align_objective(
    *,
    actor: Actor,
    child: Objective,
    parent_objective: Objective | None = None,
    parent_key_result: KeyResult | None = None,
    weight: Decimal = Decimal(1),
) -> Alignment:
    """Make ``child`` contribute to a parent objective or a parent key result (exactly one),
    with a weight. Whoever may change the child may align it, to any parent they can see.
    Refused with `Conflict` naming every objective of the loop if it would close one."""
    locked = lock_objective(actor, child)
    require_open_cycle(locked.cycle)
    errors = FieldErrors()
    weight = clean_decimal(errors, "weight", weight)
    visible = Objective.objects.visible_to(actor).filter(
        archived_at__isnull=True, cycle__archived_at__isnull=True
    )
    parent_id: int | None = None
    if parent_objective is not None:
        if not visible.filter(pk=parent_objective.pk).exists():
            errors.add("parent_objective", "objective not found")
        parent_id = parent_objective.pk
    if parent_key_result is not None:
        if (
            parent_key_result.organization_id != actor.organization_id
            or parent_key_result.archived_at is not None
            or not visible.filter(pk=parent_key_result.objective_id).exists()
        ):
            errors.add("parent_key_result", "key result not found")
        elif parent_key_result.objective_id == locked.pk:
            errors.add(
                "parent_key_result", "an objective cannot align to one of its own key results"
            )
        parent_id = parent_key_result.objective_id
    errors.raise_if_any()
    alignment = Alignment(
        organization_id=actor.organization_id,
        child=locked,
        parent_objective=parent_objective,
        parent_key_result=parent_key_result,
        weight=weight,
    )
    validate(alignment)
    if parent_id is None:  # validate() has refused an alignment without a parent already
        raise InvalidInput.field("parent_objective", "give a parent objective or key result")
    loop = _alignment_loop(actor.organization_id, locked.pk, parent_id)
    if loop is not None:
        keys = dict(Objective.objects.filter(pk__in=loop).values_list("pk", "key"))
        names = [keys.get(pk, str(pk)) for pk in loop]
        path = " → ".join([*names, names[0]])
        parent_label = (
            f"key result {parent_key_result.key}"
            if parent_key_result is not None
            else f"objective {keys.get(parent_id, parent_id)}"
        )
        message = f"aligning {locked.key} to {parent_label} would close an alignment loop: {path}"
        field = "parent_key_result" if parent_key_result is not None else "parent_objective"
        raise Conflict(message[0].upper() + message[1:] + ".", errors={field: [message]})
    with named_fields(Alignment):
        create_audited(actor=actor, instance=alignment)
    recompute_objectives_and_ancestors(actor.organization, objective_ids={parent_id})
    return alignment


@transaction.atomic
def update_alignment(
    *,
    actor: Actor,
    alignment: Alignment,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Alignment:
    """Change an alignment link's weight (whoever may change the child objective, while its
    cycle is open). The parent's progress, and its ancestors', are recomputed with the new
    weight in the same transaction. Only ``weight`` can change: a link to another parent is
    a new link."""
    require_in_org(actor, alignment, "Alignment")
    child = lock_objective_id(actor, alignment.child_id)
    require_open_cycle(child.cycle)
    locked = (
        Alignment.objects.select_for_update(of=("self",))
        .select_related("parent_key_result")
        .filter(pk=alignment.pk)
        .first()
    )
    if locked is None:
        raise NotFound("Alignment not found.")
    cleaned = dict(changes)
    if "weight" in changes:
        errors = FieldErrors()
        cleaned["weight"] = clean_decimal(errors, "weight", changes["weight"])
        errors.raise_if_any()
    with named_fields(Alignment):
        updated = apply_update(
            actor=actor,
            instance=locked,
            changes=cleaned,
            allowed=ALIGNMENT_FIELDS,
            expected_version=expected_version,
            action="alignment.update",
        )
    parent_kr = updated.parent_key_result
    parent_id = parent_kr.objective_id if parent_kr is not None else updated.parent_objective_id
    if parent_id is not None:
        recompute_objectives_and_ancestors(actor.organization, objective_ids={parent_id})
    return updated


@transaction.atomic
def unalign_objective(*, actor: Actor, alignment: Alignment) -> None:
    """Remove an alignment link (whoever may change the child objective)."""
    require_in_org(actor, alignment, "Alignment")
    require_open_cycle(lock_objective_id(actor, alignment.child_id).cycle)
    link = (
        Alignment.objects.select_related(
            "child", "parent_objective", "parent_key_result__objective"
        )
        .filter(pk=alignment.pk)
        .first()
    )
    if link is None:
        raise NotFound("Alignment not found.")
    if link.parent_key_result is not None:
        parent_kr = link.parent_key_result
        parent_id = parent_kr.objective_id
        label = f"{link.child.key} → {parent_kr.objective.key}/{parent_kr.key}"
    elif link.parent_objective is not None:
        parent_id = link.parent_objective.pk
        label = f"{link.child.key} → {link.parent_objective.key}"
    else:  # the database holds exactly one parent per link
        raise NotFound("Alignment not found.")
    record_event(
        actor=actor,
        action="alignment.delete",
        target=link,
        target_label=label,
        before=snapshot(link),
    )
    link.delete()
    recompute_objectives_and_ancestors(actor.organization, objective_ids={parent_id})
