"""What the objective and key-result pages show, computed live by the engine as of today.

The numbers are the engine's: each key result is evaluated by `engine.okr.evaluate_key_result`
from its rows (`okrs.engine_io.key_result_input`), and the objective is rolled up by
`engine.rollup.rollup_objectives` from those results and its aligned children's stored results
(the columns the engine maintains) — the same way `okrs.engine_io` keeps the stored columns
current, so the page and its "why this number?" always agree. A fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Case, OuterRef, Q, Value, When

from milepost.dbjson import date_of, decimal_of, decode_rows, json_rows
from milepost.engine.explain import Explanation
from milepost.engine.model import (
    AlignmentLink,
    Curve,
    CycleState,
    KeyResultInput,
    KeyResultKind,
    ObjectiveInput,
    ObjectiveState,
    Status,
)
from milepost.engine.okr import evaluate_key_result
from milepost.engine.results import KeyResultResult, ObjectiveResult
from milepost.engine.rollup import rollup_objectives
from milepost.okrs.access import can_check_in, can_edit_key_result, can_edit_objective
from milepost.okrs.engine_io import checkin_history, key_result_input, organization_today
from milepost.okrs.models import Alignment, CheckIn, KeyResult, Objective
from milepost.okrs.plan_rows import places
from milepost.okrs.querysets import objective_visibility_q
from milepost.organizations.access import Actor
from milepost.roadmap.models import InitiativeKeyResult, Milestone

_STORED = Explanation("stored", "read from the stored columns (last computed by the engine)")


@dataclass
class KeyResultView:
    row: KeyResult
    input: KeyResultInput
    result: KeyResultResult
    history: list[CheckIn]  # as the engine reads it (corrections applied)
    can_edit: bool  # false in a closed cycle: the services refuse every change there
    can_check_in: bool  # likewise
    result_date: dt.date
    all_checkins: list[CheckIn] = field(default_factory=list)  # corrected ones included
    cycle_closed: bool = False


@dataclass
class LinkView:
    """One alignment link seen from the objective page (the other end may be locked)."""

    alignment: Alignment
    other: Objective
    visible: bool
    via_key_result: KeyResult | None = None


@dataclass
class ObjectiveView:
    objective: Objective
    result: ObjectiveResult
    key_results: list[KeyResultView]
    parents: list[LinkView]
    children: list[LinkView]
    initiatives: list[InitiativeKeyResult]
    can_edit: bool  # false in a closed cycle: the services refuse every change there
    today: dt.date
    archived_key_results: list[KeyResult] = field(default_factory=list)
    cycle_closed: bool = False


def cycle_is_closed(objective: Objective) -> bool:
    """Whether the objective's cycle is closed (its objectives and key results are frozen)."""
    return objective.cycle.state == CycleState.CLOSED


def _stored_result(objective: Objective) -> ObjectiveResult:
    return ObjectiveResult(
        objective.key, objective.progress, objective.expected, Status(objective.status), _STORED
    )


_WEIGHT_PLACES = places(Milestone, "weight")


def _milestones_of(text: str | None) -> list[Milestone]:
    """The milestones of a `json_rows(..., "key", "date", "weight", "done_on")` column, as
    unsaved rows carrying what `key_result_input` reads."""
    return [
        Milestone(
            key=key,
            date=date_of(day),
            weight=decimal_of(weight, _WEIGHT_PLACES),
            done_on=date_of(done) if done else None,
        )
        for key, day, weight, done in decode_rows(text)
    ]


def _key_results(
    actor: Actor, objective: Objective, today: dt.date
) -> tuple[list[KeyResultView], list[KeyResult]]:
    """The objective's live key results evaluated by the engine, and its archived ones."""
    # The milestones that count toward each key result ride along as one JSON column.
    everything = list(
        KeyResult.objects.filter(objective=objective)
        .select_related("owner")
        .annotate(
            milestone_rows=json_rows(
                Milestone.objects.filter(key_result_id=OuterRef("pk"), archived_at__isnull=True),
                "key",
                "date",
                "weight",
                "done_on",
            )
        )
        .order_by("key", "pk")
    )
    archived = [kr for kr in everything if kr.archived_at is not None]
    rows = [kr for kr in everything if kr.archived_at is None]
    for kr in everything:
        kr.objective = objective
    ids = [kr.pk for kr in rows]
    checkins: dict[int, list[CheckIn]] = defaultdict(list)
    milestones = {kr.pk: _milestones_of(kr.milestone_rows) for kr in rows}  # type: ignore[attr-defined]
    if ids:
        for c in CheckIn.objects.filter(key_result_id__in=ids).select_related("author"):
            checkins[c.key_result_id].append(c)
    settings = actor.organization.engine_settings()
    views = []
    closed = cycle_is_closed(objective)
    for kr in rows:
        kr_input = key_result_input(kr, checkins[kr.pk], milestones[kr.pk])
        result = evaluate_key_result(kr_input, today, settings)
        views.append(
            KeyResultView(
                row=kr,
                input=kr_input,
                result=result,
                history=checkin_history(checkins[kr.pk]),
                can_edit=not closed and can_edit_key_result(actor, kr),
                can_check_in=not closed and can_check_in(actor, kr),
                result_date=today,
                all_checkins=checkins[kr.pk],
                cycle_closed=closed,
            )
        )
    return views, archived


