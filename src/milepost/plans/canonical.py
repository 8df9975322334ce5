"""The canonical form of a plan: one text for one plan, in YAML or JSON.

`canonical_data` turns a `PlanDocument` (or a bare engine `Plan`) into plain data in the plan
file format; `dump_yaml`/`dump_json` write it. The text is deterministic:

- mapping keys sorted, two-space indentation, a final newline;
- dates as ISO ``YYYY-MM-DD``; numbers written as the `Decimal` holds them (``1.50`` stays
  ``1.50``, never a float approximation);
- a field equal to its default is left out (``weight: 1``, ``status: planned``, a key result's
  ``due`` on its cycle's end, ...), so the text is as short as the format allows;
- list items keep the plan's order. Milestones and dependencies are written in the top-level
  ``milestones`` and ``dependencies`` lists (never nested), so their order survives too.

Promise: ``parse_plan_text(canonical_text(doc)) == doc`` for every valid document whose key
results are grouped by objective in objective order (as parsing produces), and
``canonical_text`` of that result is byte-identical to the first. Plan export (issue 8) relies
on it; an exporter from the database should list rows ordered by key.

Pure Python: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from milepost.engine.model import (
    CycleInput,
    EngineSettings,
    InitiativeInput,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    ObjectiveInput,
    ObjectiveState,
    Plan,
)
from milepost.plans.document import PlanDocument, TaskSpec, TaskStatus
from milepost.plans.textio import dump_json, dump_yaml

__all__ = [
    "FORMAT_VERSION",
    "canonical_data",
    "canonical_text",
    "dump_json",
    "dump_yaml",
]

FORMAT_VERSION = 1

_MEASURED = (KeyResultKind.INCREASE, KeyResultKind.DECREASE, KeyResultKind.MAINTAIN)


def _same(value: object, default: object) -> bool:
    """Equal *as written*: Decimal("1.0") is not the default Decimal("1")."""
    if isinstance(value, Decimal) or isinstance(default, Decimal):
        return (
            isinstance(value, Decimal)
            and isinstance(default, Decimal)
            and (str(value) == str(default))
        )
    return value == default


def _plain(value: object) -> Any:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return _iso(value)
    return value


# A plan names the same few hundred days a million times (every weekly check-in): each is
# written once and its text shared. Bounded.
_ISO_TEXTS: dict[date, str] = {}
_ISO_TEXTS_MAX = 65_536


def _iso(day: date) -> str:
    try:
        return _ISO_TEXTS[day]
    except KeyError:
        pass
    if len(_ISO_TEXTS) >= _ISO_TEXTS_MAX:
        _ISO_TEXTS.clear()
    text = _ISO_TEXTS[day] = day.isoformat()
    return text


def _put(out: dict[str, Any], name: str, value: object, default: object = None) -> None:
    """Write `value` unless it is absent or equal to the field's default."""
    if value is None or value == "" or _same(value, default):
        return
    out[name] = _plain(value)


def _settings(settings: EngineSettings) -> dict[str, Any]:
    default = EngineSettings()
    out: dict[str, Any] = {}
    for f in fields(EngineSettings):
        _put(out, f.name, getattr(settings, f.name), getattr(default, f.name))
    return out


def _cycle(cycle: CycleInput) -> dict[str, Any]:
    out: dict[str, Any] = {"key": cycle.key, "start": _plain(cycle.start), "end": _plain(cycle.end)}
    _put(out, "name", cycle.name, cycle.key)
    _put(out, "state", cycle.state, "active")
    return out


def _key_result(kr: KeyResultInput, cycle: CycleInput | None, doc: PlanDocument) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": kr.key.split("/", 1)[1] if "/" in kr.key else kr.key,
        "title": kr.title,
        "kind": _plain(kr.kind),
    }
    if kr.kind in _MEASURED:
        out["start"], out["target"] = kr.start, kr.target
    else:
        _put(out, "start", kr.start, Decimal(0))
        _put(out, "target", kr.target, Decimal(1))
    if kr.kind is KeyResultKind.MAINTAIN:
        _put(out, "direction", kr.maintain_direction, MaintainDirection.AT_LEAST)
    _put(out, "unit", kr.unit)
    _put(out, "owner", kr.owner)
    _put(out, "weight", kr.weight, Decimal(1))
    _put(out, "curve", kr.curve, "linear")
    _put(out, "window_start", kr.window_start, cycle.start if cycle else None)
    _put(out, "due", kr.due, cycle.end if cycle else None)
    _put(out, "description", doc.descriptions.get(f"kr:{kr.key}"))
    notes = doc.checkin_notes.get(kr.key, ())
    # A million check-ins in a large plan: `_put`'s rules written out for their few fields.
    checkins: list[dict[str, Any]] = []
    for i, point in enumerate(kr.checkins):
        row: dict[str, Any] = {"date": _iso(point.on), "value": point.value}
        if point.confidence is not None:
            row["confidence"] = point.confidence
        if i < len(notes) and notes[i]:
            row["note"] = notes[i]
        checkins.append(row)
    if checkins:
        out["checkins"] = checkins
    links: list[dict[str, Any]] = []
    for ref in kr.milestones:
        link: dict[str, Any] = {"milestone": ref.key}
        _put(link, "weight", ref.weight, Decimal(1))
        links.append(link)
    if links:
        out["milestones"] = links
    return out


