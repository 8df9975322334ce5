"""API schemas for cycles, objectives, alignment, key results, check-ins, retrospectives."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from milepost.api.common import (
    Confidence,
    Id,
    InputSchema,
    Key,
    LongText,
    Name,
    PlanDate,
    Since,
    Title,
    Value,
    Weight,
    optional,
    text,
)
from milepost.api.pagination import PageQuery

StatusName = Literal["not_started", "on_track", "at_risk", "off_track", "done"]
ObjectiveStateName = Literal["draft", "active", "closed", "cancelled"]
CycleStateName = Literal["planning", "active", "closed"]
VisibilityName = Literal["organization", "team", "private"]
KindName = Literal["increase", "decrease", "maintain", "binary", "milestones"]
CurveName = Literal["linear", "back_loaded", "stepped"]
DirectionName = Literal["at_least", "at_most"]


class ExplanationOut(Schema):
    """How a number was computed: the rule, a one-line summary, its terms and notes."""

    rule: str
    summary: str
    terms: list[dict[str, str]]
    notes: list[str]


# Cycles ----------------------------------------------------------------------------------


class CycleOut(Schema):
    id: int
    key: str
    name: str
    start_date: date
    end_date: date
    state: str
    parent: int | None = Field(alias="parent_id")
    activated_at: datetime | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class CycleIn(InputSchema):
    key: Key
    name: Name
    start_date: PlanDate
    end_date: PlanDate
    parent: Id | None = None


class CyclePatch(InputSchema):
    key: Key = optional()
    name: Name = optional()
    start_date: PlanDate = optional()
    end_date: PlanDate = optional()
    parent: Id | None = None


class CycleQuery(PageQuery):
    state: CycleStateName | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived cycles instead of active ones.")
    ordering: Literal[
        "-start_date", "start_date", "key", "-key", "updated_at", "-updated_at", "id", "-id"
    ] = "-start_date"


# Objectives ------------------------------------------------------------------------------


class ObjectiveOut(Schema):
    id: int
    key: str
    title: str
    description: str
    cycle: int = Field(alias="cycle_id")
    owner_team: int | None = Field(alias="owner_team_id")
    owner_user: int | None = Field(alias="owner_user_id")
    visibility: str
    state: str
    weight: Decimal
    progress: Decimal = Field(description="Stored engine progress (0 to 1; above 1 if allowed).")
    expected: Decimal
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class ObjectiveDetailOut(ObjectiveOut):
    """One objective with the engine's live evaluation (as of today) and its explanation."""

    as_of: date | None = None
    explanation: ExplanationOut | None = None


class ObjectiveIn(InputSchema):
    cycle: Id
    key: Key
    title: Title
    description: LongText = ""
    owner_team: Id | None = None
    owner_user: Id | None = None
    visibility: VisibilityName = "organization"
    state: ObjectiveStateName = "draft"
    weight: Weight = Decimal(1)


class ObjectivePatch(InputSchema):
    cycle: Id = optional()
    key: Key = optional()
    title: Title = optional()
    description: LongText = optional()
    owner_team: Id | None = None
    owner_user: Id | None = None
    visibility: VisibilityName = optional()
    state: ObjectiveStateName = optional()
    weight: Weight = optional()


class ObjectiveQuery(PageQuery):
    cycle: Id | None = None
    team: Id | None = Field(None, description="Owner team.")
    owner: Id | None = Field(None, description="Owner (a user id).")
    status: StatusName | None = None
    state: ObjectiveStateName | None = None
    visibility: VisibilityName | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived objectives instead of active ones.")
    ordering: Literal[
        "key",
        "-key",
        "title",
        "-title",
        "progress",
        "-progress",
        "updated_at",
        "-updated_at",
        "created_at",
        "-created_at",
        "id",
        "-id",
    ] = "key"


# Alignment -------------------------------------------------------------------------------


class AlignmentOut(Schema):
    id: int
    child: int = Field(alias="child_id")
    parent_objective: int | None = Field(alias="parent_objective_id")
    parent_key_result: int | None = Field(alias="parent_key_result_id")
    weight: Decimal
    version: int
    created_at: datetime


class AlignmentIn(InputSchema):
    """The child objective contributes to exactly one parent: an objective or a key result."""

    child: Id
    parent_objective: Id | None = None
    parent_key_result: Id | None = None
    weight: Weight = Decimal(1)


class AlignmentPatch(InputSchema):
    """Only the weight changes; a link to another parent is a new link."""

    weight: Weight = optional()


class AlignmentQuery(PageQuery):
    child: Id | None = None
    parent_objective: Id | None = None
    parent_key_result: Id | None = None
    ordering: Literal["id", "-id", "created_at", "-created_at"] = "id"


# Key results -----------------------------------------------------------------------------


class KeyResultOut(Schema):
    id: int
    objective: int = Field(alias="objective_id")
    key: str
    title: str
    description: str
    kind: str
    unit: str
    start_value: Decimal
    target_value: Decimal
    current_value: Decimal
    weight: Decimal
    owner: int | None = Field(alias="owner_id")
    due_date: date | None
    curve: str
    maintain_direction: str
    progress: Decimal
    progress_raw: Decimal
    expected: Decimal
    status: str
    confidence: int | None
    last_checkin_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class ForecastOut(Schema):
    value: Decimal
    low: Decimal
    high: Decimal
    progress: Decimal
    explanation: ExplanationOut


