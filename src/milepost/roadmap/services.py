"""Writes for the roadmap: initiatives (business case, status and closure), their links to key
results, milestones and dependencies.

Every service is keyword-only, takes an explicit `actor`, runs in one transaction and writes
an audit event; bad input raises `InvalidInput` naming every field at fault and writes
nothing. Who may change what is decided in `milepost.roadmap.access`.

Rules worth knowing:

* Initiative and milestone keys share one namespace (a plan file's dependencies name either),
  so a milestone cannot take an initiative's key and the other way round.
* Closing an initiative (done or cancelled) records ``closed_at`` and needs its closure
  summary: what was delivered (done) or why it stopped and what was learned (cancelled).
  Reopening clears ``closed_at``; the summaries stay as the history of the last closure.
  Creating an initiative that is already closed (importing history) records ``closed_at``.
* Links between initiatives and key results, and dependencies, are removed outright (the
  audit event keeps what was removed); entities are archived and can be restored.
* A dependency that would close a loop is refused with `Conflict` naming every item of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from milepost.audit.services import record_event, snapshot
from milepost.engine.model import Curve as CurveKind
from milepost.engine.model import DependencyType, InitiativeStatus, KeyResultKind
from milepost.errors import Conflict, InvalidInput
from milepost.okrs.models import Cycle, KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization, Role, Team
from milepost.roadmap.access import (
    can_edit_dependency,
    can_edit_endpoint,
    can_edit_initiative,
    can_edit_milestone,
)
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.roadmap.validation import (
    FieldErrors,
    clean_date,
    clean_decimal,
    deny_unless,
    is_active_member,
    organization_today,
    reject_unknown,
    require_in_organization,
)
from milepost.servicekit import apply_update, archive, check_version, restore, save_validated

if TYPE_CHECKING:
    from milepost.accounts.models import User

CLOSED_STATUSES = frozenset({InitiativeStatus.DONE, InitiativeStatus.CANCELLED})

INITIATIVE_FIELDS = (
    "key",
    "title",
    "description",
    "team",
    "owner",
    "cycle",
    "status",
    "start_date",
    "end_date",
    "effort_days",
    "budget",
    "actual_cost",
    "planned_hours",
    "hypothesis",
    "estimated_cost",
    "estimated_effort_days",
    "delivered_summary",
    "outcome_summary",
)
_INITIATIVE_DECIMALS = (
    "effort_days",
    "budget",
    "actual_cost",
    "planned_hours",
    "estimated_cost",
    "estimated_effort_days",
)
MILESTONE_FIELDS = ("key", "name", "date", "initiative", "key_result", "weight", "done_on")
LINK_FIELDS = ("weight", "expected_impact")
DEPENDENCY_FIELDS = ("type", "lag_days")
MAX_LAG_DAYS = 3650

_NOT_YOURS = "that you own or that belong to your teams."


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


# --- reference checks ----------------------------------------------------------------------


def _check_key(
    errors: FieldErrors, actor: Actor, key: Any, *, initiative: int | None, milestone: int | None
) -> str:
    """A key must be unique among the organization's initiatives *and* milestones."""
    text = str(key or "").strip()
    if not text:
        errors.add("key", "is required")
        return text
    initiatives = Initiative.objects.of(actor.organization_id).filter(key=text)
    milestones = Milestone.objects.of(actor.organization_id).filter(key=text)
    if initiatives.exclude(pk=initiative or 0).exists():
        errors.add("key", f"an initiative with the key {text!r} already exists")
    elif milestones.exclude(pk=milestone or 0).exists():
        errors.add("key", f"a milestone with the key {text!r} already exists")
    return text


def _check_row(errors: FieldErrors, actor: Actor, name: str, row: Any) -> None:
    """`row` (a team, cycle or initiative) must be a live row of the actor's organization."""
    if row is not None and (row.organization_id != actor.organization_id or row.archived_at):
        errors.add(name, f"{name.replace('_', ' ')} not found")


def _check_user(errors: FieldErrors, actor: Actor, name: str, user: User | None) -> None:
    if user is not None and not is_active_member(actor.organization_id, user):
        errors.add(name, "is not a member of this organization")


