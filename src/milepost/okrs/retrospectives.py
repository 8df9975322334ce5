"""Retrospectives at cycle close (re-exported by `milepost.okrs.services`).

* A key result's retrospective holds its **score and grade from the engine**
  (`milepost.engine.score.score`: progress clamped to [0, 1], rounded to 0.1; 0.0-0.3 missed,
  0.4-0.6 partial, 0.7-1.0 achieved) as of the cycle's *score date*: the cycle's last day, or
  today when the cycle is closed early. The owner may override the grade, and an override
  needs a reason code (target was wrong, execution, external change, measurement problem);
  lessons learned are free text.
* An objective's reflection says what went well, what did not and what we change (at least one
  of the three), with the objective's own engine score. An admin may instead *skip* an
  objective's retrospective explicitly.
* Retrospectives are written while the cycle is active (preparing the close) or closed
  (amending lessons); never while it is still being planned. Each write is audited
  (``retrospective.create`` / ``retrospective.update`` / ``retrospective.skip``).

Who: a key result's retrospective, whoever may change the key result; an objective's
reflection, whoever may change the objective; a skip, admins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from milepost.audit.services import changed_fields, record_event, snapshot
from milepost.engine.model import CycleState
from milepost.engine.results import Score
from milepost.engine.score import score
from milepost.errors import Conflict, InvalidInput, PermissionDenied
from milepost.okrs.access import can_edit_key_result
from milepost.okrs.engine_io import evaluate_cycle, organization_today
from milepost.okrs.models import Cycle, Grade, KeyResult, Objective, ReasonCode, Retrospective
from milepost.okrs.validation import (
    FieldErrors,
    lock_key_result,
    lock_objective,
    named_fields,
    require_in_org,
)
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Role
from milepost.servicekit import save_validated

__all__ = [
    "CycleScores",
    "cycle_scores",
    "record_key_result_retrospective",
    "record_objective_reflection",
    "score_date",
    "skip_objective_retrospective",
]


def score_date(cycle: Cycle, organization: Organization) -> dt.date:
    """The date a cycle is scored at: its last day, or today if that comes first (a cycle
    closed early), and never before its first day."""
    today = organization_today(organization)
    return max(cycle.start_date, min(today, cycle.end_date))


@dataclass(frozen=True)
class CycleScores:
    """Engine scores of a cycle's live key results and objectives, by row id."""

    as_of: dt.date
    key_results: dict[int, Score]
    objectives: dict[int, Score]


def cycle_scores(cycle: Cycle, organization: Organization) -> CycleScores:
    """Every live key result's and objective's score in ``cycle`` as of its score date,
    from one engine evaluation of the cycle (a fixed number of queries)."""
    day = score_date(cycle, organization)
    report = evaluate_cycle(organization, cycle, day)
    objective_ids = dict(
        Objective.objects.filter(cycle=cycle, archived_at__isnull=True).values_list("key", "pk")
    )
    kr_ids = {
        f"{objective_key}/{key}": pk
        for objective_key, key, pk in KeyResult.objects.filter(
            objective__cycle=cycle, archived_at__isnull=True, objective__archived_at__isnull=True
        ).values_list("objective__key", "key", "pk")
    }
    return CycleScores(
        as_of=day,
        key_results={
            kr_ids[k]: score(r.progress) for k, r in report.key_results.items() if k in kr_ids
        },
        objectives={
            objective_ids[k]: score(r.progress)
            for k, r in report.objectives.items()
            if k in objective_ids
        },
    )


def _require_retrospective_time(cycle: Cycle) -> None:
    if cycle.state == CycleState.PLANNING:
        raise Conflict(
            f"Cycle {cycle.name} is still being planned: retrospectives come once it has run "
            "(activate it first)."
        )


def _save(
    actor: Actor, retro: Retrospective, before: dict[str, object] | None, label: str
) -> Retrospective:
    with named_fields(Retrospective):
        save_validated(retro)
    after = snapshot(retro)
    if before is None:
        record_event(
            actor=actor,
            action="retrospective.create",
            target=retro,
            target_label=label,
            after=after,
        )
    else:
        diff = changed_fields(before, after)
        if diff:
            record_event(
                actor=actor,
                action="retrospective.update",
                target=retro,
                target_label=label,
                before={k: before.get(k) for k in diff},
                after=diff,
            )
    return retro


def _existing(**subject: object) -> tuple[Retrospective | None, dict[str, object] | None]:
    row = Retrospective.objects.select_for_update().filter(**subject).first()
    return row, (snapshot(row) if row is not None else None)


