"""Django admin for the audit log: read-only (audit events are immutable)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from milepost.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = (
        "created_at",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "actor_label",
        "organization",
        "request_id",
    )
    list_filter = ("action", "target_type", "organization")
    search_fields = ("action", "target_label", "actor_label", "request_id")
    date_hierarchy = "created_at"
    list_select_related = ("organization",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
