"""The OKR part of an organization's plan, read for the engine in two queries (three when
objectives of other cycles align below the cycle's), whatever the size of the organization.

1. One row of the organization carrying, as JSON arrays (`milepost.dbjson.json_rows`): the
   plan's objectives, their alignment links, the cycles, the teams, the alignment links that
   cross into the cycle from other cycles (to find the objectives aligned below it), and any
   further side tables a caller adds (the roadmap loader adds its initiatives, links,
   milestones and dependencies to the same row).
2. Only when other cycles' objectives align below the cycle's: their objectives and links.
3. The plan's key results, one row each, with their check-ins and the milestones counting
   toward them as JSON arrays in the same row.

No model instances are built (a large cycle has hundreds of thousands of check-ins): rows are
tuples, check-ins `CheckInRow`. What the engine sees is what `milepost.okrs.engine_io`
documents: archived rows are left out, and so is everything under an archived objective or
cycle; a key result's history is `engine_io.checkin_history` of its check-ins.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Model, OuterRef, Q, Subquery

from milepost.dbjson import date_of, datetime_of, decimal_of, decode_rows, json_rows
from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    CycleInput,
    CycleState,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    MilestoneRef,
    ObjectiveInput,
    ObjectiveState,
    Plan,
    TeamInput,
)
from milepost.engine.model import Curve as CurveKind
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.okrs.querysets import live_parent_q
from milepost.organizations.models import Organization, Team
from milepost.roadmap.models import Milestone


def places(model: type[Model], field: str) -> int:
    """The decimal places of a model's DecimalField (how Django would read the column)."""
    return int(model._meta.get_field(field).decimal_places)  # type: ignore[union-attr]


class CheckInRow(NamedTuple):
    """A check-in as the engine's history needs it (`engine_io.checkin_history`)."""

    pk: int
    corrects_id: int | None
    effective_date: dt.date
    recorded_at: dt.datetime
    value: Decimal
    confidence: int | None
    archived_at: dt.datetime | None = None


@dataclass(frozen=True)
class LoadedOkrs:
    """The OKR plan and what callers need to map its keys back to rows."""

    plan: Plan
    objective_ids: dict[str, int]  # objective key -> id
    objective_cycle_ids: dict[str, int]  # objective key -> its cycle's id
    key_result_ids: dict[str, int]  # "<objective key>/<kr key>" -> id
    histories: dict[str, list[CheckInRow]]  # kr path -> history, oldest first
    objective_filter: Q  # the plan's objectives, as a filter on Objective
    side: dict[str, str | None]  # the callers' extra side tables (JSON text) by name


def _live_edges_base(organization_id: int) -> Any:
    return Alignment.objects.filter(
        organization_id=organization_id,
        archived_at__isnull=True,
        child__archived_at__isnull=True,
        child__cycle__archived_at__isnull=True,
    ).filter(live_parent_q())


def _live_objectives(organization_id: int) -> Any:
    return Objective.objects.filter(
        organization_id=organization_id, archived_at__isnull=True, cycle__archived_at__isnull=True
    )


_OBJECTIVE_COLUMNS = (
    "pk",
    "key",
    "title",
    "cycle_id",
    "owner_team__key",
    "owner_user__email",
    "weight",
    "state",
)
_LINK_COLUMNS = (
    "pk",
    "child_id",
    "parent_objective__key",
    "parent_key_result__objective__key",
    "parent_key_result__key",
    "weight",
)


def _objective_tables(organization_id: int, objectives: Q) -> dict[str, Subquery]:
    chosen = _live_objectives(organization_id).filter(objectives)
    return {
        "objectives": json_rows(chosen, *_OBJECTIVE_COLUMNS),
        "links": json_rows(
            Alignment.objects.filter(child__in=chosen.values("pk"), archived_at__isnull=True),
            *_LINK_COLUMNS,
        ),
    }


def _aligned_below(edges: list[list[Any]], cycle_id: int) -> set[int]:
    """Objectives of other cycles aligned (at any depth) below the cycle's objectives, from
    the live links whose child is outside the cycle: (child, parent objective, parent key
    result's objective, parent's cycle, parent key result's objective's cycle)."""
    children: dict[int, set[int]] = defaultdict(set)
    found: set[int] = set()
    for child, parent, kr_parent, parent_cycle, kr_parent_cycle in edges:
        children[parent or kr_parent].add(child)
        if (parent_cycle or kr_parent_cycle) == cycle_id:
            found.add(child)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _checkins(checkins: list[list[Any]]) -> list[CheckInRow]:
    value_places = places(CheckIn, "value")
    return [
        CheckInRow(
            pk,
            corrects,
            date_of(effective),
            datetime_of(recorded),
            decimal_of(value, value_places),
            confidence,
        )
        for pk, corrects, effective, recorded, value, confidence in checkins
    ]


