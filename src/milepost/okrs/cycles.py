"""The cycle's rhythm: planning → active → closed, and re-opening (re-exported by
`milepost.okrs.services`).

Rules:

* **planning**: objectives and key results are drafted and change freely.
* `activate_cycle` (admins; planning → active): draft objectives become active and the
  **baseline** is recorded on the cycle: the plan as agreed (format below). In an active cycle a
  key result's target or due date may still change; the change is audited like every edit and
  `baseline_changes` shows it as "changed from the baseline".
* `close_cycle` (admins; active → closed): refused with `Conflict` listing every objective that
  has neither a retrospective (a reflection) nor an admin's explicit skip (cancelled objectives
  need none). Closing gives every live key result its retrospective with the engine's score
  and grade (kept overrides and lessons untouched), scores the objectives' reflections, and
  closes the open objectives; the ``cycle.closed`` webhook event goes out on commit.
* **closed**: check-ins and every edit of its objectives and key results are refused with
  `Conflict` (`require_open_cycle`, called by the OKR services). Retrospectives may still be
  amended.
* `reopen_cycle` (the organization's owners; closed → active): its closed objectives become
  active again; retrospectives are kept.
* `create_cycle_from_template`: a new cycle whose objectives are drafts copied from the source
  cycle's *recurring* objectives (with their key results reset to their start values, due at
  the new cycle's end, and their alignment among themselves and to parents outside the cycle).

Every transition is one transaction with audit events: ``cycle.activate``, ``cycle.close``,
``cycle.reopen``, and ``objective.update`` / ``retrospective.*`` for the rows they change.

Baseline format (``Cycle.baseline``, JSON, format 1)::

    {
      "format": 1,
      "recorded_at": "2026-10-01T07:00:00+00:00",
      "cycle": {"id": 3, "key": "2026-q4", "name": "2026 Q4",
                "start_date": "2026-10-01", "end_date": "2026-12-31"},
      "objectives": [
        {"id": 12, "key": "grow", "title": "Grow", "state": "active", "weight": "1",
         "owner_team_id": 4, "owner_team": "growth", "owner_user_id": 7, "owner_user": "a@x.test",
         "key_results": [
           {"id": 40, "key": "signups", "title": "Signups", "kind": "increase", "unit": "",
            "start_value": "100", "target_value": "200", "weight": "1",
            "due_date": "2026-12-31", "due_date_explicit": false,
            "owner_id": 7, "owner": "a@x.test"}
         ]}
      ]
    }

Numbers are decimal strings without trailing zeros; ``due_date`` is the effective due date (the
cycle's end when none is set, ``due_date_explicit`` false); live (not archived) rows only, in key
order. ``baseline_changes`` compares this with the same snapshot of the plan now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from milepost.audit.context import current_request_id
from milepost.audit.models import AuditEvent
from milepost.audit.services import record_event, snapshot
from milepost.engine.model import CycleState, ObjectiveState
from milepost.errors import Conflict, PermissionDenied
from milepost.integrations.webhooks import emit_cycle_closed
from milepost.okrs.access import can_edit_cycle
from milepost.okrs.engine_io import recompute_objectives_and_ancestors
from milepost.okrs.models import Alignment, Cycle, KeyResult, Objective, Retrospective
from milepost.okrs.retrospectives import cycle_scores, has_reflection
from milepost.okrs.validation import named_fields, require_in_org, sync_fields
from milepost.organizations.access import Actor
from milepost.servicekit import check_version, create_audited

__all__ = [
    "BASELINE_FORMAT",
    "BaselineChange",
    "activate_cycle",
    "baseline_changes",
    "build_baseline",
    "close_cycle",
    "create_cycle_from_template",
    "missing_retrospectives",
    "reopen_cycle",
    "require_open_cycle",
]

BASELINE_FORMAT = 1
_CYCLE_STATE_FIELDS = ("state", "activated_at", "closed_at", "baseline", "version", "updated_at")
_SLUG_MAX = 80


def require_open_cycle(cycle: Cycle) -> None:
    """Refuse (`Conflict`) any change to what a closed cycle holds."""
    if cycle.state == CycleState.CLOSED:
        raise Conflict(
            f"Cycle {cycle.name} is closed: its objectives, key results and check-ins can no "
            "longer change. An owner of the organization can reopen it."
        )


def _require_cycle_editor(actor: Actor) -> None:
    if not can_edit_cycle(actor):
        raise PermissionDenied(f"Your role ({actor.role}) does not allow you to change cycles.")


def _lock_cycle(actor: Actor, cycle: Cycle, expected_version: int | None) -> Cycle:
    require_in_org(actor, cycle, "Cycle")
    locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
    check_version(locked, expected_version)
    if locked.archived_at is not None:
        raise Conflict(f"Cycle {locked.name} is archived; restore it first.")
    return locked


Entry = tuple[Any, dict[str, Any] | None, dict[str, Any] | None, str]


def _bulk_events(actor: Actor, action: str, entries: Iterable[Entry]) -> None:
    """The audit events `record_event` would write, one per ``(row, before, after, label)``,
    inserted together."""
    now = timezone.now()
    request_id = current_request_id.get()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization_id=actor.organization_id,
            actor_id=actor.user_id,
            actor_label=actor.label,
            action=action,
            target_type=row._meta.model_name,
            target_id=row.pk,
            target_label=label[:300],
            before=before,
            after=after,
            created_at=now,
            request_id=request_id,
        )
        for row, before, after, label in entries
    )


def _set_objective_states(actor: Actor, objectives: list[Objective], state: ObjectiveState) -> None:
    """Move objectives to ``state`` (version bumped, one audited update each)."""
    if not objectives:
        return
    now = timezone.now()
    groups: dict[str, list[Objective]] = {}
    for o in objectives:
        groups.setdefault(o.state, []).append(o)
        o.state = state
        o.version += 1
        o.updated_at = now
    Objective.objects.bulk_update(objectives, ["state", "version", "updated_at"], batch_size=500)
    _bulk_events(
        actor,
        "objective.update",
        (
            (o, {"state": old}, {"state": state.value}, o.title)
            for old, rows in groups.items()
            for o in rows
        ),
    )


# --- the baseline -------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """A decimal as a string without trailing zeros ("200", "0.5")."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def build_baseline(cycle: Cycle) -> dict[str, Any]:
    """The cycle's plan now, in the baseline format (see the module docstring). Two queries."""
    objectives = list(
        Objective.objects.filter(cycle=cycle, archived_at__isnull=True)
        .select_related("owner_team", "owner_user")
        .order_by("key", "pk")
    )
    key_results: dict[int, list[KeyResult]] = {}
    for kr in (
        KeyResult.objects.filter(objective__in=[o.pk for o in objectives], archived_at__isnull=True)
        .select_related("owner")
        .order_by("key", "pk")
    ):
        key_results.setdefault(kr.objective_id, []).append(kr)
    return {
        "format": BASELINE_FORMAT,
        "recorded_at": timezone.now().isoformat(),
        "cycle": {
            "id": cycle.pk,
            "key": cycle.key,
            "name": cycle.name,
            "start_date": cycle.start_date.isoformat(),
            "end_date": cycle.end_date.isoformat(),
        },
        "objectives": [_objective_row(o, key_results.get(o.pk, []), cycle) for o in objectives],
    }


