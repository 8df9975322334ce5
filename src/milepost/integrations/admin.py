"""Django admin for integrations (for operators; admins use Settings → Integrations).

Secrets (request headers, connection URLs, webhook secrets) are never shown or edited here,
and runs, deliveries and finding fingerprints are read-only records.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from milepost.integrations.models import (
    AllowedHost,
    DatabaseConnection,
    DataSource,
    DataSourceRun,
    FindingFingerprint,
    WebhookDelivery,
    WebhookSubscription,
)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AllowedHost)
class AllowedHostAdmin(admin.ModelAdmin[AllowedHost]):
    list_display = ("host", "organization", "note", "created_at")
    list_filter = ("organization",)
    search_fields = ("host", "note")
    list_select_related = ("organization",)
    readonly_fields = ("version", "created_at", "updated_at")


@admin.register(DatabaseConnection)
class DatabaseConnectionAdmin(ReadOnlyAdmin):
    list_display = ("name", "organization", "note", "archived_at")
    list_filter = ("organization",)
    search_fields = ("name",)
    exclude = ("url",)


@admin.register(DataSource)
class DataSourceAdmin(ReadOnlyAdmin):
    list_display = (
        "key_result",
        "organization",
        "kind",
        "schedule",
        "enabled",
        "last_status",
        "last_run_at",
        "consecutive_failures",
        "next_run_at",
    )
    list_filter = ("kind", "last_status", "schedule", "enabled", "organization")
    list_select_related = ("organization", "key_result")
    exclude = ("headers",)


@admin.register(DataSourceRun)
class DataSourceRunAdmin(ReadOnlyAdmin):
    list_display = ("data_source", "started_at", "ok", "value", "error", "trigger")
    list_filter = ("ok", "trigger", "organization")
    date_hierarchy = "started_at"


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("url", "organization", "state", "consecutive_failures", "archived_at")
    list_filter = ("state", "organization")
    search_fields = ("url", "description")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "event",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "organization")
    date_hierarchy = "created_at"


@admin.register(FindingFingerprint)
class FindingFingerprintAdmin(ReadOnlyAdmin):
    list_display = ("code", "fingerprint", "organization", "first_seen_at")
    list_filter = ("code", "organization")