class KeyResultDetailOut(KeyResultOut):
    """One key result with the engine's live evaluation, forecast and explanation."""

    as_of: date | None = None
    confidence_disagrees: bool = False
    forecast: ForecastOut | None = None
    forecast_reason: str = ""
    explanation: ExplanationOut | None = None


class KeyResultIn(InputSchema):
    objective: Id
    key: Key
    title: Title
    kind: KindName
    start_value: Value
    target_value: Value
    unit: text(30) = ""  # type: ignore[valid-type]
    weight: Weight = Decimal(1)
    owner: Id | None = None
    due_date: PlanDate | None = None
    curve: CurveName = "linear"
    maintain_direction: DirectionName = "at_least"
    description: LongText = ""


class KeyResultPatch(InputSchema):
    """Any field but the current value (which only a check-in changes)."""

    key: Key = optional()
    title: Title = optional()
    description: LongText = optional()
    kind: KindName = optional()
    unit: text(30) = optional()  # type: ignore[valid-type]
    start_value: Value = optional()
    target_value: Value = optional()
    weight: Weight = optional()
    owner: Id | None = None
    due_date: PlanDate | None = None
    curve: CurveName = optional()
    maintain_direction: DirectionName = optional()


class KeyResultQuery(PageQuery):
    objective: Id | None = None
    cycle: Id | None = None
    team: Id | None = Field(None, description="The owner team of the key result's objective.")
    owner: Id | None = Field(None, description="Owner (a user id).")
    status: StatusName | None = None
    kind: KindName | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived key results instead of active ones.")
    ordering: Literal[
        "key",
        "-key",
        "title",
        "-title",
        "progress",
        "-progress",
        "updated_at",
        "-updated_at",
        "created_at",
        "-created_at",
        "id",
        "-id",
    ] = "id"


# Check-ins -------------------------------------------------------------------------------


class CheckInOut(Schema):
    id: int
    key_result: int = Field(alias="key_result_id")
    value: Decimal
    confidence: int | None
    note: str
    author: int | None = Field(alias="author_id")
    source: str
    recorded_at: datetime
    effective_date: date
    corrects: int | None = Field(alias="corrects_id")
    corrected: bool = Field(description="True when a later correction replaces this check-in.")

    @staticmethod
    def resolve_corrected(obj: Any) -> bool:
        return bool(getattr(obj, "is_corrected", False))


class CheckInIn(InputSchema):
    value: Value
    confidence: Confidence | None = None
    note: LongText = ""
    effective_date: PlanDate | None = Field(
        None, description="The day the value is for (default: today in the organization)."
    )


class CorrectionIn(InputSchema):
    value: Value
    confidence: Confidence | None = None
    note: LongText = ""


class CheckInQuery(PageQuery):
    key_result: Id | None = None
    objective: Id | None = None
    cycle: Id | None = None
    author: Id | None = None
    updated_since: Since | None = None
    ordering: Literal[
        "-recorded_at", "recorded_at", "-effective_date", "effective_date", "id", "-id"
    ] = "-recorded_at"


class KeyResultCheckInQuery(PageQuery):
    ordering: Literal[
        "-recorded_at", "recorded_at", "-effective_date", "effective_date", "id", "-id"
    ] = "-recorded_at"


# Retrospectives --------------------------------------------------------------------------


class RetrospectiveOut(Schema):
    id: int
    cycle: int = Field(alias="cycle_id")
    objective: int | None = Field(alias="objective_id")
    key_result: int | None = Field(alias="key_result_id")
    score: Decimal | None
    grade: str
    grade_override: str
    final_grade: str
    reason_code: str
    lessons: str
    went_well: str
    went_badly: str
    change_next: str
    skipped: bool
    author: int | None = Field(alias="author_id")
    version: int
    created_at: datetime
    updated_at: datetime


GradeName = Literal["missed", "partial", "achieved"]


class CarryOverIn(InputSchema):
    """Key results of the cycle in the URL to carry into `target_cycle` (each starts from its
    last value); `into_objective`, an objective of the target cycle, else each goes into the
    objective continuing its own there (made if needed)."""

    key_results: list[Id] = Field(..., min_length=1, max_length=200)
    target_cycle: Id
    into_objective: Id | None = None


class CarryOverOut(Schema):
    """The copies in the target cycle, in the order asked (a key result carried there before
    gives the copy made then)."""

    key_results: list[KeyResultOut]


ReasonName = Literal["target_wrong", "execution", "external", "measurement"]


class KeyResultRetrospectiveIn(InputSchema):
    grade_override: GradeName | Literal[""] = Field(
        "", description="Overrides the engine's grade; needs a reason code."
    )
    reason_code: ReasonName | Literal[""] = ""
    lessons: LongText = ""


class ReflectionIn(InputSchema):
    """At least one of the three answers."""

    went_well: LongText = ""
    went_badly: LongText = ""
    change_next: LongText = ""
    lessons: LongText = ""


class RetrospectiveQuery(PageQuery):
    cycle: Id | None = None
    objective: Id | None = None
    key_result: Id | None = None
    ordering: Literal["id", "-id", "updated_at", "-updated_at"] = "id"
