"""API schemas for the organization, its members and teams."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from milepost.api.common import Days, Id, InputSchema, Key, Name, Since, optional, text
from milepost.api.pagination import PageQuery

Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]
RoleName = Literal["owner", "admin", "member", "viewer"]


class OrganizationOut(Schema):
    id: int
    slug: str
    name: str
    timezone: str
    on_track_gap: Decimal
    at_risk_gap: Decimal
    allow_over_achievement: bool
    over_achievement_cap: Decimal
    rollup_mode: str
    objective_status_mode: str
    stale_after_days: int
    max_key_results_per_objective: int
    max_objectives_per_team: int
    output_done_share: Decimal = Field(
        description="Share of an initiative's tasks done (0 < share ≤ 1) from which it counts "
        "as mostly done for the output-without-outcome finding."
    )
    default_checkin_weekday: int
    default_notification_channel: str
    version: int
    your_role: str = Field(description="The caller's role here (a token's role may be lower).")


class OrganizationPatch(InputSchema):
    name: Name = optional()
    timezone: text(64, min_length=1) = optional()  # type: ignore[valid-type]
    on_track_gap: Decimal = optional(ge=0, le=1, max_digits=4, decimal_places=3)
    at_risk_gap: Decimal = optional(ge=0, le=1, max_digits=4, decimal_places=3)
    allow_over_achievement: bool = optional()
    over_achievement_cap: Decimal = optional(ge=1, le=10, max_digits=4, decimal_places=2)
    rollup_mode: Literal["key_results", "children", "both"] = optional()
    objective_status_mode: Literal["worst", "gap"] = optional()
    stale_after_days: int = optional(ge=1, le=365)
    max_key_results_per_objective: int = optional(ge=1, le=100)
    max_objectives_per_team: int = optional(ge=1, le=100)
    output_done_share: Decimal = optional(gt=0, le=1, max_digits=4, decimal_places=3)
    default_checkin_weekday: int = optional(ge=0, le=6)
    default_notification_channel: Literal["email", "chat", "none"] = optional()


class MemberOut(Schema):
    id: int
    user: int = Field(alias="user_id")
    email: str = Field(alias="user.email")
    full_name: str = Field(alias="user.full_name")
    role: str
    version: int
    created_at: datetime
    updated_at: datetime


class MemberIn(InputSchema):
    email: Email
    role: RoleName = "member"
    full_name: text(200) = ""  # type: ignore[valid-type]


class MemberPatch(InputSchema):
    role: RoleName


class MemberQuery(PageQuery):
    role: RoleName | None = None
    updated_since: Since | None = None
    ordering: Literal["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at"] = "id"


class TeamOut(Schema):
    id: int
    key: str
    name: str
    parent: int | None = Field(alias="parent_id")
    capacity_days_per_week: Decimal
    lead: int | None = Field(alias="lead_id")
    members: list[int] = Field(description="User ids of the team's members.")
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @staticmethod
    def resolve_members(obj: object) -> list[int]:
        return sorted(m.user_id for m in obj.team_members.all())  # type: ignore[attr-defined]


class TeamIn(InputSchema):
    key: Key
    name: Name
    parent: Id | None = None
    capacity_days_per_week: Days = Decimal(0)
    lead: Id | None = None


class TeamPatch(InputSchema):
    key: Key = optional()
    name: Name = optional()
    parent: Id | None = None
    capacity_days_per_week: Days = optional()
    lead: Id | None = None


class TeamMemberIn(InputSchema):
    user: Id


class TeamQuery(PageQuery):
    parent: Id | None = None
    updated_since: Since | None = None
    archived: bool = Field(False, description="List archived teams instead of active ones.")
    ordering: Literal["key", "-key", "name", "-name", "updated_at", "-updated_at", "id", "-id"] = (
        "key"
    )
