"""API schemas for the roadmap: initiatives, their links to key results, milestones and
dependencies."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from milepost.api.common import (
    Days,
    Hours,
    Id,
    InputSchema,
    Key,
    LongText,
    Money,
    PlanDate,
    Since,
    Title,
    Weight,
    optional,
    text,
)
from milepost.api.pagination import PageQuery

InitiativeStatusName = Literal["proposed", "planned", "in_progress", "done", "cancelled", "on_hold"]
DependencyTypeName = Literal["FS", "SS", "FF", "SF"]
Lag = int
LagDays = Field(0, ge=-3650, le=3650, description="Days between the two ends (may be negative).")


class InitiativeOut(Schema):
    id: int
    key: str
    title: str
    description: str
    team: int | None = Field(alias="team_id")
    owner: int | None = Field(alias="owner_id")
    cycle: int | None = Field(alias="cycle_id")
    status: str
    start_date: date | None
    end_date: date | None
    effort_days: Decimal
    budget: Decimal | None
    actual_cost: Decimal
    planned_hours: Decimal | None
    hypothesis: str
    estimated_cost: Decimal | None
    estimated_effort_days: Decimal | None
    delivered_summary: str
    outcome_summary: str
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class InitiativeIn(InputSchema):
    key: Key
    title: Title
    description: LongText = ""
    team: Id | None = None
    owner: Id | None = None
    cycle: Id | None = None
    status: InitiativeStatusName = "proposed"
    start_date: PlanDate | None = None
    end_date: PlanDate | None = None
    effort_days: Days = Decimal(0)
    budget: Money | None = None
    planned_hours: Hours | None = None
    hypothesis: LongText = ""
    estimated_cost: Money | None = None
    estimated_effort_days: Days | None = None


class InitiativePatch(InputSchema):
    key: Key = optional()
    title: Title = optional()
    description: LongText = optional()
    team: Id | None = None
    owner: Id | None = None
    cycle: Id | None = None
    status: InitiativeStatusName = optional(
        description="Closing as done needs delivered_summary; cancelled needs outcome_summary."
    )
    start_date: PlanDate | None = None
    end_date: PlanDate | None = None
    effort_days: Days = optional()
    budget: Money | None = None
    actual_cost: Money = optional()
    planned_hours: Hours | None = None
    hypothesis: LongText = optional()
    estimated_cost: Money | None = None
    estimated_effort_days: Days | None = None
    delivered_summary: LongText = optional()
    outcome_summary: LongText = optional()


class InitiativeQuery(PageQuery):
    cycle: Id | None = None
    team: Id | None = None
    owner: Id | None = None
    status: InitiativeStatusName | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived initiatives instead of active ones.")
    ordering: Literal[
        "key",
        "-key",
        "title",
        "-title",
        "updated_at",
        "-updated_at",
        "created_at",
        "-created_at",
        "id",
        "-id",
    ] = "key"


class InitiativeLinkOut(Schema):
    id: int
    initiative: int = Field(alias="initiative_id")
    key_result: int = Field(alias="key_result_id")
    weight: Decimal
    expected_impact: str
    version: int
    created_at: datetime
    updated_at: datetime


class InitiativeLinkIn(InputSchema):
    initiative: Id
    key_result: Id
    weight: Weight = Decimal(1)
    expected_impact: text(300) = ""  # type: ignore[valid-type]


class InitiativeLinkPatch(InputSchema):
    weight: Weight = optional()
    expected_impact: text(300) = optional()  # type: ignore[valid-type]


class InitiativeLinkQuery(PageQuery):
    initiative: Id | None = None
    key_result: Id | None = None
    updated_since: Since | None = None
    ordering: Literal["id", "-id", "updated_at", "-updated_at"] = "id"


class MilestoneOut(Schema):
    id: int
    key: str
    name: str
    date: dt.date
    initiative: int | None = Field(alias="initiative_id")
    key_result: int | None = Field(alias="key_result_id")
    weight: Decimal
    done_on: dt.date | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class MilestoneIn(InputSchema):
    key: Key
    name: Title
    date: PlanDate
    initiative: Id | None = None
    key_result: Id | None = None
    weight: Weight = Decimal(1)


class MilestonePatch(InputSchema):
    key: Key = optional()
    name: Title = optional()
    date: PlanDate = optional()
    initiative: Id | None = None
    key_result: Id | None = None
    weight: Weight = optional()
    done_on: PlanDate | None = Field(None, description="The day it was done; null: not done.")


class MilestoneComplete(InputSchema):
    done_on: PlanDate


class MilestoneQuery(PageQuery):
    initiative: Id | None = None
    key_result: Id | None = None
    done: bool | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived milestones instead of active ones.")
    ordering: Literal["date", "-date", "key", "-key", "updated_at", "-updated_at", "id", "-id"] = (
        "date"
    )


class DependencyOut(Schema):
    id: int
    predecessor_initiative: int | None = Field(alias="predecessor_initiative_id")
    predecessor_milestone: int | None = Field(alias="predecessor_milestone_id")
    successor_initiative: int | None = Field(alias="successor_initiative_id")
    successor_milestone: int | None = Field(alias="successor_milestone_id")
    type: str
    lag_days: int
    version: int
    created_at: datetime
    updated_at: datetime


class DependencyIn(InputSchema):
    """Exactly one predecessor and one successor, each an initiative or a milestone."""

    predecessor_initiative: Id | None = None
    predecessor_milestone: Id | None = None
    successor_initiative: Id | None = None
    successor_milestone: Id | None = None
    type: DependencyTypeName = "FS"
    lag_days: Lag = LagDays


class DependencyPatch(InputSchema):
    type: DependencyTypeName = optional()
    lag_days: Lag = optional(ge=-3650, le=3650)


class DependencyQuery(PageQuery):
    initiative: Id | None = Field(
        None, description="Dependencies with this initiative at either end."
    )
    updated_since: Since | None = None
    ordering: Literal["id", "-id", "updated_at", "-updated_at"] = "id"