def _objective_row(o: Objective, key_results: list[KeyResult], cycle: Cycle) -> dict[str, Any]:
    return {
        "id": o.pk,
        "key": o.key,
        "title": o.title,
        "state": o.state,
        "weight": _plain(o.weight),
        "owner_team_id": o.owner_team_id,
        "owner_team": o.owner_team.key if o.owner_team is not None else None,
        "owner_user_id": o.owner_user_id,
        "owner_user": o.owner_user.email if o.owner_user is not None else None,
        "key_results": [_key_result_row(kr, cycle) for kr in key_results],
    }


def _key_result_row(kr: KeyResult, cycle: Cycle) -> dict[str, Any]:
    return {
        "id": kr.pk,
        "key": kr.key,
        "title": kr.title,
        "kind": kr.kind,
        "unit": kr.unit,
        "start_value": _plain(kr.start_value),
        "target_value": _plain(kr.target_value),
        "weight": _plain(kr.weight),
        "due_date": (kr.due_date or cycle.end_date).isoformat(),
        "due_date_explicit": kr.due_date is not None,
        "owner_id": kr.owner_id,
        "owner": kr.owner.email if kr.owner is not None else None,
    }


_KR_FIELDS = ("target_value", "due_date", "start_value", "weight", "owner")
_OBJECTIVE_FIELDS = ("weight", "owner_team", "owner_user")
FIELD_LABELS = {
    "target_value": "target",
    "due_date": "due date",
    "start_value": "start",
    "weight": "weight",
    "owner": "owner",
    "owner_team": "team",
    "owner_user": "owner",
}