def _visible_flag(actor: Actor, prefix: str) -> Any:
    """SQL: whether the objective at `prefix` is visible to the actor (the shared rule)."""
    rule = objective_visibility_q(actor, prefix)
    if not rule:  # admins see everything
        return Value(True)
    return Case(When(rule, then=Value(True)), default=Value(False), output_field=BooleanField())


def _links(actor: Actor, objective: Objective) -> tuple[list[LinkView], list[LinkView]]:
    """The objective's parents and children through alignment; an end the actor may not see
    is marked so the page shows it as a locked node. One query."""
    rows = list(
        Alignment.objects.filter(organization_id=actor.organization_id, archived_at__isnull=True)
        .filter(
            Q(child=objective)
            | Q(parent_objective=objective)
            | Q(parent_key_result__objective=objective)
        )
        .select_related("child", "parent_objective", "parent_key_result__objective")
        .annotate(
            child_visible=_visible_flag(actor, "child__"),
            parent_objective_visible=_visible_flag(actor, "parent_objective__"),
            parent_kr_visible=_visible_flag(actor, "parent_key_result__objective__"),
        )
        .order_by("pk")
    )
    parents: list[LinkView] = []
    children: list[LinkView] = []
    for a in rows:
        if a.child_id == objective.pk:
            if a.parent_objective is not None:
                other, visible = a.parent_objective, bool(a.parent_objective_visible)
            else:
                other = a.parent_key_result.objective  # type: ignore[union-attr]
                visible = bool(a.parent_kr_visible)
            if other.archived_at is None:
                parents.append(LinkView(a, other, visible, a.parent_key_result))
        elif a.child.archived_at is None:
            children.append(LinkView(a, a.child, bool(a.child_visible), a.parent_key_result))
    return parents, children


def _rollup(
    actor: Actor,
    objective: Objective,
    key_results: list[KeyResultView],
    children: list[LinkView],
    today: dt.date,
) -> ObjectiveResult:
    kr_key = {kr.row.pk: kr.input.key for kr in key_results}
    inputs = [
        ObjectiveInput(
            key=objective.key,
            title=objective.title,
            cycle_key="",
            weight=objective.weight,
            state=ObjectiveState(objective.state),
        )
    ]
    previous: dict[str, ObjectiveResult] = {}
    for link in children:
        child = link.other
        if link.via_key_result is not None:
            if link.via_key_result.pk not in kr_key:
                continue
            aligned = AlignmentLink(
                parent_key_result=kr_key[link.via_key_result.pk], weight=link.alignment.weight
            )
        else:
            aligned = AlignmentLink(parent_objective=objective.key, weight=link.alignment.weight)
        inputs.append(
            ObjectiveInput(
                key=child.key,
                title="",
                cycle_key="",
                state=ObjectiveState(child.state),
                aligns_to=(aligned,),
            )
        )
        previous[child.key] = _stored_result(child)
    results = rollup_objectives(
        inputs,
        [kr.input for kr in key_results],
        {kr.input.key: kr.result for kr in key_results},
        actor.organization.engine_settings(),
        today,
        only={objective.key},
        previous=previous,
    )
    return results[objective.key]


def objective_view(actor: Actor, objective: Objective) -> ObjectiveView:
    """Everything the objective page shows (the objective comes from `access_objective`)."""
    objective.organization = actor.organization
    today = organization_today(actor.organization)
    key_results, archived = _key_results(actor, objective, today)
    parents, children = _links(actor, objective)
    result = _rollup(actor, objective, key_results, children, today)
    initiatives = list(
        InitiativeKeyResult.objects.filter(
            key_result__objective=objective,
            archived_at__isnull=True,
            initiative__archived_at__isnull=True,
            key_result__archived_at__isnull=True,
        )
        .select_related("initiative", "initiative__team", "key_result")
        .order_by("initiative__start_date", "initiative__key")
    )
    return ObjectiveView(
        objective=objective,
        result=result,
        key_results=key_results,
        parents=parents,
        children=children,
        initiatives=initiatives,
        can_edit=not cycle_is_closed(objective) and can_edit_objective(actor, objective),
        today=today,
        archived_key_results=archived,
        cycle_closed=cycle_is_closed(objective),
    )


def key_result_view(actor: Actor, kr: KeyResult) -> KeyResultView:
    """The key result evaluated live (the row comes from `access_key_result`)."""
    today = organization_today(actor.organization)
    checkins = list(CheckIn.objects.filter(key_result=kr).select_related("author"))
    milestones: list[Milestone] = []
    if kr.kind == KeyResultKind.MILESTONES or kr.curve == Curve.STEPPED:
        milestones = list(Milestone.objects.filter(key_result=kr, archived_at__isnull=True))
    kr_input = key_result_input(kr, checkins, milestones)
    closed = cycle_is_closed(kr.objective)
    return KeyResultView(
        row=kr,
        input=kr_input,
        result=evaluate_key_result(kr_input, today, actor.organization.engine_settings()),
        history=checkin_history(checkins),
        can_edit=not closed and can_edit_key_result(actor, kr),
        can_check_in=not closed and can_check_in(actor, kr),
        result_date=today,
        all_checkins=checkins,
        cycle_closed=closed,
    )


def all_checkins_newest_first(checkins: list[CheckIn]) -> list[dict[str, Any]]:
    """Every check-in for the history list, newest first, with what corrected what."""
    corrected = {c.corrects_id for c in checkins if c.corrects_id is not None}
    return [
        {"checkin": c, "replaced": c.pk in corrected}
        for c in sorted(checkins, key=lambda c: (c.effective_date, c.recorded_at), reverse=True)
        if c.archived_at is None
    ]
