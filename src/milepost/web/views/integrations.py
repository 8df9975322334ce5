"""Integrations pages: Settings → Integrations (allowed hosts, database connections), webhooks
with their delivery log, and a key result's data source (configure, run now, last status, and
a token for pushing values from a script)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from milepost.accounts.services import create_api_token
from milepost.errors import DomainError, NotFound
from milepost.integrations import services
from milepost.integrations.access import (
    access_allowed_host,
    access_data_source,
    access_database_connection,
    access_webhook_delivery,
    access_webhook_subscription,
    can_configure_data_source,
    can_manage_integrations,
    require_integrations_admin,
)
from milepost.integrations.models import (
    AllowedHost,
    DatabaseConnection,
    DataSource,
    DataSourceKind,
    DataSourceRun,
    WebhookSubscription,
)
from milepost.integrations.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER
from milepost.okrs.access import access_key_result, can_check_in
from milepost.organizations.access import Actor
from milepost.web.context import member_view
from milepost.web.forms_base import add_domain_error
from milepost.web.forms_integrations import (
    AllowedHostForm,
    DatabaseConnectionForm,
    DataSourceForm,
    WebhookForm,
)
from milepost.web.htmx import render_page, safe_next
from milepost.web.views.common import confirm_then

RUNS_SHOWN = 10
DELIVERIES_SHOWN = 50


# --- Settings → Integrations: allowed hosts and database connections --------------------------


def _settings_context(actor: Actor, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "hosts": list(AllowedHost.objects.filter(organization_id=actor.organization_id)),
        "connections": list(
            DatabaseConnection.objects.filter(
                organization_id=actor.organization_id, archived_at__isnull=True
            )
        ),
        "host_form": AllowedHostForm(),
        "connection_form": DatabaseConnectionForm(),
        "section": "integrations",
    }
    context.update(extra)
    return context


@member_view
def integration_settings(request: HttpRequest, actor: Actor) -> HttpResponse:
    require_integrations_admin(actor)
    return render_page(
        request, "web/integrations_settings.html", _settings_context(actor), nav="settings"
    )


@member_view
@require_POST
def allowed_host_add(request: HttpRequest, actor: Actor) -> HttpResponse:
    require_integrations_admin(actor)
    form = AllowedHostForm(request.POST)
    if form.is_valid():
        try:
            entry = services.add_allowed_host(
                actor=actor, host=form.cleaned_data["host"], note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{entry.host} is allowed.")
            return HttpResponseRedirect(reverse("web:integration-settings"))
    context = _settings_context(actor, host_form=form)
    return render_page(
        request, "web/integrations_settings.html", context, nav="settings", status=422
    )


@member_view
@require_POST
def allowed_host_remove(request: HttpRequest, actor: Actor, host_id: int) -> HttpResponse:
    entry = access_allowed_host(actor, host_id)
    services.remove_allowed_host(actor=actor, allowed_host=entry)
    messages.success(
        request, f"{entry.host} is no longer allowed; sources and webhooks calling it will fail."
    )
    return HttpResponseRedirect(reverse("web:integration-settings"))


@member_view
@require_POST
def db_connection_add(request: HttpRequest, actor: Actor) -> HttpResponse:
    require_integrations_admin(actor)
    form = DatabaseConnectionForm(request.POST)
    if form.is_valid():
        try:
            connection = services.create_database_connection(
                actor=actor,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Database “{connection.name}” added. Test it below.")
            return HttpResponseRedirect(reverse("web:integration-settings"))
    context = _settings_context(actor, connection_form=form)
    return render_page(
        request, "web/integrations_settings.html", context, nav="settings", status=422
    )


@member_view
@require_POST
def db_connection_test(request: HttpRequest, actor: Actor, connection_id: int) -> HttpResponse:
    connection = access_database_connection(actor, connection_id)
    problem = services.check_database_connection(actor=actor, connection=connection)
    if problem:
        messages.error(request, f"“{connection.name}” does not work: {problem}")
    else:
        messages.success(request, f"“{connection.name}” works (connected and ran SELECT 1).")
    return HttpResponseRedirect(reverse("web:integration-settings"))


@member_view
def db_connection_remove(request: HttpRequest, actor: Actor, connection_id: int) -> HttpResponse:
    connection = access_database_connection(actor, connection_id)
    back = reverse("web:integration-settings")
    return confirm_then(
        request,
        title=f"Remove the database “{connection.name}”?",
        body="SQL data sources can no longer use it. A connection still in use cannot be removed.",
        confirm_label="Remove database",
        cancel_url=back,
        action=lambda: services.archive_database_connection(actor=actor, connection=connection),
        done_message=f"Database “{connection.name}” removed.",
        done_url=back,
        nav="settings",
    )


# --- webhooks ----------------------------------------------------------------------------------


@member_view
def webhook_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    require_integrations_admin(actor)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.create_webhook_subscription(
                actor=actor,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Webhook created. Copy its signing secret below.")
            return HttpResponseRedirect(reverse("web:webhook-detail", args=[subscription.pk]))
    context = {
        "form": form,
        "subscriptions": list(
            WebhookSubscription.objects.filter(
                organization_id=actor.organization_id, archived_at__isnull=True
            )
        ),
        "section": "integrations",
    }
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/integrations_webhooks.html", context, nav="settings", status=status
    )


@member_view
def webhook_detail(request: HttpRequest, actor: Actor, subscription_id: int) -> HttpResponse:
    subscription = access_webhook_subscription(actor, subscription_id)
    initial = {
        "url": subscription.url,
        "description": subscription.description,
        "events": subscription.events,
    }
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_webhook_subscription(
                actor=actor,
                subscription=subscription,
                changes={
                    "url": form.cleaned_data["url"],
                    "events": form.cleaned_data["events"],
                    "description": form.cleaned_data["description"],
                },
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Webhook saved.")
            return HttpResponseRedirect(reverse("web:webhook-detail", args=[subscription.pk]))
    deliveries = list(subscription.deliveries.all()[:DELIVERIES_SHOWN])
    context = {
        "subscription": subscription,
        "form": form,
        "deliveries": deliveries,
        "signature_header": SIGNATURE_HEADER,
        "event_header": EVENT_HEADER,
        "delivery_header": DELIVERY_HEADER,
        "section": "integrations",
    }
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/integrations_webhook_detail.html", context, nav="settings", status=status
    )


@member_view
@require_POST
def webhook_state(request: HttpRequest, actor: Actor, subscription_id: int) -> HttpResponse:
    subscription = access_webhook_subscription(actor, subscription_id)
    if request.POST.get("state") == "paused":
        services.pause_webhook_subscription(actor=actor, subscription=subscription)
        messages.success(request, "Webhook paused: no events are sent or queued for it.")
    else:
        services.resume_webhook_subscription(actor=actor, subscription=subscription)
        messages.success(request, "Webhook resumed: new events are sent again.")
    return HttpResponseRedirect(reverse("web:webhook-detail", args=[subscription.pk]))


@member_view
@require_POST
def webhook_rotate(request: HttpRequest, actor: Actor, subscription_id: int) -> HttpResponse:
    subscription = access_webhook_subscription(actor, subscription_id)
    services.rotate_webhook_secret(actor=actor, subscription=subscription)
    messages.success(request, "New signing secret made; update the receiver now.")
    return HttpResponseRedirect(reverse("web:webhook-detail", args=[subscription.pk]))


@member_view
def webhook_delete(request: HttpRequest, actor: Actor, subscription_id: int) -> HttpResponse:
    subscription = access_webhook_subscription(actor, subscription_id)
    return confirm_then(
        request,
        title=f"Delete the webhook to {subscription.url}?",
        body="No more events are sent to it; deliveries still being tried are given up.",
        confirm_label="Delete webhook",
        cancel_url=reverse("web:webhook-detail", args=[subscription.pk]),
        action=lambda: services.archive_webhook_subscription(
            actor=actor, subscription=subscription
        ),
        done_message="Webhook deleted.",
        done_url=reverse("web:webhook-list"),
        nav="settings",
    )


@member_view
@require_POST
def webhook_redeliver(request: HttpRequest, actor: Actor, delivery_id: int) -> HttpResponse:
    delivery = access_webhook_delivery(actor, delivery_id)
    try:
        services.redeliver_webhook(actor=actor, delivery=delivery)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Queued again: the worker sends it within a minute.")
    return HttpResponseRedirect(reverse("web:webhook-detail", args=[delivery.subscription_id]))


# --- a key result's data source ----------------------------------------------------------------


def _initial(source: DataSource | None) -> dict[str, Any]:
    if source is None:
        return {"kind": DataSourceKind.HTTP_JSON, "enabled": True}
    names = (
        "kind",
        "url",
        "json_path",
        "csv_column",
        "csv_row_rule",
        "csv_match_column",
        "csv_match_value",
        "connection",
        "query",
        "schedule",
        "timeout_seconds",
        "enabled",
    )
    return {name: getattr(source, name) for name in names}


@member_view
def data_source_edit(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    """The key result's data source: its status and runs; the form for whoever may change it."""
    kr, source = access_data_source(actor, key_result_id)
    may_edit = can_configure_data_source(actor, kr, source.kind if source else "http_json")
    form = DataSourceForm(request.POST or None, actor=actor, initial=_initial(source))
    if not can_manage_integrations(actor):
        form.fields["kind"].choices = [  # type: ignore[attr-defined]
            c for c in DataSourceKind.choices if c[0] != DataSourceKind.SQL
        ]
        del form.fields["connection"], form.fields["query"]
    if request.method == "POST":
        kr = access_key_result(actor, key_result_id, write=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.configure_data_source(
                    actor=actor,
                    key_result=kr,
                    kind=data["kind"],
                    url=data["url"],
                    headers=data["headers"],
                    json_path=data["json_path"],
                    csv_column=data["csv_column"],
                    csv_row_rule=data["csv_row_rule"] or "last",
                    csv_match_column=data["csv_match_column"],
                    csv_match_value=data["csv_match_value"],
                    connection=data.get("connection"),
                    query=data.get("query") or "",
                    schedule=data["schedule"],
                    timeout_seconds=data["timeout_seconds"],
                    enabled=data["enabled"],
                )
            except DomainError as exc:
                if isinstance(exc, NotFound):
                    raise
                add_domain_error(form, exc)
            else:
                messages.success(
                    request, "Data source saved. Use “Run now” to try it, or wait for the worker."
                )
                return HttpResponseRedirect(reverse("web:data-source-edit", args=[kr.pk]))
    runs: list[DataSourceRun] = (
        list(source.runs.select_related("checkin")[:RUNS_SHOWN]) if source else []
    )
    context = {
        "kr": kr,
        "objective": kr.objective,
        "source": source,
        "runs": runs,
        "form": form if may_edit else None,
        "can_run": source is not None and can_check_in(actor, kr),
        "can_push": can_check_in(actor, kr) and actor.user is not None,
        "header_names": source.header_names() if source else [],
        "push_url": request.build_absolute_uri(f"/api/v1/key-results/{kr.pk}/check-ins"),
    }
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/integrations_data_source.html", context, nav="objectives", status=status
    )