def checkins_of_key_results_of(checkin_ids: Collection[int]) -> dict[int, list[CheckInRow]]:
    """Every live check-in of the key results the check-ins `checkin_ids` belong to, by key
    result id (one query): what `checkin_history` needs to rebuild those histories."""
    rows: dict[int, list[CheckInRow]] = defaultdict(list)
    if not checkin_ids:
        return rows
    krs = CheckIn.objects.filter(pk__in=sorted(checkin_ids)).values("key_result_id")
    for kr_id, pk, corrects_id, effective, recorded, value, confidence in CheckIn.objects.filter(
        key_result_id__in=krs, archived_at__isnull=True
    ).values_list(
        "key_result_id", "pk", "corrects_id", "effective_date", "recorded_at", "value", "confidence"
    ):
        rows[kr_id].append(CheckInRow(pk, corrects_id, effective, recorded, value, confidence))
    return rows


def load_okrs(
    organization: Organization,
    cycle: Cycle | None = None,
    *,
    side: Mapping[str, Subquery] | None = None,
    history: Callable[[list[CheckInRow]], list[CheckInRow]],
) -> LoadedOkrs:
    """Read the organization's OKR plan (or one cycle's, with every objective aligned below it
    from other cycles) in two or three queries; ``side`` adds JSON side tables to the first
    query (their text is returned in ``side``). ``history`` turns a key result's check-ins
    into the engine's history (`engine_io.checkin_history`)."""
    org_id = organization.pk
    in_plan = Q() if cycle is None else Q(cycle=cycle)
    tables: dict[str, Subquery] = {
        **_objective_tables(org_id, in_plan),
        "cycles": json_rows(
            Cycle.objects.filter(organization_id=org_id, archived_at__isnull=True),
            "pk",
            "key",
            "name",
            "start_date",
            "end_date",
            "state",
            "parent_id",
        ),
        "teams": json_rows(
            Team.objects.filter(organization_id=org_id, archived_at__isnull=True),
            "key",
            "name",
            "parent__key",
            "capacity_days_per_week",
        ),
    }
    if cycle is not None:
        tables["edges"] = json_rows(
            _live_edges_base(org_id).exclude(child__cycle=cycle),
            "child_id",
            "parent_objective_id",
            "parent_key_result__objective_id",
            "parent_objective__cycle_id",
            "parent_key_result__objective__cycle_id",
        )
    tables.update(side or {})
    names = list(tables)
    first = dict(
        zip(
            names,
            Organization.objects.filter(pk=org_id).values_list(*tables.values()).get(),
            strict=True,
        )
    )
    objective_rows = decode_rows(first["objectives"])
    link_rows = decode_rows(first["links"])
    if cycle is not None:
        extra = _aligned_below(decode_rows(first["edges"]), cycle.pk)
        if extra:
            # A cycle's objectives roll up objectives aligned to them from other cycles (a
            # year's objective from its quarters'), so those come along, all the way down.
            more = _objective_tables(org_id, Q(pk__in=sorted(extra)))
            more_objectives, more_links = (
                Organization.objects.filter(pk=org_id).values_list(*more.values()).get()
            )
            objective_rows += decode_rows(more_objectives)
            link_rows += decode_rows(more_links)
            in_plan = in_plan | Q(pk__in=sorted(extra))

    cycles = {row[0]: row for row in decode_rows(first["cycles"])}
    objective_rows.sort(key=lambda r: (cycles[r[3]][3], r[1], r[0]))
    objective_keys = {row[0]: row[1] for row in objective_rows}
    weight_places = places(Objective, "weight")
    link_places = places(Alignment, "weight")

    links: dict[int, list[AlignmentLink]] = defaultdict(list)
    for _, child_id, parent_key, kr_objective_key, kr_key, weight in sorted(link_rows):
        if kr_key is not None:
            links[child_id].append(
                AlignmentLink(
                    parent_key_result=f"{kr_objective_key}/{kr_key}",
                    weight=decimal_of(weight, link_places),
                )
            )
        elif parent_key is not None:
            links[child_id].append(
                AlignmentLink(parent_objective=parent_key, weight=decimal_of(weight, link_places))
            )

    cycle_inputs: dict[int, CycleInput] = {}
    objective_inputs = []
    for pk, key, title, cycle_id, team_key, owner, weight, state in objective_rows:
        c = cycles[cycle_id]
        cycle_inputs.setdefault(
            cycle_id, CycleInput(c[1], c[2], date_of(c[3]), date_of(c[4]), CycleState(c[5]))
        )
        objective_inputs.append(
            ObjectiveInput(
                key=key,
                title=title,
                cycle_key=c[1],
                team_key=team_key,
                owner=owner,
                weight=decimal_of(weight, weight_places),
                state=ObjectiveState(state),
                aligns_to=tuple(links.get(pk, ())),
            )
        )

    kr_inputs, key_result_ids, histories = _key_results(
        org_id, in_plan, objective_keys, {o[0]: cycle_inputs[o[3]] for o in objective_rows}, history
    )
    teams = sorted(decode_rows(first["teams"]))
    capacity_places = places(Team, "capacity_days_per_week")
    plan = Plan(
        organization_name=organization.name,
        timezone=organization.timezone,
        settings=organization.engine_settings(),
        teams=tuple(
            TeamInput(key, name, parent_key, decimal_of(capacity, capacity_places))
            for key, name, parent_key, capacity in teams
        ),
        cycles=tuple(cycle_inputs.values()),
        objectives=tuple(objective_inputs),
        key_results=tuple(kr_inputs),
    )
    return LoadedOkrs(
        plan=plan,
        objective_ids={row[1]: row[0] for row in objective_rows},
        objective_cycle_ids={row[1]: row[3] for row in objective_rows},
        key_result_ids=key_result_ids,
        histories=histories,
        objective_filter=in_plan,
        side={name: first[name] for name in side or {}},
    )


