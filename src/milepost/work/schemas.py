"""API schemas for tasks and time entries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema

from milepost.api.common import (
    Hours,
    Id,
    InputSchema,
    Money,
    PlanDate,
    Since,
    Title,
    optional,
    text,
)
from milepost.api.pagination import PageQuery

TaskStatusName = Literal["todo", "in_progress", "done", "cancelled"]
TaskKey = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]{0,80}$")]
EntryHours = Annotated[
    Decimal, Field(gt=0, le=24, max_digits=5, decimal_places=2, allow_inf_nan=False)
]


class TaskOut(Schema):
    id: int
    key: str
    title: str
    initiative: int = Field(alias="initiative_id")
    assignee: int | None = Field(alias="assignee_id")
    status: str
    estimate_hours: Decimal | None
    due_date: date | None
    done_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class TaskIn(InputSchema):
    initiative: Id
    title: Title
    key: TaskKey = ""
    assignee: Id | None = None
    status: TaskStatusName = "todo"
    estimate_hours: Hours | None = None
    due_date: PlanDate | None = None


class TaskPatch(InputSchema):
    key: TaskKey = optional()
    title: Title = optional()
    assignee: Id | None = None
    status: TaskStatusName = optional()
    estimate_hours: Hours | None = None
    due_date: PlanDate | None = None


class TaskQuery(PageQuery):
    initiative: Id | None = None
    assignee: Id | None = None
    cycle: Id | None = Field(None, description="Tasks of initiatives in this cycle.")
    team: Id | None = Field(None, description="Tasks of this team's initiatives.")
    status: TaskStatusName | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived tasks instead of active ones.")
    ordering: Literal["id", "-id", "title", "-title", "updated_at", "-updated_at"] = "id"


class TimeEntryOut(Schema):
    id: int
    task: int = Field(alias="task_id")
    initiative: int = Field(alias="initiative_id")
    user: int = Field(alias="user_id")
    date: date
    hours: Decimal
    cost: Decimal
    note: str
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class TimeEntryIn(InputSchema):
    task: Id
    date: PlanDate
    hours: EntryHours
    user: Id | None = Field(None, description="Whose time (default: yours; admins log for others).")
    note: text(300) = ""  # type: ignore[valid-type]
    cost: Money | None = None


class TimeEntryPatch(InputSchema):
    """Correct a logged entry; whose time it is does not change."""

    task: Id = optional()
    date: PlanDate = optional()
    hours: EntryHours = optional()
    note: text(300) = optional()  # type: ignore[valid-type]
    cost: Money = optional()


class TimeEntryQuery(PageQuery):
    task: Id | None = None
    initiative: Id | None = None
    user: Id | None = None
    date_from: PlanDate | None = None
    date_to: PlanDate | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived entries instead of active ones.")
    ordering: Literal["-date", "date", "id", "-id", "updated_at", "-updated_at"] = "-date"
