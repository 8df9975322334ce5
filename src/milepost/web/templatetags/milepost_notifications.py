"""``{% notification_preferences_card %}`` (profile settings) and
``{% notification_defaults_card %}`` (organization settings): reminder and digest settings."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from milepost.web.views.notifications import defaults_context, preferences_context

register = template.Library()


@register.inclusion_tag("web/includes/notification_preferences_card.html", takes_context=True)
def notification_preferences_card(context: template.Context) -> dict[str, Any]:
    """Needs ``web`` (the page's web context). The form posts to the preferences page and
    comes back to the page it is on."""
    data = preferences_context(context["web"].actor)
    request = context.get("request")
    data["next"] = request.path if request is not None else reverse("web:settings-profile")
    data["csrf_token"] = context.get("csrf_token")
    return data


@register.inclusion_tag("web/includes/notification_defaults_card.html", takes_context=True)
def notification_defaults_card(context: template.Context) -> dict[str, Any]:
    """Needs ``web``; admins change the defaults, others read them."""
    data = defaults_context(context["web"].actor)
    request = context.get("request")
    data["next"] = request.path if request is not None else reverse("web:organization-edit")
    data["csrf_token"] = context.get("csrf_token")
    return data