def _check_key_result(errors: FieldErrors, actor: Actor, key_result: KeyResult | None) -> None:
    if key_result is None:
        return
    visible = (
        KeyResult.objects.visible_to(actor)
        .active()
        .filter(pk=key_result.pk, objective__archived_at__isnull=True)
        .exists()
    )
    if not visible:
        errors.add("key_result", "key result not found")


def _check_lag(errors: FieldErrors, lag: Any) -> None:
    if isinstance(lag, bool) or not isinstance(lag, int):
        errors.add("lag_days", "must be a whole number of days")
    elif abs(lag) > MAX_LAG_DAYS:
        errors.add("lag_days", f"must be within ±{MAX_LAG_DAYS} days")


def _clean_type(errors: FieldErrors, value: Any) -> DependencyType | None:
    try:
        return DependencyType(value)
    except ValueError:
        errors.add("type", f"must be one of {', '.join(t.value for t in DependencyType)}")
        return None


# --- initiatives ---------------------------------------------------------------------------


def _clean_initiative(
    actor: Actor, values: dict[str, Any], current: Initiative | None
) -> dict[str, Any]:
    """Validate the given initiative fields (references only when they change) and the
    resulting state; return the values with numbers and dates normalised."""
    errors = FieldErrors()
    cleaned = dict(values)
    current_pk = current.pk if current is not None else None
    if "key" in values:
        cleaned["key"] = _check_key(
            errors, actor, values["key"], initiative=current_pk, milestone=None
        )
    if "title" in values:
        cleaned["title"] = str(values["title"] or "").strip()
        if not cleaned["title"]:
            errors.add("title", "is required")
    for name in ("team", "cycle"):
        if name in values and (
            current is None or _pk(values[name]) != getattr(current, f"{name}_id")
        ):
            _check_row(errors, actor, name, values[name])
    if "owner" in values and (current is None or _pk(values["owner"]) != current.owner_id):
        _check_user(errors, actor, "owner", values["owner"])
    if "status" in values:
        try:
            cleaned["status"] = InitiativeStatus(values["status"])
        except ValueError:
            errors.add("status", f"must be one of {', '.join(s.value for s in InitiativeStatus)}")
    for name in _INITIATIVE_DECIMALS:
        if name in values:
            required = name in ("effort_days", "actual_cost")
            cleaned[name] = clean_decimal(errors, name, values[name], required=required)
    for name in ("start_date", "end_date"):
        if name in values:
            cleaned[name] = clean_date(errors, name, values[name])
    start = cleaned.get("start_date", current.start_date if current else None)
    end = cleaned.get("end_date", current.end_date if current else None)
    if start is not None and end is not None and "start_date" not in errors and end < start:
        errors.add("end_date", f"must be on or after start_date ({start.isoformat()})")
    errors.raise_if_any()
    return cleaned


def _status_changes(initiative: Initiative | None, changes: dict[str, Any]) -> dict[str, Any]:
    """The closure fields a status change implies: ``closed_at`` set on closing (closing an
    existing initiative also needs its summary) and cleared on reopening."""
    if "status" not in changes:
        return {}
    new = InitiativeStatus(changes["status"])
    old = InitiativeStatus(initiative.status) if initiative is not None else None
    if new == old:
        return {}
    if new in CLOSED_STATUSES:
        if initiative is not None:
            errors = FieldErrors()
            if new == InitiativeStatus.DONE:
                summary = changes.get("delivered_summary", initiative.delivered_summary)
                if not str(summary or "").strip():
                    errors.add("delivered_summary", "say what was delivered when closing as done")
            else:
                summary = changes.get("outcome_summary", initiative.outcome_summary)
                if not str(summary or "").strip():
                    errors.add("outcome_summary", "say why it was cancelled and what was learned")
            errors.raise_if_any()
        return {"closed_at": timezone.now()}
    if old in CLOSED_STATUSES:
        return {"closed_at": None}
    return {}


