"""API schemas for the read models: alignment tree, schedule, findings, priorities."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ninja import Field, Schema

from milepost.api.common import Id
from milepost.okrs.schemas import ExplanationOut


class KeyResultNodeOut(Schema):
    id: int
    key: str
    title: str
    kind: str
    unit: str
    start_value: Decimal
    target_value: Decimal
    current_value: Decimal
    progress: Decimal
    expected: Decimal
    status: str
    confidence: int | None
    owner: int | None
    children: list[TreeNodeOut] = Field(description="Objectives aligned to this key result.")


class TreeNodeOut(Schema):
    """An objective. A locked node is one you may not see: its numbers count, nothing else
    about it is shown (id, key, title, owners, key results are null/empty)."""

    locked: bool
    id: int | None
    key: str | None
    title: str | None
    visibility: str | None
    state: str | None
    owner_team: int | None
    owner_user: int | None
    weight: Decimal = Field(description="Weight of the link to the parent (1 for a root).")
    progress: Decimal
    expected: Decimal
    status: str
    key_results: list[KeyResultNodeOut]
    children: list[TreeNodeOut]


KeyResultNodeOut.model_rebuild()
TreeNodeOut.model_rebuild()


class TreeOut(Schema):
    cycle: int
    roots: list[TreeNodeOut]


class CycleQuery(Schema):
    cycle: Id | None = Field(None, description="A cycle id; the whole organization when left out.")
    as_of: date | None = Field(None, description="Evaluate as of this day (default: today).")


class TreeQuery(Schema):
    cycle: Id
    root: Id | None = Field(
        None,
        description="An objective of the cycle: only the subtree below it (404 if you may "
        "not see it).",
    )


class ScheduleItemOut(Schema):
    kind: str
    id: int
    key: str
    title: str
    planned_start: date | None
    planned_end: date | None
    earliest_start: date
    earliest_finish: date
    latest_start: date
    latest_finish: date
    slack_days: int
    critical: bool


class ScheduleOut(Schema):
    as_of: date
    items: list[ScheduleItemOut]
    critical_paths: list[list[str]]
    project_start: date | None
    project_finish: date | None
    error: str | None = Field(description="Why there is no schedule (a dependency loop).")


class FindingOut(Schema):
    code: str
    severity: str
    message: str
    objects: list[str]


class FindingsOut(Schema):
    items: list[FindingOut]


class PriorityOut(Schema):
    rank: int
    id: int
    key: str
    title: str
    score: Decimal
    aligned: bool
    explanation: ExplanationOut


class PrioritiesOut(Schema):
    items: list[PriorityOut]
