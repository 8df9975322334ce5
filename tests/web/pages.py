"""Every page of the web app for a plan, as (name, url) pairs."""

from __future__ import annotations

from django.urls import reverse

from tests.web.builders import Plan


def page_urls(plan: Plan) -> list[tuple[str, str]]:
    o, kr, i = plan.objective, plan.key_result, plan.initiative
    return [
        ("home", reverse("web:home")),
        ("home-findings", reverse("web:home-findings")),
        ("dashboard", reverse("web:dashboard")),
        ("dashboard-team", reverse("web:dashboard") + f"?team={plan.team.pk}"),
        ("alignment", reverse("web:alignment-tree")),
        ("alignment-children", reverse("web:alignment-children", args=[plan.cycle.pk, "0"])),
        ("objectives", reverse("web:objective-list")),
        ("objectives-archived", reverse("web:objective-list") + "?archived=1"),
        ("objective", reverse("web:objective-detail", args=[o.pk])),
        ("key-result", reverse("web:key-result-detail", args=[kr.pk])),
        ("roadmap", reverse("web:roadmap")),
        ("roadmap-team-week", reverse("web:roadmap") + "?group=team&zoom=week"),
        ("roadmap-quarter", reverse("web:roadmap") + "?zoom=quarter"),
        ("initiatives", reverse("web:initiative-list")),
        ("initiative", reverse("web:initiative-detail", args=[i.pk])),
        ("initiative-panel", reverse("web:initiative-panel", args=[i.pk])),
        ("health", reverse("web:plan-health")),
        ("priorities", reverse("web:priorities")),
        ("settings", reverse("web:settings-profile")),
        ("tokens", reverse("web:token-list")),
        ("teams", reverse("web:team-list")),
        ("cycles", reverse("web:cycle-list")),
    ]


def form_urls(plan: Plan) -> list[tuple[str, str]]:
    """Create and edit forms a member who owns the plan's items may open."""
    o, kr, i = plan.objective, plan.key_result, plan.initiative
    return [
        ("objective-create", reverse("web:objective-create")),
        ("objective-edit", reverse("web:objective-edit", args=[o.pk])),
        ("objective-align", reverse("web:objective-align", args=[o.pk])),
        ("key-result-create", reverse("web:key-result-create") + f"?objective={o.pk}"),
        ("key-result-edit", reverse("web:key-result-edit", args=[kr.pk])),
        ("initiative-create", reverse("web:initiative-create")),
        ("initiative-edit", reverse("web:initiative-edit", args=[i.pk])),
        ("initiative-status", reverse("web:initiative-status", args=[i.pk])),
        ("initiative-link", reverse("web:initiative-link", args=[i.pk])),
        ("milestone-create", reverse("web:milestone-create", args=[i.pk])),
        ("dependency-create", reverse("web:dependency-create", args=[i.pk])),
        ("task-create", reverse("web:task-create", args=[i.pk])),
        ("time-entry-create", reverse("web:time-entry-create", args=[i.pk])),
        ("objective-archive", reverse("web:objective-archive", args=[o.pk])),
        ("key-result-archive", reverse("web:key-result-archive", args=[kr.pk])),
        ("initiative-archive", reverse("web:initiative-archive", args=[i.pk])),
    ]
