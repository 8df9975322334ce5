"""Django admin for the roadmap: initiatives (with their key-result links and milestones
inline), links, milestones and dependencies.

The admin is an operator's tool; it writes rows directly (no service, no audit event), so
inline rows take their organization from the initiative they are edited under.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import BaseModelFormSet
from django.http import HttpRequest

from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone


class InitiativeKeyResultInline(admin.TabularInline[InitiativeKeyResult, Initiative]):
    model = InitiativeKeyResult
    fk_name = "initiative"
    fields = ("key_result", "weight", "expected_impact", "archived_at")
    raw_id_fields = ("key_result",)
    extra = 0


class MilestoneInline(admin.TabularInline[Milestone, Initiative]):
    model = Milestone
    fk_name = "initiative"
    fields = ("key", "name", "date", "done_on", "key_result", "weight", "archived_at")
    raw_id_fields = ("key_result",)
    extra = 0


@admin.register(Initiative)
class InitiativeAdmin(admin.ModelAdmin[Initiative]):
    list_display = ("key", "title", "organization", "team", "status", "start_date", "end_date")
    list_filter = ("status", "organization")
    search_fields = ("key", "title")
    raw_id_fields = ("organization", "team", "owner", "cycle")
    readonly_fields = ("version", "created_at", "updated_at", "closed_at")
    inlines = (InitiativeKeyResultInline, MilestoneInline)
    list_select_related = ("organization", "team")

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseModelFormSet[Any, Any], change: bool
    ) -> None:
        for row in formset.save(commit=False):
            if getattr(row, "organization_id", None) is None:
                row.organization_id = form.instance.organization_id
            row.save()
        for row in formset.deleted_objects:
            row.delete()
        formset.save_m2m()


@admin.register(InitiativeKeyResult)
class InitiativeKeyResultAdmin(admin.ModelAdmin[InitiativeKeyResult]):
    list_display = ("initiative", "key_result", "weight", "organization")
    list_filter = ("organization",)
    search_fields = ("initiative__key", "key_result__key")
    raw_id_fields = ("organization", "initiative", "key_result")
    list_select_related = ("initiative", "key_result", "organization")


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin[Milestone]):
    list_display = ("key", "name", "date", "done_on", "initiative", "organization")
    list_filter = ("organization",)
    search_fields = ("key", "name")
    raw_id_fields = ("organization", "initiative", "key_result")
    readonly_fields = ("version", "created_at", "updated_at")
    list_select_related = ("initiative", "organization")


@admin.register(Dependency)
class DependencyAdmin(admin.ModelAdmin[Dependency]):
    list_display = ("pk", "predecessor", "successor", "type", "lag_days", "organization")
    list_filter = ("type", "organization")
    raw_id_fields = (
        "organization",
        "predecessor_initiative",
        "predecessor_milestone",
        "successor_initiative",
        "successor_milestone",
    )
    list_select_related = (
        "organization",
        "predecessor_initiative",
        "predecessor_milestone",
        "successor_initiative",
        "successor_milestone",
    )

    @admin.display(description="predecessor")
    def predecessor(self, obj: Dependency) -> str:
        return obj.predecessor_key

    @admin.display(description="successor")
    def successor(self, obj: Dependency) -> str:
        return obj.successor_key