@dataclass(frozen=True)
class BaselineChange:
    """One difference between a cycle's baseline and its plan now.

    ``change`` is ``"changed"`` (``field`` says which, with both values), ``"added"`` (after
    activation; ``baseline`` empty) or ``"removed"`` (archived or moved away; ``current``
    empty). ``key`` is ``"objective"`` or ``"objective/kr"``."""

    kind: str  # "objective" | "key_result"
    object_id: int
    key: str
    title: str
    change: str
    field: str = ""
    baseline: str = ""
    current: str = ""

    @property
    def field_label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field.replace("_", " "))


def _diff_rows(
    kind: str,
    key: str,
    was: dict[str, Any] | None,
    now: dict[str, Any] | None,
    fields: tuple[str, ...],
) -> list[BaselineChange]:
    if was is None:
        return [] if now is None else [BaselineChange(kind, now["id"], key, now["title"], "added")]
    if now is None:
        return [BaselineChange(kind, was["id"], key, was["title"], "removed")]
    return [
        BaselineChange(
            kind,
            now["id"],
            key,
            now["title"],
            "changed",
            field=name,
            baseline=str(was.get(name) or "—"),
            current=str(now.get(name) or "—"),
        )
        for name in fields
        if was.get(name) != now.get(name)
    ]


def baseline_changes(cycle: Cycle) -> list[BaselineChange]:
    """How the cycle's plan now differs from its baseline (the plan as agreed at activation):
    changed targets, due dates, start values, weights and owners of key results; changed
    weights and owners of objectives; objectives and key results added or removed since.
    Empty when the cycle has no baseline (never activated). Two queries."""
    if not cycle.baseline:
        return []
    before = cycle.baseline
    now = build_baseline(cycle)
    was_objectives = {o["id"]: o for o in before.get("objectives", [])}
    now_objectives = {o["id"]: o for o in now["objectives"]}
    changes: list[BaselineChange] = []
    order = sorted(
        set(was_objectives) | set(now_objectives),
        key=lambda pk: (now_objectives.get(pk) or was_objectives[pk])["key"],
    )
    for pk in order:
        changes += _objective_changes(was_objectives.get(pk), now_objectives.get(pk))
    return changes


def _objective_changes(
    was: dict[str, Any] | None, cur: dict[str, Any] | None
) -> list[BaselineChange]:
    """One objective's lines of `baseline_changes`: its own, then its key results'."""
    objective_key = (cur or was or {})["key"]
    changes = _diff_rows("objective", objective_key, was, cur, _OBJECTIVE_FIELDS)
    if was is None or cur is None:
        return changes  # the objective's own line says it all
    was_krs = {k["id"]: k for k in was.get("key_results", [])}
    now_krs = {k["id"]: k for k in cur.get("key_results", [])}
    for kr_pk in sorted(
        set(was_krs) | set(now_krs), key=lambda k: (now_krs.get(k) or was_krs[k])["key"]
    ):
        row = now_krs.get(kr_pk) or was_krs[kr_pk]
        changes += _diff_rows(
            "key_result",
            f"{objective_key}/{row['key']}",
            was_krs.get(kr_pk),
            now_krs.get(kr_pk),
            _KR_FIELDS,
        )
    return changes


