"""Django admin for organizations, memberships and teams (operators' tool)."""

from __future__ import annotations

from django.contrib import admin

from milepost.organizations.models import Membership, Organization, Team, TeamMember


class MembershipInline(admin.TabularInline[Membership, Organization]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "archived_at")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ("name", "slug", "timezone", "rollup_mode", "created_at", "archived_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "organization", "role", "archived_at")
    list_filter = ("role", "organization")
    search_fields = ("user__email", "user__full_name", "organization__name")
    list_select_related = ("user", "organization")
    raw_id_fields = ("user",)


class TeamMemberInline(admin.TabularInline[TeamMember, Team]):
    model = TeamMember
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "organization")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "key", "organization", "parent", "capacity_days_per_week", "lead")
    list_filter = ("organization",)
    search_fields = ("name", "key")
    list_select_related = ("organization", "parent", "lead")
    raw_id_fields = ("parent", "lead")
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = (TeamMemberInline,)


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin[TeamMember]):
    list_display = ("user", "team", "organization")
    list_filter = ("organization",)
    search_fields = ("user__email", "team__name", "team__key")
    list_select_related = ("user", "team", "organization")
    raw_id_fields = ("user", "team")
