"""Django admin for tasks and time entries (an operator's tool: direct writes, no audit)."""

from __future__ import annotations

from django.contrib import admin

from milepost.work.models import Task, TimeEntry


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin[Task]):
    list_display = ("title", "initiative", "assignee", "status", "due_date", "organization")
    list_filter = ("status", "organization")
    search_fields = ("title", "key", "initiative__key")
    raw_id_fields = ("organization", "initiative", "assignee")
    readonly_fields = ("version", "created_at", "updated_at", "done_at")
    list_select_related = ("initiative", "assignee", "organization")


@admin.register(TimeEntry)
class TimeEntryAdmin(admin.ModelAdmin[TimeEntry]):
    list_display = ("date", "user", "hours", "cost", "task", "initiative", "organization")
    list_filter = ("organization",)
    search_fields = ("user__email", "task__title", "initiative__key")
    date_hierarchy = "date"
    raw_id_fields = ("organization", "task", "initiative", "user")
    readonly_fields = ("version", "created_at", "updated_at")
    list_select_related = ("user", "task", "initiative", "organization")
