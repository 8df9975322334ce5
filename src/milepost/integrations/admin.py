"""Django admin for integrations (for operators; admins use Settings → Integrations).

Secrets (request headers, connection URLs, webhook secrets, chat webhook URLs) are never shown
or edited here, and runs, deliveries, finding fingerprints and scans, and notifications are
read-only records.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from milepost.integrations.models import (
    AllowedHost,
    ChatWebhook,
    DatabaseConnection,
    DataSource,
    DataSourceRun,
    FindingFingerprint,
    FindingScan,
    NotificationLog,
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


@admin.register(FindingScan)
class FindingScanAdmin(ReadOnlyAdmin):
    list_display = ("organization", "scanned_at")
    list_select_related = ("organization",)


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyAdmin):
    list_display = (
        "kind",
        "period_key",
        "organization",
        "user",
        "channel",
        "state",
        "attempts",
        "items",
        "created_at",
        "sent_at",
    )
    list_filter = ("kind", "state", "channel", "organization")
    search_fields = ("period_key", "user__email", "subject")
    list_select_related = ("organization", "user")
    date_hierarchy = "created_at"


@admin.register(ChatWebhook)
class ChatWebhookAdmin(ReadOnlyAdmin):
    # The URL is a secret (whoever has it can post to the channel): only the service shows.
    list_display = ("user", "organization", "service", "updated_at")
    list_filter = ("service", "organization")
    search_fields = ("user__email",)
    list_select_related = ("organization", "user")
    exclude = ("url",)