def objective_baseline_changes(
    objective: Objective, key_results: list[KeyResult]
) -> list[BaselineChange]:
    """What `baseline_changes` lists for this objective and its key results, from the loaded
    objective (with cycle and owners) and its live key results (with owners): no query."""
    cycle = objective.cycle
    if not cycle.baseline:
        return []
    was = next((o for o in cycle.baseline.get("objectives", []) if o["id"] == objective.pk), None)
    cur = (
        None if objective.archived_at is not None else _objective_row(objective, key_results, cycle)
    )
    if was is None and cur is None:
        return []
    return _objective_changes(was, cur)


def key_result_baseline_changes(kr: KeyResult) -> list[BaselineChange]:
    """What `baseline_changes` lists for this one key result, from the key result alone (no
    query once its objective, cycle and owner are loaded)."""
    objective = kr.objective
    cycle = objective.cycle
    if not cycle.baseline or objective.archived_at is not None:
        return []
    was_objective = next(
        (o for o in cycle.baseline.get("objectives", []) if o["id"] == objective.pk), None
    )
    if was_objective is None:
        return []  # the objective is new since the baseline: its own line says it all
    was = next((k for k in was_objective.get("key_results", []) if k["id"] == kr.pk), None)
    now = None if kr.archived_at is not None else _key_result_row(kr, cycle)
    row = now or was
    if row is None:
        return []
    return _diff_rows("key_result", f"{objective.key}/{row['key']}", was, now, _KR_FIELDS)


# --- transitions --------------------------------------------------------------------------------


@transaction.atomic
def activate_cycle(*, actor: Actor, cycle: Cycle, expected_version: int | None = None) -> Cycle:
    """Start a cycle that is being planned (admins): its draft objectives become active and
    the plan as agreed is recorded as the cycle's baseline. `Conflict` unless it is in
    planning."""
    _require_cycle_editor(actor)
    locked = _lock_cycle(actor, cycle, expected_version)
    if locked.state != CycleState.PLANNING:
        raise Conflict(
            f"Cycle {locked.name} is {locked.state}: only a cycle being planned can be activated."
        )
    drafts = list(
        Objective.objects.select_for_update()
        .filter(cycle=locked, archived_at__isnull=True, state=ObjectiveState.DRAFT)
        .order_by("pk")
    )
    _set_objective_states(actor, drafts, ObjectiveState.ACTIVE)
    locked.baseline = build_baseline(locked)
    locked.state = CycleState.ACTIVE
    locked.activated_at = timezone.now()
    locked.closed_at = None
    locked.version += 1
    locked.save(update_fields=list(_CYCLE_STATE_FIELDS))
    objectives = locked.baseline["objectives"]
    record_event(
        actor=actor,
        action="cycle.activate",
        target=locked,
        before={"state": CycleState.PLANNING.value},
        after={
            "state": locked.state,
            "activated_at": locked.activated_at.isoformat(),
            "objectives": len(objectives),
            "key_results": sum(len(o["key_results"]) for o in objectives),
            "objectives_activated": [o.key for o in drafts],
        },
    )
    sync_fields(cycle, locked, _CYCLE_STATE_FIELDS)
    return locked


def missing_retrospectives(cycle: Cycle) -> list[Objective]:
    """The cycle's live objectives (cancelled ones aside) that have neither a written
    reflection nor an admin's skip: what stands between the cycle and its close. Two queries."""
    objectives = list(
        Objective.objects.filter(cycle=cycle, archived_at__isnull=True)
        .exclude(state=ObjectiveState.CANCELLED)
        .select_related("owner_team", "owner_user")
        .order_by("key", "pk")
    )
    done = {
        r.objective_id
        for r in Retrospective.objects.filter(objective__in=[o.pk for o in objectives])
        if r.skipped or has_reflection(r)
    }
    return [o for o in objectives if o.pk not in done]