def _objective(
    objective: ObjectiveInput,
    key_results: Iterable[KeyResultInput],
    cycle: CycleInput | None,
    doc: PlanDocument,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": objective.key,
        "title": objective.title,
        "cycle": objective.cycle_key,
    }
    _put(out, "team", objective.team_key)
    _put(out, "owner", objective.owner)
    _put(out, "weight", objective.weight, Decimal(1))
    _put(out, "state", objective.state, ObjectiveState.ACTIVE)
    _put(out, "description", doc.descriptions.get(f"objective:{objective.key}"))
    links: list[dict[str, Any]] = []
    for link in objective.aligns_to:
        row: dict[str, Any] = {}
        _put(row, "objective", link.parent_objective)
        _put(row, "key_result", link.parent_key_result)
        _put(row, "weight", link.weight, Decimal(1))
        links.append(row)
    if links:
        out["aligns_to"] = links
    krs = [_key_result(kr, cycle, doc) for kr in key_results]
    if krs:
        out["key_results"] = krs
    return out


def _task(task: TaskSpec) -> dict[str, Any]:
    # A million tasks in a large plan: `_put`'s rules written out for their few fields.
    out: dict[str, Any] = {"key": task.key, "title": task.title}
    if task.status is not TaskStatus.TODO:
        out["status"] = task.status.value
    if task.estimate_hours is not None:
        out["estimate_hours"] = task.estimate_hours
    if task.assignee:
        out["assignee"] = task.assignee
    if task.due is not None:
        out["due"] = _iso(task.due)
    return out


def _initiative(initiative: InitiativeInput, doc: PlanDocument) -> dict[str, Any]:
    out: dict[str, Any] = {"key": initiative.key, "title": initiative.title}
    _put(out, "team", initiative.team_key)
    _put(out, "owner", initiative.owner)
    _put(out, "status", initiative.status, InitiativeStatus.PLANNED)
    _put(out, "start", initiative.start)
    _put(out, "end", initiative.end)
    _put(out, "effort_days", initiative.effort_days, Decimal(0))
    _put(out, "budget", initiative.budget)
    _put(out, "actual_cost", initiative.actual_cost, Decimal(0))
    _put(out, "planned_hours", initiative.planned_hours)
    _put(out, "logged_hours", initiative.logged_hours, Decimal(0))
    _put(out, "description", doc.descriptions.get(f"initiative:{initiative.key}"))
    links: list[dict[str, Any]] = []
    for link in initiative.key_results:
        row: dict[str, Any] = {"key_result": link.key_result}
        _put(row, "weight", link.weight, Decimal(1))
        links.append(row)
    if links:
        out["key_results"] = links
    if initiative.key in doc.tasks:
        out["tasks"] = [_task(t) for t in doc.tasks[initiative.key]]
    else:
        _put(out, "tasks_total", initiative.tasks_total, 0)
        _put(out, "tasks_done", initiative.tasks_done, 0)
    return out


def canonical_data(source: PlanDocument | Plan) -> dict[str, Any]:
    """The plan as plain data in the plan-file format (Decimals kept, dates as ISO strings)."""
    doc = source if isinstance(source, PlanDocument) else PlanDocument(plan=source)
    plan = doc.plan
    out: dict[str, Any] = {"version": FORMAT_VERSION}
    organization: dict[str, Any] = {}
    _put(organization, "name", plan.organization_name)
    _put(organization, "timezone", plan.timezone, "UTC")
    if organization:
        out["organization"] = organization
    if settings := _settings(plan.settings):
        out["settings"] = settings
    teams: list[dict[str, Any]] = []
    for team in plan.teams:
        row: dict[str, Any] = {"key": team.key}
        _put(row, "name", team.name, team.key)
        _put(row, "parent", team.parent_key)
        _put(row, "capacity_days_per_week", team.capacity_days_per_week, Decimal(0))
        teams.append(row)
    cycles = {c.key: c for c in plan.cycles}
    by_objective: dict[str, list[KeyResultInput]] = {}
    for kr in plan.key_results:
        by_objective.setdefault(kr.objective_key, []).append(kr)
    milestones: list[dict[str, Any]] = []
    for milestone in plan.milestones:
        row = {"key": milestone.key, "date": _plain(milestone.on)}
        _put(row, "name", milestone.name, milestone.key)
        _put(row, "initiative", milestone.initiative_key)
        _put(row, "done_on", milestone.done_on)
        milestones.append(row)
    dependencies: list[dict[str, Any]] = []
    for dependency in plan.dependencies:
        row = {"predecessor": dependency.predecessor, "successor": dependency.successor}
        _put(row, "type", dependency.type, "FS")
        _put(row, "lag_days", dependency.lag_days, 0)
        dependencies.append(row)
    sections: dict[str, list[dict[str, Any]]] = {
        "teams": teams,
        "cycles": [_cycle(c) for c in plan.cycles],
        "objectives": [
            _objective(o, by_objective.get(o.key, ()), cycles.get(o.cycle_key), doc)
            for o in plan.objectives
        ],
        "initiatives": [_initiative(i, doc) for i in plan.initiatives],
        "milestones": milestones,
        "dependencies": dependencies,
    }
    out.update({name: rows for name, rows in sections.items() if rows})
    return out


def canonical_text(source: PlanDocument | Plan, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """The canonical plan file text of a document or plan (see the module docstring)."""
    data = canonical_data(source)
    return dump_json(data) if fmt == "json" else dump_yaml(data)
