"""The meaning of a plan file: references, uniqueness, value rules; and building the document.

`build_document` runs on decoded, normalised data (numbers as `Decimal`, dates as ISO
strings) *after* the JSON Schema pass, and also when that pass found problems, so one run
reports every issue. It therefore reads every value defensively: a value of the wrong shape
was already reported by the schema and is skipped here, never reported twice.

Pure Python: no Django.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    Curve,
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
    ObjectiveStatusMode,
    Plan,
    RollupMode,
    TeamInput,
)
from milepost.plans.document import (
    IssuePath,
    PlanDocument,
    PlanIssue,
    TaskSpec,
    TaskStatus,
    format_path,
    task_counts,
)
from milepost.plans.schema import iso_date

Raw = dict[str, Any]

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
KR_REF_PATTERN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)/([A-Za-z0-9][A-Za-z0-9_.-]*)$")
_ONE = Decimal(1)

# Kinds whose start and target must be written: for binary and milestones they default to 0, 1.
_MEASURED = (KeyResultKind.INCREASE, KeyResultKind.DECREASE, KeyResultKind.MAINTAIN)


# --- defensive readers: the right type or None ----------------------------------------------


def _items(parent: Any, name: str, path: IssuePath) -> list[tuple[IssuePath, Raw]]:
    value = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(value, list):
        return []
    return [((*path, name, i), item) for i, item in enumerate(value) if isinstance(item, dict)]


def _text(m: Raw, name: str) -> str | None:
    value = m.get(name)
    return value if isinstance(value, str) and value != "" else None


def _key(m: Raw, name: str) -> str | None:
    value = m.get(name)
    return value if isinstance(value, str) and KEY_PATTERN.match(value) else None


def _dec(m: Raw, name: str) -> Decimal | None:
    """A number: a finite Decimal as decoded, or an int as `canonical_data` writes a count."""
    value = m.get(name)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None


def _int(m: Raw, name: str) -> int | None:
    value = _dec(m, name)
    # same_quantum(1): exponent 0, the usual case, without building as_tuple().
    if value is None or not (value.same_quantum(_ONE) or int(value.as_tuple().exponent) >= 0):
        return None
    return int(value)


def _bool(m: Raw, name: str) -> bool | None:
    value = m.get(name)
    return value if isinstance(value, bool) else None


def _date(m: Raw, name: str) -> date | None:
    value = m.get(name)
    return iso_date(value) if isinstance(value, str) else None


def _enum[E: StrEnum](m: Raw, name: str, cls: type[E]) -> E | None:
    value = m.get(name)
    if isinstance(value, str) and value in cls._value2member_map_:
        return cls(value)
    return None


def _unknown(kind: str, key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{key}'{hint}"


class _Builder:
    def __init__(self) -> None:
        self.issues: list[PlanIssue] = []
        self.notes: list[PlanIssue] = []
        # milestone key → the key result that lists it first (Milepost stores one)
        self.milestone_counted_by: dict[str, str] = {}
        # namespace → key → path of the item that first used it
        self.claimed: dict[str, dict[str, IssuePath]] = {
            "team": {},
            "cycle": {},
            "objective": {},
            "kr": {},
            "item": {},  # initiatives and milestones share one namespace: dependency endpoints
        }
        self.cycles: dict[str, CycleInput] = {}
        self.initiative_keys: set[str] = set()
        self.milestone_dates: dict[str, tuple[date | None, date | None]] = {}
        self.kr_objective: dict[str, str] = {}
        self.descriptions: dict[str, str] = {}
        self.checkin_notes: dict[str, tuple[str, ...]] = {}
        self.tasks: dict[str, tuple[TaskSpec, ...]] = {}
        self.milestones: list[MilestoneInput] = []
        self.dependencies: list[DependencyInput] = []
        self.dependency_paths: dict[tuple[str, str, DependencyType], IssuePath] = {}

    def err(self, path: IssuePath, message: str) -> None:
        self.issues.append(PlanIssue(path, message))

    def note(self, path: IssuePath, message: str) -> None:
        """Something allowed that is probably not meant (a warning, never an error)."""
        self.notes.append(PlanIssue(path, message))

    def claim(self, namespace: str, key: str, path: IssuePath, key_field: str = "key") -> bool:
        """Record that the item at `path` owns `key`; report a duplicate and return False."""
        first = self.claimed[namespace].get(key)
        if first is not None:
            if first != path:
                self.err((*path, key_field), f"duplicate key '{key}' (also {format_path(first)})")
            return False
        self.claimed[namespace][key] = path
        return True

    def owns(self, namespace: str, key: str | None, path: IssuePath) -> bool:
        return key is not None and self.claimed[namespace].get(key) == path

    # --- organization, settings, teams, cycles ------------------------------------------

    def organization(self, data: Raw) -> tuple[str, str]:
        org = data.get("organization")
        if not isinstance(org, dict):
            return "", "UTC"
        timezone = _text(org, "timezone") or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.err(("organization", "timezone"), f"unknown time zone '{timezone}'")
        return _text(org, "name") or "", timezone

    def settings(self, data: Raw) -> EngineSettings:
        raw = data.get("settings")
        if not isinstance(raw, dict):
            return EngineSettings()
        values: dict[str, Any] = {}
        for name in ("on_track_gap", "at_risk_gap", "over_achievement_cap", "output_done_share"):
            if (number := _dec(raw, name)) is not None:
                values[name] = number
        counts = ("stale_after_days", "max_key_results_per_objective", "max_objectives_per_team")
        for name in counts:
            if (count := _int(raw, name)) is not None:
                values[name] = count
        if (flag := _bool(raw, "allow_over_achievement")) is not None:
            values["allow_over_achievement"] = flag
        if (rollup := _enum(raw, "rollup", RollupMode)) is not None:
            values["rollup"] = rollup
        if (mode := _enum(raw, "objective_status", ObjectiveStatusMode)) is not None:
            values["objective_status"] = mode
        settings = EngineSettings(**values)
        if settings.at_risk_gap < settings.on_track_gap:
            self.err(
                ("settings", "at_risk_gap"),
                f"must be at least on_track_gap ({settings.on_track_gap})",
            )
        return settings

    def teams(self, data: Raw) -> list[TeamInput]:
        teams: list[TeamInput] = []
        paths: dict[str, IssuePath] = {}
        for path, raw in _items(data, "teams", ()):
            key = _key(raw, "key")
            if key is None or not self.claim("team", key, path):
                continue
            capacity = _dec(raw, "capacity_days_per_week")
            teams.append(
                TeamInput(
                    key=key,
                    name=_text(raw, "name") or key,
                    parent_key=_key(raw, "parent"),
                    capacity_days_per_week=Decimal(0) if capacity is None else capacity,
                )
            )
            paths[key] = path
        parent_of: dict[str, str] = {}
        for team in teams:
            parent = team.parent_key
            if parent is None:
                continue
            if parent == team.key:
                self.err((*paths[team.key], "parent"), "a team cannot be its own parent")
            elif parent not in paths:
                self.err((*paths[team.key], "parent"), _unknown("team", parent, paths))
            else:
                parent_of[team.key] = parent
        # Walk up from each team; a walk that meets itself is a loop (each reported once).
        settled: set[str] = set()
        for team in teams:
            chain: list[str] = []
            node: str | None = team.key
            while node is not None and node not in settled and node not in chain:
                chain.append(node)
                node = parent_of.get(node)
            if node is not None and node in chain:
                loop = chain[chain.index(node) :]
                self.err(
                    (*paths[loop[0]], "parent"),
                    "teams form a loop through their parents: " + " → ".join([*loop, loop[0]]),
                )
            settled.update(chain)
        return teams

    def cycles_(self, data: Raw) -> list[CycleInput]:
        cycles: list[CycleInput] = []
        for path, raw in _items(data, "cycles", ()):
            key = _key(raw, "key")
            if key is None or not self.claim("cycle", key, path):
                continue
            start, end = _date(raw, "start"), _date(raw, "end")
            if start is None or end is None:
                continue
            if end < start:
                self.err((*path, "end"), f"must be on or after start ({start.isoformat()})")
                continue
            cycle = CycleInput(
                key=key,
                name=_text(raw, "name") or key,
                start=start,
                end=end,
                state=_enum(raw, "state", CycleState) or CycleState.ACTIVE,
            )
            cycles.append(cycle)
            self.cycles[key] = cycle
        return cycles

    # --- schedule items are indexed first: key results and dependencies point at them --------

    def index_items(self, data: Raw) -> None:
        for path, raw in _items(data, "initiatives", ()):
            key = _key(raw, "key")
            if key is not None and self.claim("item", key, path):
                self.initiative_keys.add(key)
        nested = [
            m
            for path, raw in _items(data, "initiatives", ())
            for m in _items(raw, "milestones", path)
        ]
        for path, raw in [*nested, *_items(data, "milestones", ())]:
            key = _key(raw, "key")
            if key is not None and self.claim("item", key, path):
                self.milestone_dates[key] = (_date(raw, "date"), _date(raw, "done_on"))

    # --- objectives and key results -------------------------------------------------------

    def objectives(self, data: Raw) -> tuple[list[ObjectiveInput], list[KeyResultInput]]:
        objectives: list[ObjectiveInput] = []
        key_results: list[KeyResultInput] = []
        raw_objectives = _items(data, "objectives", ())
        # Claim every objective and key-result key first: alignment may point forward.
        for path, raw in raw_objectives:
            key = _key(raw, "key")
            if key is None or not self.claim("objective", key, path):
                continue
            for kr_path, kr in _items(raw, "key_results", path):
                local = _key(kr, "key")
                if local is not None and self.claim("kr", f"{key}/{local}", kr_path):
                    self.kr_objective[f"{key}/{local}"] = key
        edges: dict[str, list[tuple[str, IssuePath]]] = {}
        for path, raw in raw_objectives:
            key = _key(raw, "key")
            if key is None or not self.owns("objective", key, path):
                continue
            cycle_key = _key(raw, "cycle")
            if cycle_key is not None and cycle_key not in self.claimed["cycle"]:
                self.err((*path, "cycle"), _unknown("cycle", cycle_key, self.claimed["cycle"]))
            team_key = _key(raw, "team")
            if team_key is not None and team_key not in self.claimed["team"]:
                self.err((*path, "team"), _unknown("team", team_key, self.claimed["team"]))
            if description := _text(raw, "description"):
                self.descriptions[f"objective:{key}"] = description
            weight = _dec(raw, "weight")
            objectives.append(
                ObjectiveInput(
                    key=key,
                    title=_text(raw, "title") or "",
                    cycle_key=cycle_key or "",
                    team_key=team_key,
                    owner=_text(raw, "owner"),
                    weight=Decimal(1) if weight is None else weight,
                    state=_enum(raw, "state", ObjectiveState) or ObjectiveState.ACTIVE,
                    aligns_to=self.alignment(path, raw, key, edges),
                )
            )
            cycle = self.cycles.get(cycle_key or "")
            for kr_path, kr in _items(raw, "key_results", path):
                result = self.key_result(kr_path, kr, key, cycle)
                if result is not None:
                    key_results.append(result)
        self.alignment_loops([o.key for o in objectives], edges)
        return objectives, key_results

    def alignment(
        self, path: IssuePath, raw: Raw, key: str, edges: dict[str, list[tuple[str, IssuePath]]]
    ) -> tuple[AlignmentLink, ...]:
        links: list[AlignmentLink] = []
        for link_path, link in _items(raw, "aligns_to", path):
            has_objective = link.get("objective") is not None
            has_kr = link.get("key_result") is not None
            if has_objective == has_kr:
                self.err(link_path, "give exactly one of 'objective' or 'key_result'")
                continue
            weight = _dec(link, "weight")
            weight = Decimal(1) if weight is None else weight
            if has_objective:
                parent = _key(link, "objective")
                if parent is None:
                    continue
                if parent not in self.claimed["objective"]:
                    self.err(
                        (*link_path, "objective"),
                        _unknown("objective", parent, self.claimed["objective"]),
                    )
                    continue
                if parent == key:
                    self.err((*link_path, "objective"), "an objective cannot align to itself")
                    continue
                new = AlignmentLink(parent_objective=parent, weight=weight)
                target = parent
            else:
                ref = link.get("key_result")
                if not isinstance(ref, str) or not KR_REF_PATTERN.match(ref):
                    continue
                if ref not in self.kr_objective:
                    self.err(
                        (*link_path, "key_result"), _unknown("key result", ref, self.kr_objective)
                    )
                    continue
                target = self.kr_objective[ref]
                if target == key:
                    self.err(
                        (*link_path, "key_result"),
                        "an objective cannot align to one of its own key results",
                    )
                    continue
                new = AlignmentLink(parent_key_result=ref, weight=weight)
            if any(
                (old.parent_objective, old.parent_key_result)
                == (new.parent_objective, new.parent_key_result)
                for old in links
            ):
                self.err(link_path, "duplicate alignment link")
                continue
            links.append(new)
            edges.setdefault(key, []).append((target, link_path))
        return tuple(links)

    def alignment_loops(
        self, keys: list[str], edges: dict[str, list[tuple[str, IssuePath]]]
    ) -> None:
        """Report every loop in the alignment graph at the link that closes it."""
        state: dict[str, int] = {}  # 1 on the current path, 2 finished
        reported: set[frozenset[str]] = set()
        for root in keys:
            if root in state:
                continue
            state[root] = 1
            on_path = [root]
            stack = [iter(edges.get(root, []))]
            while stack:
                step = next(stack[-1], None)
                if step is None:
                    state[on_path.pop()] = 2
                    stack.pop()
                    continue
                child, link_path = step
                seen = state.get(child)
                if seen is None:
                    state[child] = 1
                    on_path.append(child)
                    stack.append(iter(edges.get(child, [])))
                elif seen == 1:
                    loop = on_path[on_path.index(child) :]
                    if frozenset(loop) not in reported:
                        reported.add(frozenset(loop))
                        self.err(link_path, "alignment loop: " + " → ".join([*loop, child]))

    def key_result(
        self, path: IssuePath, raw: Raw, objective_key: str, cycle: CycleInput | None
    ) -> KeyResultInput | None:
        local = _key(raw, "key")
        full = f"{objective_key}/{local}"
        kind = _enum(raw, "kind", KeyResultKind)
        if local is None or not self.owns("kr", full, path) or kind is None:
            return None
        start, target = _dec(raw, "start"), _dec(raw, "target")
        if kind in _MEASURED:
            for name in ("start", "target"):
                if raw.get(name) is None:
                    self.err((*path, name), f"is required for a {kind} key result")
        else:
            start = Decimal(0) if start is None and raw.get("start") is None else start
            target = Decimal(1) if target is None and raw.get("target") is None else target
        if start is not None and target is not None:
            if kind is not KeyResultKind.MAINTAIN and target == start:
                self.err((*path, "target"), "must differ from start")
            elif kind is KeyResultKind.INCREASE and target < start:
                self.err(
                    (*path, "target"),
                    f"must be above start ({start}) for an increase key result"
                    " (use kind: decrease for a value that should go down)",
                )
            elif kind is KeyResultKind.DECREASE and target > start:
                self.err(
                    (*path, "target"),
                    f"must be below start ({start}) for a decrease key result"
                    " (use kind: increase for a value that should go up)",
                )
        direction = _enum(raw, "direction", MaintainDirection)
        if direction is not None and kind is not KeyResultKind.MAINTAIN:
            self.err((*path, "direction"), "only applies to a maintain key result")
        curve = _enum(raw, "curve", Curve) or Curve.LINEAR
        window_start = _date(raw, "window_start") or (cycle.start if cycle else None)
        due = _date(raw, "due") or (cycle.end if cycle else None)
        if window_start is not None and due is not None and due < window_start:
            what = "window_start" if raw.get("window_start") is not None else "the cycle start"
            self.err((*path, "due"), f"must be on or after {what} ({window_start.isoformat()})")
        if description := _text(raw, "description"):
            self.descriptions[f"kr:{full}"] = description
        checkins = self.checkins(path, raw, full, kind, start, target)
        milestones = self.kr_milestones(path, raw, full, kind, curve)
        weight = _dec(raw, "weight")
        return KeyResultInput(
            key=full,
            objective_key=objective_key,
            title=_text(raw, "title") or "",
            kind=kind,
            start=Decimal(0) if start is None else start,
            target=Decimal(1) if target is None else target,
            window_start=window_start or date.min,
            due=due or date.min,
            weight=Decimal(1) if weight is None else weight,
            curve=curve,
            maintain_direction=direction or MaintainDirection.AT_LEAST,
            checkins=checkins,
            milestones=milestones,
            owner=_text(raw, "owner"),
            unit=_text(raw, "unit") or "",
        )

    def checkins(
        self,
        path: IssuePath,
        raw: Raw,
        kr_key: str,
        kind: KeyResultKind,
        start: Decimal | None,
        target: Decimal | None,
    ) -> tuple[CheckInPoint, ...]:
        items = raw.get("checkins")
        if not isinstance(items, list):
            return ()
        binary = kind is KeyResultKind.BINARY and start is not None and target is not None
        # (date, place in the file, point, note): a million check-ins in a large plan, so no
        # path is built for one unless it has an error, and the sort compares plain tuples.
        rows: list[tuple[date, int, CheckInPoint, str]] = []
        for i, c in enumerate(items):
            if not isinstance(c, dict):
                continue
            on, value = _date(c, "date"), _dec(c, "value")
            if on is None or value is None:
                continue
            if binary and value not in (start, target):
                self.err(
                    (*path, "checkins", i, "value"),
                    f"must be {start} (not done) or {target} (done) for a binary key result",
                )
            point = CheckInPoint(on, value, _int(c, "confidence"))
            rows.append((on, i, point, _text(c, "note") or ""))
        # Oldest first, as the engine expects; check-ins on one day keep their file order.
        rows.sort()
        if any(row[3] for row in rows):
            self.checkin_notes[kr_key] = tuple(row[3] for row in rows)
        return tuple(row[2] for row in rows)

    def kr_milestones(
        self, path: IssuePath, raw: Raw, kr_key: str, kind: KeyResultKind, curve: Curve
    ) -> tuple[MilestoneRef, ...]:
        refs: list[MilestoneRef] = []
        for m_path, m in _items(raw, "milestones", path):
            key = _key(m, "milestone")
            if key is None:
                continue
            if key not in self.milestone_dates:
                what = "an initiative, not a milestone" if key in self.initiative_keys else None
                self.err(
                    (*m_path, "milestone"),
                    f"'{key}' is {what}"
                    if what
                    else _unknown("milestone", key, self.milestone_dates),
                )
                continue
            if any(r.key == key for r in refs):
                self.err((*m_path, "milestone"), f"milestone '{key}' is listed twice")
                continue
            first = self.milestone_counted_by.setdefault(key, kr_key)
            if first != kr_key:
                self.note(
                    (*m_path, "milestone"),
                    f"milestone '{key}' is also listed by key result {first}: in Milepost a "
                    f"milestone counts toward one key result, so importing keeps it on {first} "
                    "only",
                )
            on, done_on = self.milestone_dates[key]
            weight = _dec(m, "weight")
            refs.append(
                MilestoneRef(
                    key=key,
                    on=on or date.min,
                    weight=Decimal(1) if weight is None else weight,
                    done_on=done_on,
                )
            )
        listed = isinstance(raw.get("milestones"), list) and bool(raw["milestones"])
        # Milepost keeps such key results (one created before its milestones, or whose
        # milestones count toward another key result), so the format accepts them too: what
        # an export writes always passes `plan check`. The engine says what it does instead.
        if kind is KeyResultKind.MILESTONES and not listed:
            self.note(
                (*path, "milestones"),
                "a milestones key result with no milestone has progress 0 until milestones "
                "are listed",
            )
        elif curve is Curve.STEPPED and not listed:
            self.note(
                (*path, "curve"),
                "a stepped curve with no milestone is linear until milestones are listed",
            )
        elif listed and kind is not KeyResultKind.MILESTONES and curve is not Curve.STEPPED:
            self.err(
                (*path, "milestones"),
                "only used by a milestones key result or a stepped curve",
            )
        return tuple(refs)

    # --- initiatives, milestones, dependencies ----------------------------------------------

    def initiatives(self, data: Raw) -> list[InitiativeInput]:
        initiatives: list[InitiativeInput] = []
        for path, raw in _items(data, "initiatives", ()):
            key = _key(raw, "key")
            if key is None or not self.owns("item", key, path):
                continue
            team_key = _key(raw, "team")
            if team_key is not None and team_key not in self.claimed["team"]:
                self.err((*path, "team"), _unknown("team", team_key, self.claimed["team"]))
            start, end = _date(raw, "start"), _date(raw, "end")
            if start is not None and end is not None and end < start:
                self.err((*path, "end"), f"must be on or after start ({start.isoformat()})")
            if description := _text(raw, "description"):
                self.descriptions[f"initiative:{key}"] = description
            tasks_total, tasks_done = self.initiative_tasks(path, raw, key)
            effort, cost, logged = (
                _dec(raw, "effort_days"),
                _dec(raw, "actual_cost"),
                _dec(raw, "logged_hours"),
            )
            initiatives.append(
                InitiativeInput(
                    key=key,
                    title=_text(raw, "title") or "",
                    team_key=team_key,
                    status=_enum(raw, "status", InitiativeStatus) or InitiativeStatus.PLANNED,
                    start=start,
                    end=end,
                    effort_days=Decimal(0) if effort is None else effort,
                    budget=_dec(raw, "budget"),
                    actual_cost=Decimal(0) if cost is None else cost,
                    planned_hours=_dec(raw, "planned_hours"),
                    logged_hours=Decimal(0) if logged is None else logged,
                    tasks_total=tasks_total,
                    tasks_done=tasks_done,
                    key_results=self.kr_links(path, raw),
                    owner=_text(raw, "owner"),
                )
            )
            self.depends_on(path, raw, key)
            for m_path, m in _items(raw, "milestones", path):
                self.milestone(m_path, m, key)
        return initiatives

    def kr_links(self, path: IssuePath, raw: Raw) -> tuple[InitiativeKeyResultLink, ...]:
        links: list[InitiativeKeyResultLink] = []
        for l_path, link in _items(raw, "key_results", path):
            ref = link.get("key_result")
            if not isinstance(ref, str) or not KR_REF_PATTERN.match(ref):
                continue
            if ref not in self.kr_objective:
                self.err((*l_path, "key_result"), _unknown("key result", ref, self.kr_objective))
            elif any(old.key_result == ref for old in links):
                self.err((*l_path, "key_result"), f"key result '{ref}' is linked twice")
            else:
                weight = _dec(link, "weight")
                links.append(
                    InitiativeKeyResultLink(
                        key_result=ref, weight=Decimal(1) if weight is None else weight
                    )
                )
        return tuple(links)

    def initiative_tasks(self, path: IssuePath, raw: Raw, key: str) -> tuple[int, int]:
        counts_given = [n for n in ("tasks_total", "tasks_done") if raw.get(n) is not None]
        if isinstance(raw.get("tasks"), list):
            for name in counts_given:
                self.err((*path, name), "give either a tasks list or tasks_total/tasks_done")
            tasks: list[TaskSpec] = []
            # A million tasks in a large plan: a task's place is its index until an error
            # needs its path.
            seen: dict[str, int] = {}
            for i, t in enumerate(raw["tasks"]):
                task_key = _key(t, "key") if isinstance(t, dict) else None
                if task_key is None:
                    continue
                if task_key in seen:
                    first = (*path, "tasks", seen[task_key])
                    self.err(
                        (*path, "tasks", i, "key"),
                        f"duplicate key '{task_key}' (also {format_path(first)})",
                    )
                    continue
                seen[task_key] = i
                tasks.append(
                    TaskSpec(
                        task_key,
                        _text(t, "title") or "",
                        _enum(t, "status", TaskStatus) or TaskStatus.TODO,
                        _dec(t, "estimate_hours"),
                        _text(t, "assignee"),
                        _date(t, "due"),
                    )
                )
            self.tasks[key] = tuple(tasks)
            return task_counts(self.tasks[key])
        total = _int(raw, "tasks_total") or 0
        done = _int(raw, "tasks_done") or 0
        if done > total:
            self.err((*path, "tasks_done"), f"must be at most tasks_total ({total})")
        return total, done

    def milestone(self, path: IssuePath, raw: Raw, initiative_key: str | None) -> None:
        key = _key(raw, "key")
        if key is None or not self.owns("item", key, path):
            return
        if initiative_key is None and (ref := _key(raw, "initiative")) is not None:
            if ref in self.initiative_keys:
                initiative_key = ref
            elif ref in self.milestone_dates:
                self.err((*path, "initiative"), f"'{ref}' is a milestone, not an initiative")
            else:
                self.err((*path, "initiative"), _unknown("initiative", ref, self.initiative_keys))
        on, done_on = self.milestone_dates[key]
        self.milestones.append(
            MilestoneInput(
                key=key,
                name=_text(raw, "name") or key,
                on=on or date.min,
                initiative_key=initiative_key,
                done_on=done_on,
            )
        )
        self.depends_on(path, raw, key)

    def depends_on(self, path: IssuePath, raw: Raw, successor: str) -> None:
        for d_path, d in _items(raw, "depends_on", path):
            has_initiative = d.get("initiative") is not None
            if has_initiative == (d.get("milestone") is not None):
                self.err(d_path, "give exactly one of 'initiative' or 'milestone'")
                continue
            field = "initiative" if has_initiative else "milestone"
            predecessor = _key(d, field)
            if predecessor is None:
                continue
            right, other = (
                (self.initiative_keys, self.milestone_dates)
                if has_initiative
                else (self.milestone_dates, self.initiative_keys)
            )
            if predecessor not in right:
                if predecessor in other:
                    what, not_what = (
                        ("a milestone", "an initiative")
                        if has_initiative
                        else ("an initiative", "a milestone")
                    )
                    self.err((*d_path, field), f"'{predecessor}' is {what}, not {not_what}")
                else:
                    self.err((*d_path, field), _unknown(field, predecessor, right))
            elif predecessor == successor:
                self.err((*d_path, field), "an item cannot depend on itself")
            else:
                self.add_dependency(d_path, d, predecessor, successor)

    def dependencies_(self, data: Raw) -> None:
        items = self.claimed["item"]
        for path, raw in _items(data, "dependencies", ()):
            ends = {name: _key(raw, name) for name in ("predecessor", "successor")}
            ok = True
            for name, key in ends.items():
                if key is not None and key not in items:
                    self.err((*path, name), _unknown("initiative or milestone", key, items))
                    ok = False
            predecessor, successor = ends["predecessor"], ends["successor"]
            if not ok or predecessor is None or successor is None:
                continue
            if predecessor == successor:
                self.err((*path, "successor"), "an item cannot depend on itself")
                continue
            self.add_dependency(path, raw, predecessor, successor)

    def add_dependency(self, path: IssuePath, raw: Raw, predecessor: str, successor: str) -> None:
        kind = _enum(raw, "type", DependencyType) or DependencyType.FS
        first = self.dependency_paths.get((predecessor, successor, kind))
        if first is not None:
            self.err(path, f"duplicate dependency (same as {format_path(first)})")
            return
        self.dependency_paths[(predecessor, successor, kind)] = path
        self.dependencies.append(
            DependencyInput(
                predecessor=predecessor,
                successor=successor,
                type=kind,
                lag_days=_int(raw, "lag_days") or 0,
            )
        )


def build_document(data: Raw) -> tuple[PlanDocument | None, list[PlanIssue]]:
    """Check what a plan file means and build its document.

    Returns the document (None when any issue was found) and the issues, in the order the
    checks ran; `milepost.plans.planfile` sorts them into file order.
    """
    b = _Builder()
    organization_name, timezone = b.organization(data)
    settings = b.settings(data)
    teams = b.teams(data)
    cycles = b.cycles_(data)
    b.index_items(data)
    objectives, key_results = b.objectives(data)
    initiatives = b.initiatives(data)
    for path, raw in _items(data, "milestones", ()):
        b.milestone(path, raw, None)
    b.dependencies_(data)
    if b.issues:
        return None, b.issues
    plan = Plan(
        organization_name=organization_name,
        timezone=timezone,
        settings=settings,
        teams=tuple(teams),
        cycles=tuple(cycles),
        objectives=tuple(objectives),
        key_results=tuple(key_results),
        initiatives=tuple(initiatives),
        milestones=tuple(b.milestones),
        dependencies=tuple(b.dependencies),
    )
    document = PlanDocument(
        plan=plan,
        descriptions=b.descriptions,
        checkin_notes=b.checkin_notes,
        tasks=b.tasks,
        notes=tuple(b.notes),
    )
    return document, []
