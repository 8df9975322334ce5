"""Carrying unfinished key results into another cycle, and their lineage (re-exported by
`milepost.okrs.services`).

A carried-over key result is a new key result in the target cycle that links back to the one
it continues (``carried_from``) and **starts from its last value**: its start and current value
are the origin's current value (a `milestones` key result keeps its start and target: its
progress comes from its milestones). Target, unit, kind, curve, weight and owner are copied; it
is due at the target cycle's end. A key result that has reached its target has nothing to
carry (`InvalidInput`). Carrying the same key result into the same cycle twice returns the
copy made the first time.

The copy goes into ``into_objective`` (an objective of the target cycle), or else into the
objective that continues the origin's objective in the target cycle (one whose
``carried_from`` is it, created by a template or an earlier carry-over), or else into a new
objective created for it there: a copy of the origin's objective (draft while the target cycle
is being planned, else active) linked back to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from milepost.engine.model import CycleState, KeyResultKind, ObjectiveState
from milepost.errors import PermissionDenied
from milepost.okrs.access import can_edit_key_result
from milepost.okrs.cycles import require_open_cycle, unique_key
from milepost.okrs.engine_io import recompute_objectives_and_ancestors
from milepost.okrs.models import Cycle, KeyResult, Objective, Retrospective
from milepost.okrs.validation import (
    FieldErrors,
    lock_key_result,
    lock_objective,
    named_fields,
    require_in_org,
)
from milepost.organizations.access import Actor
from milepost.servicekit import create_audited

__all__ = ["Lineage", "carry_over_key_results", "key_result_lineage", "reached_target"]

_MAX_GENERATIONS = 50


def reached_target(kr: KeyResult) -> bool:
    """Whether a key result's last value already meets its target (nothing left to carry)."""
    kind = kr.kind
    if kind == KeyResultKind.INCREASE:
        return kr.current_value >= kr.target_value
    if kind == KeyResultKind.DECREASE:
        return kr.current_value <= kr.target_value
    if kind == KeyResultKind.BINARY:
        return kr.current_value >= 1
    if kind == KeyResultKind.MILESTONES:
        return kr.progress_raw >= 1
    return False  # maintain: staying on the right side never finishes


def _continuation(
    actor: Actor, source: Objective, target: Cycle, taken: set[str] | None
) -> tuple[Objective, set[str] | None]:
    """The objective that continues ``source`` in ``target`` (created if there is none)."""
    found = (
        Objective.objects.filter(cycle=target, carried_from=source, archived_at__isnull=True)
        .order_by("pk")
        .first()
    )
    if found is not None:
        return found, taken
    if not actor.can_edit_owned(owner_user_id=source.owner_user_id, team_id=source.owner_team_id):
        raise PermissionDenied(
            f"Carrying into a copy of “{source.title}” needs the right to change it; choose "
            "an objective of the target cycle to carry into instead."
        )
    if taken is None:
        taken = set(
            Objective.objects.filter(organization_id=actor.organization_id).values_list(
                "key", flat=True
            )
        )
    copy = Objective(
        organization_id=actor.organization_id,
        cycle=target,
        key=unique_key(source.key, target.key, taken, drop=source.cycle.key),
        title=source.title,
        description=source.description,
        owner_team_id=source.owner_team_id,
        owner_user_id=source.owner_user_id,
        visibility=source.visibility,
        state=ObjectiveState.DRAFT
        if target.state == CycleState.PLANNING
        else ObjectiveState.ACTIVE,
        weight=source.weight,
        recurring=source.recurring,
        carried_from=source,
    )
    with named_fields(Objective):
        create_audited(actor=actor, instance=copy)
    return copy, taken


def _kr_key(objective: Objective, key: str, taken: dict[int, set[str]]) -> str:
    keys = taken.get(objective.pk)
    if keys is None:
        keys = set(KeyResult.objects.filter(objective=objective).values_list("key", flat=True))
        taken[objective.pk] = keys
    candidate, n = key, 2
    while candidate in keys:
        tail = f"-{n}"
        candidate = f"{key[: 80 - len(tail)]}{tail}"
        n += 1
    keys.add(candidate)
    return candidate


