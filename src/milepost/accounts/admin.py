"""Django admin for people and API tokens.

Passwords are set with `milepost createuser` / `manage.py changepassword`, never shown here;
an API token's secret is shown once at creation (by the app) and only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from milepost.accounts.models import ApiToken, User
from milepost.accounts.signin import unlock_user_as_site_admin


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ("email", "full_name", "is_active", "is_staff", "locked_at", "last_seen_at")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    exclude = ("password",)
    readonly_fields = ("last_login", "date_joined", "last_seen_at", "failed_logins", "locked_at")
    filter_horizontal = ("groups", "user_permissions")
    actions = ("unlock_accounts",)

    @admin.action(description="Unlock sign-in of the selected people", permissions=["change"])
    def unlock_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Unlock accounts locked by repeated failed sign-ins (superusers; audited)."""
        if not request.user.is_superuser:
            self.message_user(request, "Only superusers unlock accounts.", messages.ERROR)
            return
        admin_user: User = request.user
        unlocked = 0
        for user in queryset.filter(locked_at__isnull=False):
            unlock_user_as_site_admin(admin=admin_user, user=user)
            unlocked += 1
        self.message_user(request, f"{unlocked} account(s) unlocked.", messages.SUCCESS)


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
