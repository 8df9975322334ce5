"""Template filters and tags for the web app (see `milepost.web.format`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from milepost.web import format as fmt
from milepost.web import selection

register = template.Library()


@register.filter
def pct(value: Any) -> str:
    return fmt.percent(value)


@register.filter
def num(value: Any, places: int | None = None) -> str:
    """A number without trailing zeros; ``|num:2`` rounds to at most 2 decimals."""
    return fmt.number(value, places)


@register.filter
def money(value: Any) -> str:
    return fmt.money(value)


@register.filter
def words(value: Any) -> str:
    return fmt.label(value)


@register.filter
def action_words(value: Any) -> str:
    return fmt.describe_action(str(value or ""))


@register.filter
def event_label(value: Any) -> str:
    return fmt.event_label(str(value or ""))


@register.filter
def status_badge(value: Any) -> SafeString:
    return fmt.status_badge(str(value or "not_started"))


@register.filter
def severity_badge(value: Any) -> SafeString:
    return fmt.severity_badge(str(value or "info"))


@register.simple_tag
def progress_bar(progress: Any, expected: Any = None, status: str = "") -> SafeString:
    return fmt.progress_bar(progress, expected, status)


@register.simple_tag
def team_options(teams: Any, chosen: Any = None) -> SafeString:
    return selection.team_options(teams, chosen)


@register.filter
def confidence(value: Any) -> str:
    return "—" if value is None else f"{value}/10"


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if mapping is None:
        return None
    return mapping.get(key)