@transaction.atomic
def carry_over_key_results(
    *,
    actor: Actor,
    key_results: Sequence[KeyResult],
    target_cycle: Cycle,
    into_objective: Objective | None = None,
) -> list[KeyResult]:
    """Carry unfinished key results into ``target_cycle`` (see the module docstring); the
    copies, in the order given. Whoever may change a key result may carry it over.

    `InvalidInput` (nothing written) names every key result that cannot go: one already in the
    target cycle, one that reached its target, an objective outside the target cycle;
    `Conflict` if the target cycle is closed."""
    errors = FieldErrors()
    if not key_results:
        errors.add("key_results", "choose at least one key result to carry over")
    require_in_org(actor, target_cycle, "Cycle")
    target = Cycle.objects.get(pk=target_cycle.pk)
    if target.archived_at is not None:
        errors.add("target_cycle", "the cycle is archived")
    errors.raise_if_any()
    require_open_cycle(target)
    into: Objective | None = None
    if into_objective is not None:
        into = lock_objective(actor, into_objective)
        if into.cycle_id != target.pk or into.archived_at is not None:
            errors.add("into_objective", f"choose a live objective of cycle {target.name}")
    sources: list[KeyResult] = []
    for given in key_results:
        require_in_org(actor, given, "Key result")
        kr = lock_key_result(actor, given.pk)
        if not can_edit_key_result(actor, kr):
            raise PermissionDenied(
                f"You may not carry over “{kr.title}”: only those who may change it can."
            )
        label = f"{kr.objective.key}/{kr.key}"
        if kr.objective.cycle_id == target.pk:
            errors.add("key_results", f"{label} is already in cycle {target.name}")
        elif kr.archived_at is not None or kr.objective.archived_at is not None:
            errors.add("key_results", f"{label} is archived")
        elif reached_target(kr):
            errors.add("key_results", f"{label} reached its target: there is nothing to carry")
        sources.append(kr)
    errors.raise_if_any()

    existing = {
        kr.carried_from_id: kr
        for kr in KeyResult.objects.filter(
            carried_from__in=[s.pk for s in sources],
            objective__cycle=target,
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
        ).order_by("pk")
    }
    copies: list[KeyResult] = []
    created: list[int] = []
    objective_keys: set[str] | None = None
    kr_keys: dict[int, set[str]] = {}
    for source in sources:
        if source.pk in existing:
            copies.append(existing[source.pk])
            continue
        if into is not None:
            objective = into
        else:
            objective, objective_keys = _continuation(
                actor, source.objective, target, objective_keys
            )
        milestones = source.kind == KeyResultKind.MILESTONES
        start = source.start_value if milestones else source.current_value
        copy = KeyResult(
            organization_id=actor.organization_id,
            objective=objective,
            key=_kr_key(objective, source.key, kr_keys),
            title=source.title,
            description=source.description,
            kind=source.kind,
            unit=source.unit,
            start_value=start,
            target_value=source.target_value,
            current_value=start,
            weight=source.weight,
            owner_id=source.owner_id,
            due_date=None,
            curve=source.curve,
            maintain_direction=source.maintain_direction,
            carried_from=source,
        )
        with named_fields(KeyResult):
            create_audited(actor=actor, instance=copy, action="keyresult.carry_over")
        copies.append(copy)
        existing[source.pk] = copy
        created.append(copy.pk)
    if created:
        recompute_objectives_and_ancestors(actor.organization, key_result_ids=created)
        for copy in copies:
            if copy.pk in created:
                copy.refresh_from_db()
    return copies


@dataclass
class Generation:
    """A key result in a line of carry-overs, with its retrospective when it has one."""

    key_result: KeyResult
    retrospective: Retrospective | None = None


@dataclass
class Lineage:
    """Where a key result comes from (oldest first) and where it was carried (nearest
    first). Key results the actor may not see are left out."""

    origins: list[Generation] = field(default_factory=list)
    copies: list[Generation] = field(default_factory=list)
    # The key result's own retrospective (read with the others; not part of the chain).
    own_retrospective: Retrospective | None = None

    def __bool__(self) -> bool:
        return bool(self.origins or self.copies)


def key_result_lineage(actor: Actor, key_result: KeyResult) -> Lineage:
    """The chain of carry-overs through ``key_result``: the key results it continues and those
    that continue it (in any later cycle), as far as the actor may see them, with the
    retrospectives of all of them and of ``key_result`` itself. One query for the nearest
    generation on both sides, one per further generation, and one for the retrospectives."""
    visible = (
        KeyResult.objects.visible_to(actor)
        .filter(archived_at__isnull=True)
        .select_related("objective__cycle", "owner")
    )
    # The nearest generation on both sides comes in one query (the common case: a key result
    # carried once, or not at all); further generations take one query each.
    near = Q(carried_from=key_result.pk)
    if key_result.carried_from_id is not None:
        near |= Q(pk=key_result.carried_from_id)
    first = list(visible.filter(near).order_by("pk"))
    origins: list[KeyResult] = []
    seen = {key_result.pk}
    next_id = key_result.carried_from_id
    while next_id is not None and next_id not in seen and len(origins) < _MAX_GENERATIONS:
        seen.add(next_id)
        if not origins:
            row = next((r for r in first if r.pk == next_id), None)
        else:
            row = visible.filter(pk=next_id).first()
        if row is None:
            break
        origins.append(row)
        next_id = row.carried_from_id
    copies: list[KeyResult] = []
    level = [r for r in first if r.carried_from_id == key_result.pk]
    for _ in range(_MAX_GENERATIONS):
        level = [r for r in level if r.pk not in seen]
        if not level:
            break
        seen.update(r.pk for r in level)
        copies.extend(level)
        level = list(visible.filter(carried_from__in=[r.pk for r in level]).order_by("pk"))
    ids = [key_result.pk, *(r.pk for r in origins + copies)]
    retros = {r.key_result_id: r for r in Retrospective.objects.filter(key_result_id__in=ids)}
    origins.reverse()
    return Lineage(
        origins=[Generation(r, retros.get(r.pk)) for r in origins],
        copies=[Generation(r, retros.get(r.pk)) for r in copies],
        own_retrospective=retros.get(key_result.pk),
    )
