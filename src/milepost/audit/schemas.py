"""API schemas for the audit log (read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from milepost.api.common import Id, Since, text
from milepost.api.pagination import PageQuery


class AuditEventOut(Schema):
    id: int
    action: str
    actor: int | None = Field(alias="actor_id")
    actor_label: str
    target_type: str
    target_id: int | None
    target_label: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime
    request_id: str


class AuditQuery(PageQuery):
    action: text(60) | None = Field(  # type: ignore[valid-type]
        None, description='An action ("checkin.record") or a prefix ending in "." ("keyresult.").'
    )
    target_type: text(40) | None = None  # type: ignore[valid-type]
    target_id: Id | None = None
    actor: Id | None = None
    since: Since | None = None
    until: Since | None = None
    ordering: Literal["-created_at", "created_at"] = "-created_at"