_KR_COLUMNS = (
    "pk",
    "objective_id",
    "key",
    "title",
    "kind",
    "unit",
    "start_value",
    "target_value",
    "due_date",
    "weight",
    "curve",
    "maintain_direction",
    "owner__email",
)


def _key_results(
    organization_id: int,
    objectives: Q,
    objective_keys: Mapping[int, str],
    cycles: Mapping[int, CycleInput],
    history: Callable[[list[CheckInRow]], list[CheckInRow]],
) -> tuple[list[KeyResultInput], dict[str, int], dict[str, list[CheckInRow]]]:
    chosen = _live_objectives(organization_id).filter(objectives)
    rows = (
        KeyResult.objects.filter(
            organization_id=organization_id,
            archived_at__isnull=True,
            objective__in=chosen.values("pk"),
        )
        .order_by("objective_id", "key", "pk")
        .values_list(
            *_KR_COLUMNS,
            json_rows(
                CheckIn.objects.filter(key_result=OuterRef("pk"), archived_at__isnull=True),
                "pk",
                "corrects_id",
                "effective_date",
                "recorded_at",
                "value",
                "confidence",
            ),
            json_rows(
                Milestone.objects.filter(key_result=OuterRef("pk"), archived_at__isnull=True),
                "key",
                "date",
                "weight",
                "done_on",
            ),
        )
    )
    milestone_places = places(Milestone, "weight")
    inputs: list[KeyResultInput] = []
    ids: dict[str, int] = {}
    histories: dict[str, list[CheckInRow]] = {}
    for (
        pk,
        objective_id,
        key,
        title,
        kind,
        unit,
        start,
        target,
        due,
        weight,
        curve,
        direction,
        owner,
        checkins,
        milestones,
    ) in rows:
        objective_key = objective_keys[objective_id]
        cycle = cycles[objective_id]
        path = f"{objective_key}/{key}"
        past = history(_checkins(decode_rows(checkins)))
        refs = [
            MilestoneRef(m_key, date_of(m_date), decimal_of(m_weight, milestone_places), done)
            for m_key, m_date, m_weight, done in _milestone_rows(decode_rows(milestones))
        ]
        inputs.append(
            KeyResultInput(
                key=path,
                objective_key=objective_key,
                title=title,
                kind=KeyResultKind(kind),
                start=start,
                target=target,
                window_start=cycle.start,
                due=due or cycle.end,
                weight=weight,
                curve=CurveKind(curve),
                maintain_direction=MaintainDirection(direction),
                checkins=tuple(CheckInPoint(c.effective_date, c.value, c.confidence) for c in past),
                milestones=_by_date(refs),
                owner=owner,
                unit=unit,
            )
        )
        ids[path] = pk
        histories[path] = past
    return inputs, ids, histories


def _milestone_rows(rows: Sequence[list[Any]]) -> list[tuple[str, str, Any, dt.date | None]]:
    return [(key, day, weight, date_of(done) if done else None) for key, day, weight, done in rows]


def _by_date(refs: Sequence[MilestoneRef]) -> tuple[MilestoneRef, ...]:
    # The engine reads milestone refs in (date, key) order, as `key_result_input` gives them.
    return tuple(sorted(refs, key=lambda m: (m.on, m.key)))
