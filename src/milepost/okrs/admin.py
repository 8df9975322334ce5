"""Django admin for OKR rows (for operators; the app's own screens are the normal way in).

Check-ins are append-only (a correction is a new check-in), so they are read-only here.
Stored progress columns are the engine's output, so they are shown but never edited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective, Retrospective

ENGINE_OUTPUT = ("progress", "expected", "status")


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin[Cycle]):
    list_display = ("name", "key", "organization", "start_date", "end_date", "state", "archived_at")
    list_filter = ("state", "organization")
    search_fields = ("name", "key")
    date_hierarchy = "start_date"
    list_select_related = ("organization",)
    raw_id_fields = ("parent",)
    readonly_fields = ("version", "created_at", "updated_at", "activated_at", "closed_at")


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin[Objective]):
    list_display = (
        "title",
        "key",
        "organization",
        "cycle",
        "owner_team",
        "owner_user",
        "visibility",
        "state",
        "progress",
        "status",
        "archived_at",
    )
    list_filter = ("state", "status", "visibility", "organization", "cycle")
    search_fields = ("title", "key", "description")
    list_select_related = ("organization", "cycle", "owner_team", "owner_user")
    raw_id_fields = ("cycle", "owner_team", "owner_user", "carried_from")
    readonly_fields = (*ENGINE_OUTPUT, "version", "created_at", "updated_at")


@admin.register(Alignment)
class AlignmentAdmin(admin.ModelAdmin[Alignment]):
    list_display = ("child", "parent_objective", "parent_key_result", "weight", "organization")
    list_filter = ("organization",)
    search_fields = ("child__key", "parent_objective__key", "parent_key_result__key")
    list_select_related = ("child", "parent_objective", "parent_key_result", "organization")
    raw_id_fields = ("child", "parent_objective", "parent_key_result")


@admin.register(KeyResult)
class KeyResultAdmin(admin.ModelAdmin[KeyResult]):
    list_display = (
        "title",
        "key",
        "objective",
        "kind",
        "start_value",
        "target_value",
        "current_value",
        "progress",
        "status",
        "confidence",
        "owner",
        "archived_at",
    )
    list_filter = ("kind", "status", "curve", "organization")
    search_fields = ("title", "key", "objective__key", "objective__title")
    list_select_related = ("objective", "owner")
    raw_id_fields = ("objective", "owner", "carried_from")
    # The current value changes only through check-ins; the rest is engine output.
    readonly_fields = (
        *ENGINE_OUTPUT,
        "current_value",
        "progress_raw",
        "confidence",
        "last_checkin_at",
        "version",
        "created_at",
        "updated_at",
    )


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """View only: no add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = (
        "key_result",
        "effective_date",
        "value",
        "confidence",
        "author",
        "source",
        "recorded_at",
        "corrects",
    )
    list_filter = ("source", "organization")
    search_fields = ("key_result__key", "key_result__title", "note", "idempotency_key")
    date_hierarchy = "effective_date"
    list_select_related = ("key_result", "author")


@admin.register(Retrospective)
class RetrospectiveAdmin(admin.ModelAdmin[Retrospective]):
    list_display = (
        "cycle",
        "objective",
        "key_result",
        "score",
        "grade",
        "grade_override",
        "reason_code",
        "skipped",
    )
    list_filter = ("grade", "reason_code", "skipped", "organization")
    search_fields = ("lessons", "objective__key", "key_result__key")
    list_select_related = ("cycle", "objective", "key_result")
    raw_id_fields = ("cycle", "objective", "key_result", "author")