@transaction.atomic
def create_initiative(
    *,
    actor: Actor,
    key: str,
    title: str,
    team: Team | None = None,
    owner: User | None = None,
    cycle: Cycle | None = None,
    status: str = InitiativeStatus.PROPOSED,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    effort_days: Decimal = Decimal(0),
    budget: Decimal | None = None,
    planned_hours: Decimal | None = None,
    hypothesis: str = "",
    estimated_cost: Decimal | None = None,
    estimated_effort_days: Decimal | None = None,
    description: str = "",
) -> Initiative:
    """Create an initiative with its business case. Members create initiatives of their
    own teams or owned by themselves; admins any."""
    actor.require(Role.MEMBER, "create initiatives")
    values = _clean_initiative(
        actor,
        {
            "key": key,
            "title": title,
            "team": team,
            "owner": owner,
            "cycle": cycle,
            "status": status,
            "start_date": start_date,
            "end_date": end_date,
            "effort_days": effort_days,
            "budget": budget,
            "planned_hours": planned_hours,
            "estimated_cost": estimated_cost,
            "estimated_effort_days": estimated_effort_days,
        },
        None,
    )
    deny_unless(
        actor.can_edit_owned(owner_user_id=_pk(owner), team_id=_pk(team)),
        "Members create initiatives of their own teams or owned by themselves.",
    )
    values.update(_status_changes(None, values))
    initiative = Initiative(
        organization_id=actor.organization_id,
        hypothesis=hypothesis,
        description=description,
        **values,
    )
    save_validated(initiative)
    record_event(
        actor=actor, action="initiative.create", target=initiative, after=snapshot(initiative)
    )
    return initiative


def _lock_initiative(actor: Actor, initiative: Initiative, verb: str) -> Initiative:
    require_in_organization(actor, initiative, "Initiative")
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    deny_unless(can_edit_initiative(actor, locked), f"You may only {verb} initiatives {_NOT_YOURS}")
    return locked


def _update_initiative(
    actor: Actor,
    initiative: Initiative,
    changes: Mapping[str, Any],
    expected_version: int | None,
    action: str,
) -> Initiative:
    locked = _lock_initiative(actor, initiative, "change")
    reject_unknown(changes, INITIATIVE_FIELDS)
    check_version(locked, expected_version)
    cleaned = _clean_initiative(actor, dict(changes), locked)
    cleaned.update(_status_changes(locked, cleaned))
    return apply_update(
        actor=actor,
        instance=locked,
        changes=cleaned,
        allowed=(*INITIATIVE_FIELDS, "closed_at"),
        expected_version=expected_version,
        action=action,
    )