@transaction.atomic
def record_key_result_retrospective(
    *,
    actor: Actor,
    key_result: KeyResult,
    grade_override: str = "",
    reason_code: str = "",
    lessons: str = "",
) -> Retrospective:
    """Record (or revise) a key result's retrospective: its engine score and grade as of the
    cycle's score date, an optional grade override (which needs a reason code) and lessons.

    `InvalidInput` names a bad grade or reason code, or an override without a reason;
    `Conflict` while the cycle is still being planned."""
    require_in_org(actor, key_result, "Key result")
    kr = lock_key_result(actor, key_result.pk)
    if not can_edit_key_result(actor, kr):
        raise PermissionDenied("Only those who may change this key result write its retrospective.")
    cycle = kr.objective.cycle
    _require_retrospective_time(cycle)
    errors = FieldErrors()
    override = (grade_override or "").strip()
    reason = (reason_code or "").strip()
    if override and override not in Grade.values:
        errors.add("grade_override", f"choose one of {', '.join(Grade.values)}")
    if reason and reason not in ReasonCode.values:
        errors.add("reason_code", f"choose one of {', '.join(ReasonCode.values)}")
    if override and not reason and "grade_override" not in errors:
        errors.add("reason_code", "overriding the grade needs a reason code")
    errors.raise_if_any()
    if kr.archived_at is not None or kr.objective.archived_at is not None:
        raise Conflict("The key result is archived; restore it before its retrospective.")
    result = cycle_scores(cycle, actor.organization).key_results.get(kr.pk)
    row, before = _existing(key_result=kr)
    if row is None:
        row = Retrospective(organization_id=actor.organization_id, cycle=cycle, key_result=kr)
    row.cycle = cycle
    if result is not None:
        row.score, row.grade = result.value, result.grade
    row.grade_override = override
    row.reason_code = reason
    row.lessons = lessons.strip()
    row.author = actor.user
    return _save(actor, row, before, f"{kr.objective.key}/{kr.key}: retrospective")


@transaction.atomic
def record_objective_reflection(
    *,
    actor: Actor,
    objective: Objective,
    went_well: str,
    went_badly: str,
    change_next: str,
    lessons: str = "",
) -> Retrospective:
    """Record (or revise) an objective's reflection: what went well, what did not, what we
    change (at least one of them), with the objective's engine score. Replaces an admin's
    skip. `Conflict` while the cycle is still being planned."""
    locked = lock_objective(actor, objective)  # checks the right to change the objective
    cycle = locked.cycle
    _require_retrospective_time(cycle)
    texts = {
        "went_well": went_well.strip(),
        "went_badly": went_badly.strip(),
        "change_next": change_next.strip(),
    }
    if not any(texts.values()):
        raise InvalidInput(
            "A reflection says at least what went well, what did not, or what we change.",
            errors={name: ["write at least one of the three"] for name in texts},
        )
    if locked.archived_at is not None:
        raise Conflict("The objective is archived; restore it before its reflection.")
    result = cycle_scores(cycle, actor.organization).objectives.get(locked.pk)
    row, before = _existing(objective=locked)
    if row is None:
        row = Retrospective(organization_id=actor.organization_id, cycle=cycle, objective=locked)
    row.cycle = cycle
    if result is not None:
        row.score, row.grade = result.value, result.grade
    row.went_well = texts["went_well"]
    row.went_badly = texts["went_badly"]
    row.change_next = texts["change_next"]
    row.lessons = lessons.strip()
    row.skipped = False
    row.author = actor.user
    return _save(actor, row, before, f"{locked.key}: reflection")


def has_reflection(retro: Retrospective) -> bool:
    """Whether an objective's retrospective holds any written reflection."""
    return any((retro.went_well, retro.went_badly, retro.change_next, retro.lessons))


@transaction.atomic
def skip_objective_retrospective(*, actor: Actor, objective: Objective) -> Retrospective:
    """Mark an objective's retrospective as explicitly skipped (admins), so the cycle can
    close without it. Skipping twice changes nothing; an objective that already has a written
    reflection is not skipped (`Conflict`)."""
    if not actor.has_role(Role.ADMIN) or actor.token is not None:
        raise PermissionDenied("Only admins skip an objective's retrospective.")
    require_in_org(actor, objective, "Objective")
    locked = lock_objective(actor, objective)
    cycle = locked.cycle
    _require_retrospective_time(cycle)
    row, before = _existing(objective=locked)
    if row is not None and has_reflection(row):
        raise Conflict(f"“{locked.title}” already has a reflection; there is nothing to skip.")
    if row is not None and row.skipped:
        return row
    if row is None:
        row = Retrospective(organization_id=actor.organization_id, cycle=cycle, objective=locked)
    row.skipped = True
    row.author = actor.user
    with named_fields(Retrospective):
        save_validated(row)
    record_event(
        actor=actor,
        action="retrospective.skip",
        target=row,
        target_label=f"{locked.key}: retrospective skipped",
        before=before,
        after=snapshot(row),
    )
    return row
