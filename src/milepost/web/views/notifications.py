"""Reminders and digests in the settings: a member's own channel, check-in day and chat
webhook (a card on the profile page, and its own page), and the organization's defaults (a
card on the organization settings page; admins change them)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from milepost.errors import DomainError, NotFound
from milepost.integrations.models import ChatWebhook
from milepost.integrations.notifications import (
    CHANNEL_LABELS,
    WEEKDAY_NAMES,
    effective_preference,
    recent_notifications,
    update_notification_defaults,
    update_notification_preferences,
)
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Role
from milepost.web.context import member_view
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_notifications import NotificationDefaultsForm, NotificationPreferencesForm
from milepost.web.htmx import render_page, safe_next


def _membership(actor: Actor) -> tuple[Membership, str]:
    """The actor's membership and their chat webhook's service ("" if none): one query."""
    if actor.user is None:
        raise NotFound("No user.")
    service = ChatWebhook.objects.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("user_id")
    ).values("service")[:1]
    membership = (
        Membership.objects.filter(
            organization_id=actor.organization_id, user=actor.user, archived_at__isnull=True
        )
        .annotate(chat_service=Subquery(service))
        .first()
    )
    if membership is None:
        raise NotFound("Organization not found.")
    return membership, str(getattr(membership, "chat_service", None) or "")


def preferences_context(
    actor: Actor, data: Any = None, form: NotificationPreferencesForm | None = None
) -> dict[str, Any]:
    """What the preferences card shows: the form, what applies now, the chat webhook's
    service (never its URL) and the latest reminders and digests."""
    membership, webhook_service = _membership(actor)
    organization = actor.organization
    if form is None:
        form = NotificationPreferencesForm(
            data,
            membership=membership,
            organization=organization,
            has_webhook=bool(webhook_service),
        )
    preference = effective_preference(membership, organization)
    chat_without_webhook = preference.channel == "chat" and not webhook_service
    return {
        "notification_form": form,
        "preference": preference,
        "channel_label": "Email (no chat webhook yet)"
        if chat_without_webhook
        else CHANNEL_LABELS[preference.channel],
        "weekday_label": WEEKDAY_NAMES[preference.weekday],
        "webhook_service": webhook_service,
        "recent": recent_notifications(actor.organization_id, membership.user_id),
    }


def defaults_context(
    actor: Actor, data: Any = None, form: NotificationDefaultsForm | None = None
) -> dict[str, Any]:
    if form is None:
        form = NotificationDefaultsForm(data, organization=actor.organization)
    if not actor.is_admin:
        for field in form.fields.values():
            field.disabled = True
    return {"defaults_form": form, "can_change_defaults": actor.is_admin}


@member_view
def notification_preferences(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The actor's own reminder settings; POST saves them."""
    if actor.user is None:
        raise NotFound("No user.")
    context = preferences_context(actor, request.POST if request.method == "POST" else None)
    form: NotificationPreferencesForm = context["notification_form"]
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                update_notification_preferences(
                    actor=actor,
                    channel=data["channel"] or "",
                    checkin_weekday=data["checkin_weekday"],
                    chat_url=data.get("chat_url") or None,
                    remove_chat_url=bool(data.get("remove_chat_url")),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Reminder settings saved.")
                fallback = reverse("web:notification-preferences")
                return HttpResponseRedirect(safe_next(request, fallback))
        context = preferences_context(actor, form=form)
    context["section"] = "profile"
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/notification_preferences.html", context, nav="settings", status=status
    )


@member_view
def notification_defaults(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The organization's default channel and check-in day (admins read and change them)."""
    actor.require(Role.ADMIN, "see the organization's notification defaults")
    context = defaults_context(actor, request.POST if request.method == "POST" else None)
    form: NotificationDefaultsForm = context["defaults_form"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            update_notification_defaults(
                actor=actor,
                channel=data["default_notification_channel"],
                checkin_weekday=data["default_checkin_weekday"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Notification defaults saved.")
            fallback = reverse("web:notification-defaults")
            return HttpResponseRedirect(safe_next(request, fallback))
    context["section"] = "organization"
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/notification_defaults.html", context, nav="settings", status=status
    )
