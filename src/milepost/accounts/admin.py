"""Django admin for people and API tokens.

Passwords are set with `milepost createuser` / `manage.py changepassword`, never shown here;
an API token's secret is shown once at creation (by the app) and only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from milepost.accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ("email", "full_name", "is_active", "is_staff", "locked_at", "last_seen_at")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    exclude = ("password",)
    readonly_fields = ("last_login", "date_joined", "last_seen_at", "failed_logins")
    filter_horizontal = ("groups", "user_permissions")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "prefix", "user", "organization", "role", "expires_at", "revoked_at")
    list_filter = ("role", "organization")
    search_fields = ("name", "prefix", "user__email")
    list_select_related = ("user", "organization")
    raw_id_fields = ("user", "key_result")
    exclude = ("token_hash",)
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token's secret must be shown to its owner once: the app creates them