@transaction.atomic
def update_initiative(
    *,
    actor: Actor,
    initiative: Initiative,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Initiative:
    """Change an initiative's fields (model field names). A status change here follows the
    same rules as `change_initiative_status`."""
    return _update_initiative(actor, initiative, changes, expected_version, "initiative.update")


@transaction.atomic
def change_initiative_status(
    *,
    actor: Actor,
    initiative: Initiative,
    status: str,
    delivered_summary: str = "",
    outcome_summary: str = "",
    expected_version: int | None = None,
) -> Initiative:
    """Move an initiative to `status`. Done needs `delivered_summary` and cancelled needs
    `outcome_summary` (unless already recorded); both record ``closed_at``. Reopening
    clears ``closed_at``."""
    changes: dict[str, Any] = {"status": status}
    if delivered_summary.strip():
        changes["delivered_summary"] = delivered_summary.strip()
    if outcome_summary.strip():
        changes["outcome_summary"] = outcome_summary.strip()
    return _update_initiative(actor, initiative, changes, expected_version, "initiative.status")


@transaction.atomic
def archive_initiative(
    *, actor: Actor, initiative: Initiative, expected_version: int | None = None
) -> Initiative:
    """Archive an initiative (its tasks, milestones and links leave the plan with it)."""
    locked = _lock_initiative(actor, initiative, "archive")
    return archive(actor=actor, instance=locked, expected_version=expected_version)


@transaction.atomic
def restore_initiative(
    *, actor: Actor, initiative: Initiative, expected_version: int | None = None
) -> Initiative:
    """Bring an archived initiative back, with everything that left the plan with it."""
    locked = _lock_initiative(actor, initiative, "restore")
    check_version(locked, expected_version)
    return restore(actor=actor, instance=locked)


# --- links to key results ------------------------------------------------------------------


@transaction.atomic
def link_initiative(
    *,
    actor: Actor,
    initiative: Initiative,
    key_result: KeyResult,
    weight: Decimal = Decimal(1),
    expected_impact: str = "",
) -> InitiativeKeyResult:
    """Record that the initiative is expected to move the key result (weight = expected
    contribution). Conflict if they are already linked."""
    require_in_organization(actor, initiative, "Initiative")
    errors = FieldErrors()
    _check_row(errors, actor, "initiative", initiative)
    _check_key_result(errors, actor, key_result)
    clean_weight = clean_decimal(errors, "weight", weight, required=True)
    errors.raise_if_any()
    deny_unless(
        can_edit_initiative(actor, initiative), f"You may only link initiatives {_NOT_YOURS}"
    )
    existing = (
        InitiativeKeyResult.objects.select_for_update()
        .filter(initiative=initiative, key_result=key_result)
        .first()
    )
    if existing is not None and existing.archived_at is None:
        raise Conflict(f"{initiative.key} is already linked to this key result.")
    link = existing or InitiativeKeyResult(
        organization_id=actor.organization_id, initiative=initiative, key_result=key_result
    )
    if existing is not None:  # an archived link (from an import) comes back
        link.archived_at = None
        link.version += 1
    link.weight = clean_weight if clean_weight is not None else Decimal(1)
    link.expected_impact = expected_impact.strip()
    save_validated(link)
    record_event(actor=actor, action="initiative.link", target=initiative, after=snapshot(link))
    return link


@transaction.atomic
def update_initiative_link(
    *,
    actor: Actor,
    link: InitiativeKeyResult,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> InitiativeKeyResult:
    """Change a link's weight or expected impact."""
    require_in_organization(actor, link, "Link")
    locked = InitiativeKeyResult.objects.select_for_update().get(pk=link.pk)
    initiative = Initiative.objects.get(pk=locked.initiative_id)
    deny_unless(can_edit_initiative(actor, initiative), f"You may only change links {_NOT_YOURS}")
    reject_unknown(changes, LINK_FIELDS)
    check_version(locked, expected_version)
    cleaned = dict(changes)
    if "weight" in changes:
        errors = FieldErrors()
        cleaned["weight"] = clean_decimal(errors, "weight", changes["weight"], required=True)
        errors.raise_if_any()
    return apply_update(
        actor=actor,
        instance=locked,
        changes=cleaned,
        allowed=LINK_FIELDS,
        expected_version=expected_version,
        action="initiative.link_update",
    )


@transaction.atomic
def unlink_initiative(*, actor: Actor, link: InitiativeKeyResult) -> None:
    """Remove a link between an initiative and a key result (the audit event keeps it)."""
    require_in_organization(actor, link, "Link")
    locked = InitiativeKeyResult.objects.select_for_update().get(pk=link.pk)
    initiative = Initiative.objects.get(pk=locked.initiative_id)
    deny_unless(
        can_edit_initiative(actor, initiative), f"You may only unlink initiatives {_NOT_YOURS}"
    )
    record_event(
        actor=actor, action="initiative.unlink", target=initiative, before=snapshot(locked)
    )
    locked.delete()


# --- milestones ----------------------------------------------------------------------------


def _clean_milestone(
    actor: Actor, values: dict[str, Any], current: Milestone | None
) -> dict[str, Any]:
    errors = FieldErrors()
    cleaned = dict(values)
    current_pk = current.pk if current is not None else None
    if "key" in values:
        cleaned["key"] = _check_key(
            errors, actor, values["key"], initiative=None, milestone=current_pk
        )
    if "name" in values:
        cleaned["name"] = str(values["name"] or "").strip()
        if not cleaned["name"]:
            errors.add("name", "is required")
    if "date" in values:
        cleaned["date"] = clean_date(errors, "date", values["date"], required=True)
    if "done_on" in values:
        cleaned["done_on"] = done_on = clean_date(errors, "done_on", values["done_on"])
        today = organization_today(actor.organization)
        if done_on is not None and done_on > today:
            errors.add("done_on", f"cannot be in the future (today is {today.isoformat()})")
    if "weight" in values:
        cleaned["weight"] = clean_decimal(errors, "weight", values["weight"], required=True)
    if "initiative" in values and (
        current is None or _pk(values["initiative"]) != current.initiative_id
    ):
        _check_row(errors, actor, "initiative", values["initiative"])
    key_result = values.get("key_result")
    if key_result is not None and (current is None or key_result.pk != current.key_result_id):
        _check_key_result(errors, actor, key_result)
        counts = (
            key_result.kind == KeyResultKind.MILESTONES or key_result.curve == CurveKind.STEPPED
        )
        if "key_result" not in errors and not counts:
            errors.add(
                "key_result",
                "only a `milestones` key result, or one with a stepped curve, counts milestones",
            )
    errors.raise_if_any()
    return cleaned


def _recompute_key_results(key_result_ids: set[int | None]) -> None:
    """Milestones feed `milestones` key results (and stepped curves): refresh their stored
    progress, and their ancestors', in the same transaction."""
    from milepost.okrs.engine_io import recompute_key_result_and_ancestors

    ids = {pk for pk in key_result_ids if pk is not None}
    if ids:
        for key_result in KeyResult.objects.filter(pk__in=ids).select_related("objective__cycle"):
            recompute_key_result_and_ancestors(key_result)


@transaction.atomic
def create_milestone(
    *,
    actor: Actor,
    key: str,
    name: str,
    date: dt.date,
    initiative: Initiative | None = None,
    key_result: KeyResult | None = None,
    weight: Decimal = Decimal(1),
) -> Milestone:
    """Create a milestone, on an initiative and/or counting toward a key result."""
    actor.require(Role.MEMBER, "create milestones")
    values = {
        "key": key,
        "name": name,
        "date": date,
        "initiative": initiative,
        "key_result": key_result,
        "weight": weight,
    }
    milestone = Milestone(
        organization_id=actor.organization_id, **_clean_milestone(actor, values, None)
    )
    deny_unless(
        can_edit_milestone(actor, milestone),
        f"You may only add milestones to initiatives or key results {_NOT_YOURS}",
    )
    save_validated(milestone)
    record_event(
        actor=actor, action="milestone.create", target=milestone, after=snapshot(milestone)
    )
    _recompute_key_results({milestone.key_result_id})
    return milestone


def _lock_milestone(actor: Actor, milestone: Milestone) -> Milestone:
    require_in_organization(actor, milestone, "Milestone")
    locked = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("initiative", "key_result__objective")
        .get(pk=milestone.pk)
    )
    deny_unless(
        can_edit_milestone(actor, locked),
        f"You may only change milestones of initiatives or key results {_NOT_YOURS}",
    )
    return locked


def _update_milestone(
    actor: Actor,
    milestone: Milestone,
    changes: Mapping[str, Any],
    expected_version: int | None,
    action: str,
) -> Milestone:
    locked = _lock_milestone(actor, milestone)
    reject_unknown(changes, MILESTONE_FIELDS)
    check_version(locked, expected_version)
    cleaned = _clean_milestone(actor, dict(changes), locked)
    if "initiative" in cleaned or "key_result" in cleaned:
        # Moving a milestone adds it to where it goes: that must be the actor's to change too.
        moved = Milestone(
            organization_id=locked.organization_id,
            initiative=cleaned.get("initiative", locked.initiative),
            key_result=cleaned.get("key_result", locked.key_result),
        )
        deny_unless(
            can_edit_milestone(actor, moved),
            f"You may only move milestones to initiatives or key results {_NOT_YOURS}",
        )
    old_key_result_id = locked.key_result_id
    updated = apply_update(
        actor=actor,
        instance=locked,
        changes=cleaned,
        allowed=MILESTONE_FIELDS,
        expected_version=expected_version,
        action=action,
    )
    _recompute_key_results({old_key_result_id, updated.key_result_id})
    return updated


@transaction.atomic
def update_milestone(
    *,
    actor: Actor,
    milestone: Milestone,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Milestone:
    """Change a milestone's fields (``done_on=None`` marks it not done again)."""
    return _update_milestone(actor, milestone, changes, expected_version, "milestone.update")


@transaction.atomic
def complete_milestone(
    *, actor: Actor, milestone: Milestone, done_on: dt.date, expected_version: int | None = None
) -> Milestone:
    """Mark a milestone done on `done_on` (not in the future)."""
    if done_on is None:
        raise InvalidInput.field("done_on", "is required")
    return _update_milestone(
        actor, milestone, {"done_on": done_on}, expected_version, "milestone.complete"
    )


@transaction.atomic
def archive_milestone(
    *, actor: Actor, milestone: Milestone, expected_version: int | None = None
) -> Milestone:
    locked = _lock_milestone(actor, milestone)
    archived = archive(actor=actor, instance=locked, expected_version=expected_version)
    _recompute_key_results({archived.key_result_id})
    return archived


@transaction.atomic
def restore_milestone(
    *, actor: Actor, milestone: Milestone, expected_version: int | None = None
) -> Milestone:
    locked = _lock_milestone(actor, milestone)
    check_version(locked, expected_version)
    restored = restore(actor=actor, instance=locked)
    _recompute_key_results({restored.key_result_id})
    return restored


# --- dependencies --------------------------------------------------------------------------

Endpoint = Initiative | Milestone
_Node = tuple[str, int]  # ("i", initiative id) or ("m", milestone id)


def _node(item: Endpoint) -> _Node:
    return ("i", item.pk) if isinstance(item, Initiative) else ("m", item.pk)


def _check_endpoint(errors: FieldErrors, actor: Actor, name: str, item: Any) -> None:
    if not isinstance(item, Initiative | Milestone):
        errors.add(name, "must be an initiative or a milestone")
    elif item.organization_id != actor.organization_id or item.archived_at is not None:
        errors.add(name, f"{item._meta.verbose_name} not found")


def _loop_through(actor: Actor, predecessor: Endpoint, successor: Endpoint) -> list[str] | None:
    """The keys of the loop that predecessor → successor would close (starting with the
    predecessor), or None. One query loads the organization's dependencies; a depth-first
    search from the successor looks for a way back to the predecessor."""
    rows = (
        Dependency.objects.of(actor.organization_id)
        .active()
        .values_list(
            "predecessor_initiative_id",
            "predecessor_milestone_id",
            "successor_initiative_id",
            "successor_milestone_id",
            "predecessor_initiative__key",
            "predecessor_milestone__key",
            "successor_initiative__key",
            "successor_milestone__key",
        )
    )
    successors: dict[_Node, list[_Node]] = {}
    keys = {_node(predecessor): predecessor.key, _node(successor): successor.key}
    for p_ini, p_ms, s_ini, s_ms, p_ini_key, p_ms_key, s_ini_key, s_ms_key in rows:
        source: _Node = ("i", p_ini) if p_ini is not None else ("m", p_ms)
        target: _Node = ("i", s_ini) if s_ini is not None else ("m", s_ms)
        successors.setdefault(source, []).append(target)
        keys[source] = p_ini_key if p_ini is not None else p_ms_key
        keys[target] = s_ini_key if s_ini is not None else s_ms_key
    start, goal = _node(successor), _node(predecessor)
    came_from: dict[_Node, _Node | None] = {start: None}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == goal:
            path: list[_Node] = []
            step: _Node | None = node
            while step is not None:
                path.append(step)
                step = came_from[step]
            path.reverse()  # successor … predecessor along existing links
            return [keys[goal], *(keys[n] for n in path[:-1])]
        for nxt in successors.get(node, ()):
            if nxt not in came_from:
                came_from[nxt] = node
                stack.append(nxt)
    return None


def _ends(predecessor: Endpoint, successor: Endpoint) -> dict[str, Any]:
    return {
        "predecessor_initiative": predecessor if isinstance(predecessor, Initiative) else None,
        "predecessor_milestone": predecessor if isinstance(predecessor, Milestone) else None,
        "successor_initiative": successor if isinstance(successor, Initiative) else None,
        "successor_milestone": successor if isinstance(successor, Milestone) else None,
    }


@transaction.atomic
def add_dependency(
    *,
    actor: Actor,
    predecessor: Endpoint,
    successor: Endpoint,
    type: str = DependencyType.FS,  # the contract's name, though it shadows the builtin
    lag_days: int = 0,
) -> Dependency:
    """Make `successor` depend on `predecessor` (initiatives or milestones) with a type
    (FS, SS, FF, SF) and a lag in days (may be negative). Refused: an end outside the
    organization, an item depending on itself, a second link between the same two items,
    and (Conflict, naming every item) a link that would close a loop."""
    errors = FieldErrors()
    _check_endpoint(errors, actor, "predecessor", predecessor)
    _check_endpoint(errors, actor, "successor", successor)
    if not errors.errors and _node(predecessor) == _node(successor):
        errors.add("successor", "an item cannot depend on itself")
    dependency_type = _clean_type(errors, type)
    _check_lag(errors, lag_days)
    errors.raise_if_any()
    deny_unless(
        can_edit_endpoint(actor, predecessor) or can_edit_endpoint(actor, successor),
        f"You may only add dependencies to items {_NOT_YOURS}",
    )
    # Serialise graph changes per organization so two concurrent links cannot close a loop.
    list(Organization.objects.select_for_update().filter(pk=actor.organization_id))
    label = f"{predecessor.key} → {successor.key}"
    ends = _ends(predecessor, successor)
    if Dependency.objects.of(actor.organization_id).active().filter(**ends).exists():
        raise Conflict(f"The dependency {label} already exists.")
    loop = _loop_through(actor, predecessor, successor)
    if loop is not None:
        raise Conflict(
            f"{successor.key} cannot depend on {predecessor.key}: that would close the loop "
            f"{' → '.join([*loop, loop[0]])}.",
            errors={"loop": loop},
        )
    dependency = Dependency(
        organization_id=actor.organization_id,
        type=dependency_type or DependencyType.FS,
        lag_days=lag_days,
        **ends,
    )
    save_validated(dependency)
    record_event(
        actor=actor,
        action="dependency.add",
        target=dependency,
        target_label=label,
        after=snapshot(dependency),
    )
    return dependency


def _lock_dependency(actor: Actor, dependency: Dependency) -> Dependency:
    require_in_organization(actor, dependency, "Dependency")
    locked = (
        Dependency.objects.select_for_update(of=("self",))
        .select_related(
            "predecessor_initiative",
            "predecessor_milestone__initiative",
            "predecessor_milestone__key_result__objective",
            "successor_initiative",
            "successor_milestone__initiative",
            "successor_milestone__key_result__objective",
        )
        .get(pk=dependency.pk)
    )
    deny_unless(
        can_edit_dependency(actor, locked),
        f"You may only change dependencies of items {_NOT_YOURS}",
    )
    return locked


@transaction.atomic
def update_dependency(
    *,
    actor: Actor,
    dependency: Dependency,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Dependency:
    """Change a dependency's type or lag."""
    locked = _lock_dependency(actor, dependency)
    reject_unknown(changes, DEPENDENCY_FIELDS)
    check_version(locked, expected_version)
    errors = FieldErrors()
    cleaned = dict(changes)
    if "type" in changes:
        cleaned["type"] = _clean_type(errors, changes["type"])
    if "lag_days" in changes:
        _check_lag(errors, changes["lag_days"])
    errors.raise_if_any()
    return apply_update(
        actor=actor,
        instance=locked,
        changes=cleaned,
        allowed=DEPENDENCY_FIELDS,
        expected_version=expected_version,
        action="dependency.update",
    )


@transaction.atomic
def remove_dependency(*, actor: Actor, dependency: Dependency) -> None:
    """Remove a dependency (the audit event keeps what it was)."""
    locked = _lock_dependency(actor, dependency)
    record_event(
        actor=actor,
        action="dependency.remove",
        target=locked,
        target_label=f"{locked.predecessor_key} → {locked.successor_key}",
        before=snapshot(locked),
    )
    Dependency.objects.filter(pk=locked.pk).delete()
