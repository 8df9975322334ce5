"""The id of the request being served, for audit events (set by RequestIdMiddleware)."""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("milepost_request_id", default="")