@member_view
@require_POST
def data_source_run(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    kr, _source = access_data_source(actor, key_result_id, run=True)
    run = services.run_data_source_now(actor=actor, key_result=kr)
    if run.ok:
        messages.success(request, f"Ran the data source: {run.message or 'ok'}.")
    else:
        messages.error(request, f"The data source failed: {run.error}")
    return HttpResponseRedirect(safe_next(request, reverse("web:data-source-edit", args=[kr.pk])))


@member_view
def data_source_remove(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    kr, source = access_data_source(actor, key_result_id)
    if source is None:
        raise NotFound("This key result has no data source.")
    back = reverse("web:data-source-edit", args=[kr.pk])
    return confirm_then(
        request,
        title="Remove this key result's data source?",
        body="Its value is then only updated by check-ins. Past runs stay in the history.",
        confirm_label="Remove data source",
        cancel_url=back,
        action=lambda: services.remove_data_source(actor=actor, key_result=kr),
        done_message="Data source removed.",
        done_url=reverse("web:key-result-detail", args=[kr.pk]),
        nav="objectives",
    )


@member_view
@require_POST
def data_source_token(request: HttpRequest, actor: Actor, key_result_id: int) -> HttpResponse:
    """Make an API token that can only record this key result's check-ins (shown once)."""
    kr = access_key_result(actor, key_result_id, checkin=True)
    if actor.user is None:
        raise NotFound("No user.")
    try:
        _token, secret = create_api_token(
            actor=actor,
            user=actor.user,
            name=f"push to {kr.key}"[:100],
            role="member",
            key_result=kr,
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.detail)
        return HttpResponseRedirect(reverse("web:data-source-edit", args=[kr.pk]))
    context = {
        "kr": kr,
        "objective": kr.objective,
        "secret": secret,
        "push_url": request.build_absolute_uri(f"/api/v1/key-results/{kr.pk}/check-ins"),
    }
    return render_page(request, "web/integrations_push_token.html", context, nav="objectives")