def _score_retrospectives(actor: Actor, cycle: Cycle) -> tuple[int, int]:
    """Give every live key result a retrospective with its engine score and grade, and the
    objectives' retrospectives theirs. (created, updated)."""
    scores = cycle_scores(cycle, actor.organization)
    existing = {
        (r.key_result_id or 0, r.objective_id or 0): r
        for r in Retrospective.objects.select_for_update().filter(
            Q(key_result_id__in=list(scores.key_results))
            | Q(objective_id__in=list(scores.objectives))
        )
    }
    created: list[Retrospective] = []
    updated: list[Retrospective] = []
    subjects = [((pk, 0), s) for pk, s in scores.key_results.items()] + [
        ((0, pk), s) for pk, s in scores.objectives.items()
    ]
    for (kr_id, objective_id), result in subjects:
        row = existing.get((kr_id, objective_id))
        if row is None:
            if objective_id:
                continue  # an objective's retrospective is its reflection or a skip
            created.append(
                Retrospective(
                    organization_id=actor.organization_id,
                    cycle=cycle,
                    key_result_id=kr_id,
                    score=result.value,
                    grade=result.grade,
                )
            )
        elif (row.score, row.grade, row.cycle_id) != (result.value, result.grade, cycle.pk):
            row.score, row.grade, row.cycle = result.value, result.grade, cycle
            updated.append(row)
    with named_fields(Retrospective):
        Retrospective.objects.bulk_create(created, batch_size=500)
    Retrospective.objects.bulk_update(updated, ["score", "grade", "cycle"], batch_size=500)
    new_rows = Retrospective.objects.filter(
        cycle=cycle, key_result_id__in=[r.key_result_id for r in created]
    ).select_related("key_result__objective")
    _bulk_events(
        actor,
        "retrospective.create",
        (
            (row, None, snapshot(row), f"{_subject(row)}: retrospective at close")
            for row in new_rows
        ),
    )
    _bulk_events(
        actor,
        "retrospective.update",
        (
            (row, None, {"score": str(row.score), "grade": row.grade}, f"retrospective {row.pk}")
            for row in updated
        ),
    )
    return len(created), len(updated)


def _subject(row: Retrospective) -> str:
    kr = row.key_result
    return f"{kr.objective.key}/{kr.key}" if kr is not None else f"objective {row.objective_id}"


@transaction.atomic
def close_cycle(*, actor: Actor, cycle: Cycle, expected_version: int | None = None) -> Cycle:
    """Close an active cycle (admins). Refused with `Conflict` listing the objectives that
    still need a retrospective or an admin's skip (``errors["objectives"]`` names each).

    Every live key result gets its retrospective with the engine's score and grade as of the
    cycle's score date (overrides and lessons already written are kept), reflections get
    their objective's score, and open objectives are closed. From then on its check-ins and
    edits are refused until an owner reopens it. Webhook subscribers get ``cycle.closed``
    once the transaction commits."""
    _require_cycle_editor(actor)
    locked = _lock_cycle(actor, cycle, expected_version)
    if locked.state != CycleState.ACTIVE:
        raise Conflict(
            f"Cycle {locked.name} is {locked.state}: only an active cycle can be closed."
        )
    missing = missing_retrospectives(locked)
    if missing:
        names = ", ".join(f"“{o.title}”" for o in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise Conflict(
            f"Cycle {locked.name} cannot close yet: {len(missing)} objective"
            f"{'s have' if len(missing) != 1 else ' has'} no retrospective ({names}{more}). "
            "Write their reflections, or an admin skips them.",
            errors={"objectives": [f"{o.key}: {o.title}" for o in missing]},
        )
    created, updated = _score_retrospectives(actor, locked)
    open_objectives = list(
        Objective.objects.select_for_update()
        .filter(cycle=locked, archived_at__isnull=True)
        .filter(state__in=[ObjectiveState.DRAFT, ObjectiveState.ACTIVE])
        .order_by("pk")
    )
    _set_objective_states(actor, open_objectives, ObjectiveState.CLOSED)
    locked.state = CycleState.CLOSED
    locked.closed_at = timezone.now()
    locked.version += 1
    locked.save(update_fields=list(_CYCLE_STATE_FIELDS))
    record_event(
        actor=actor,
        action="cycle.close",
        target=locked,
        before={"state": CycleState.ACTIVE.value},
        after={
            "state": locked.state,
            "closed_at": locked.closed_at.isoformat(),
            "objectives_closed": [o.key for o in open_objectives],
            "retrospectives_created": created,
            "retrospectives_rescored": updated,
        },
    )
    # Subscribers hear of it once this transaction commits (never if it rolls back).
    emit_cycle_closed(locked)
    sync_fields(cycle, locked, _CYCLE_STATE_FIELDS)
    return locked


@transaction.atomic
def reopen_cycle(*, actor: Actor, cycle: Cycle, expected_version: int | None = None) -> Cycle:
    """Re-open a closed cycle (the organization's owners only): it becomes active again and
    its closed objectives active; retrospectives are kept. `Conflict` unless it is closed."""
    if not actor.is_owner or actor.token is not None:
        raise PermissionDenied("Only an owner of the organization can reopen a closed cycle.")
    locked = _lock_cycle(actor, cycle, expected_version)
    if locked.state != CycleState.CLOSED:
        raise Conflict(f"Cycle {locked.name} is {locked.state}: only a closed cycle reopens.")
    closed = list(
        Objective.objects.select_for_update()
        .filter(cycle=locked, archived_at__isnull=True, state=ObjectiveState.CLOSED)
        .order_by("pk")
    )
    _set_objective_states(actor, closed, ObjectiveState.ACTIVE)
    closed_at = locked.closed_at
    locked.state = CycleState.ACTIVE
    locked.closed_at = None
    locked.version += 1
    locked.save(update_fields=list(_CYCLE_STATE_FIELDS))
    record_event(
        actor=actor,
        action="cycle.reopen",
        target=locked,
        before={
            "state": CycleState.CLOSED.value,
            "closed_at": closed_at.isoformat() if closed_at else None,
        },
        after={"state": locked.state, "objectives_reopened": [o.key for o in closed]},
    )
    sync_fields(cycle, locked, _CYCLE_STATE_FIELDS)
    return locked


# --- templates ----------------------------------------------------------------------------------


def unique_key(base: str, suffix: str, taken: set[str], *, drop: str = "") -> str:
    """``<base>-<suffix>`` (without a trailing ``-<drop>`` of ``base``), shortened to fit a
    key and numbered (``-2``, ``-3``…) until it is not in ``taken``; added to ``taken``."""
    if drop and base.endswith(f"-{drop}"):
        base = base[: -len(drop) - 1]
    stem = f"{base}-{suffix}"[:_SLUG_MAX].strip("-")
    candidate = stem
    n = 2
    while candidate in taken:
        tail = f"-{n}"
        candidate = f"{stem[: _SLUG_MAX - len(tail)]}{tail}"
        n += 1
    taken.add(candidate)
    return candidate


def _copy_alignment(
    actor: Actor,
    source_cycle: Cycle,
    copies: dict[int, Objective],
    kr_copies: dict[int, KeyResult],
) -> set[int]:
    """Mirror the source objectives' alignment onto their copies: links between copied
    objectives (or to a copied key result) point at the copies; links to parents outside the
    source cycle (a year's objective) are kept; links to objectives left behind are dropped.
    The ids of the parents that gained children."""
    parents: set[int] = set()
    for link in Alignment.objects.filter(
        child_id__in=list(copies), archived_at__isnull=True
    ).select_related("parent_objective", "parent_key_result__objective"):
        parent_objective: Objective | None = None
        parent_kr: KeyResult | None = None
        if link.parent_objective is not None:
            if link.parent_objective_id in copies:
                parent_objective = copies[link.parent_objective.pk]
            elif link.parent_objective.cycle_id != source_cycle.pk:
                parent_objective = link.parent_objective
        elif link.parent_key_result is not None:
            if link.parent_key_result_id in kr_copies:
                parent_kr = kr_copies[link.parent_key_result.pk]
            elif link.parent_key_result.objective.cycle_id != source_cycle.pk:
                parent_kr = link.parent_key_result
        if parent_objective is None and parent_kr is None:
            continue
        copy = Alignment(
            organization_id=actor.organization_id,
            child=copies[link.child_id],
            parent_objective=parent_objective,
            parent_key_result=parent_kr,
            weight=link.weight,
        )
        with named_fields(Alignment):
            create_audited(actor=actor, instance=copy)
        parents.add(parent_objective.pk if parent_objective else parent_kr.objective_id)  # type: ignore[union-attr]
    return parents


@transaction.atomic
def create_cycle_from_template(
    *,
    actor: Actor,
    source_cycle: Cycle,
    key: str,
    name: str,
    start_date: dt.date,
    end_date: dt.date,
) -> Cycle:
    """A new cycle in planning (admins) prepared from ``source_cycle``: its recurring
    objectives (not archived or cancelled) are copied as drafts — same owners, visibility and
    weight, linked back to the objective they continue (``carried_from``) — with their live
    key results reset (current value = start value, no check-ins, due at the new cycle's end)
    and their alignment mirrored. The new cycle shares the source's parent when its dates fit
    inside it. Every row written is audited."""
    from milepost.okrs.services import create_cycle  # services re-exports this module

    require_in_org(actor, source_cycle, "Cycle")
    parent = source_cycle.parent
    if parent is not None and (start_date < parent.start_date or end_date > parent.end_date):
        parent = None
    cycle = create_cycle(
        actor=actor, key=key, name=name, start_date=start_date, end_date=end_date, parent=parent
    )
    sources = list(
        Objective.objects.filter(cycle=source_cycle, archived_at__isnull=True, recurring=True)
        .exclude(state=ObjectiveState.CANCELLED)
        .order_by("key", "pk")
    )
    taken = set(
        Objective.objects.filter(organization_id=actor.organization_id).values_list(
            "key", flat=True
        )
    )
    copies: dict[int, Objective] = {}
    for source in sources:
        copy = Objective(
            organization_id=actor.organization_id,
            cycle=cycle,
            key=unique_key(source.key, cycle.key, taken, drop=source_cycle.key),
            title=source.title,
            description=source.description,
            owner_team_id=source.owner_team_id,
            owner_user_id=source.owner_user_id,
            visibility=source.visibility,
            state=ObjectiveState.DRAFT,
            weight=source.weight,
            recurring=True,
            carried_from=source,
        )
        with named_fields(Objective):
            create_audited(actor=actor, instance=copy)
        copies[source.pk] = copy
    kr_copies: dict[int, KeyResult] = {}
    for kr in KeyResult.objects.filter(
        objective_id__in=list(copies), archived_at__isnull=True
    ).order_by("objective_id", "key", "pk"):
        kr_copy = KeyResult(
            organization_id=actor.organization_id,
            objective=copies[kr.objective_id],
            key=kr.key,
            title=kr.title,
            description=kr.description,
            kind=kr.kind,
            unit=kr.unit,
            start_value=kr.start_value,
            target_value=kr.target_value,
            current_value=kr.start_value,
            weight=kr.weight,
            owner_id=kr.owner_id,
            due_date=None,
            curve=kr.curve,
            maintain_direction=kr.maintain_direction,
        )
        with named_fields(KeyResult):
            create_audited(actor=actor, instance=kr_copy)
        kr_copies[kr.pk] = kr_copy
    parents = _copy_alignment(actor, source_cycle, copies, kr_copies)
    record_event(
        actor=actor,
        action="cycle.create_from_template",
        target=cycle,
        after={
            "source_cycle_id": source_cycle.pk,
            "objectives": [o.key for o in copies.values()],
            "key_results": len(kr_copies),
        },
    )
    recompute_objectives_and_ancestors(
        actor.organization,
        key_result_ids=[k.pk for k in kr_copies.values()],
        objective_ids={o.pk for o in copies.values()} | parents,
    )
    return cycle
