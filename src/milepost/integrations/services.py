"""Writes for integrations: allowed hosts, database connections, data sources, webhooks.

Every service is keyword-only, takes an explicit `actor`, runs in one transaction and writes an
audit event — with secrets left out (a header's *name* is audited, never its value; a
connection URL or webhook secret is audited as "changed"). Bad input raises `InvalidInput`
naming every field at fault and writes nothing. Who may do what: `milepost.integrations.access`.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from milepost.audit.services import record_event, snapshot
from milepost.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from milepost.integrations import datasources, webhooks
from milepost.integrations.access import (
    can_configure_data_source,
    can_manage_integrations,
    require_integrations_admin,
)
from milepost.integrations.models import (
    WEBHOOK_EVENTS,
    AllowedHost,
    CsvRowRule,
    DatabaseConnection,
    DataSource,
    DataSourceKind,
    DataSourceRun,
    DeliveryStatus,
    Schedule,
    SubscriptionState,
    WebhookDelivery,
    WebhookSubscription,
)
from milepost.integrations.outbound import allowed_hosts, host_allowed, normalize_host
from milepost.okrs.access import can_check_in
from milepost.okrs.models import KeyResult
from milepost.okrs.validation import FieldErrors, require_in_org
from milepost.organizations.access import Actor
from milepost.servicekit import invalid_from

__all__ = [
    "add_allowed_host",
    "archive_database_connection",
    "archive_webhook_subscription",
    "check_database_connection",
    "configure_data_source",
    "create_database_connection",
    "create_webhook_subscription",
    "pause_webhook_subscription",
    "redeliver_webhook",
    "remove_allowed_host",
    "remove_data_source",
    "resume_webhook_subscription",
    "rotate_webhook_secret",
    "run_data_source_now",
    "update_database_connection",
    "update_webhook_subscription",
]

# Header names are RFC 9110 tokens; values one line.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
RUN_NOW_MAX_SECONDS = 30
DATA_SOURCE_FIELDS = (
    "kind",
    "url",
    "json_path",
    "csv_column",
    "csv_row_rule",
    "csv_match_column",
    "csv_match_value",
    "connection_id",
    "query",
    "schedule",
    "timeout_seconds",
    "enabled",
    "archived_at",
)


def _save(instance: Model) -> None:
    """Validate and save; InvalidInput naming the fields (constraints included)."""
    from django.core.exceptions import ValidationError

    try:
        instance.full_clean()
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise Conflict(f"The change conflicts with existing data: {exc}") from exc


def _check_http_url(errors: FieldErrors, name: str, url: str, allowed: Iterable[str]) -> None:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        _ = parts.port
    except ValueError:
        errors.add(name, "is not a valid URL")
        return
    if parts.scheme not in {"http", "https"} or not hostname:
        errors.add(name, "must be an http:// or https:// URL")
        return
    if parts.username or parts.password:
        errors.add(name, "must not hold a user name or password (use a header instead)")
        return
    if not host_allowed(url, allowed):
        errors.add(
            name,
            f"the host {parts.netloc} is not on the list of allowed hosts (an admin adds it "
            "under Settings → Integrations)",
        )


# --- allowed hosts -----------------------------------------------------------------------------


@transaction.atomic
def add_allowed_host(*, actor: Actor, host: str, note: str = "") -> AllowedHost:
    """Allow data sources and webhooks to call `host` (admins). See `AllowedHost` for the
    forms an entry takes. Adding a host already listed is refused."""
    require_integrations_admin(actor)
    try:
        value = normalize_host(host)
    except ValueError as exc:
        raise InvalidInput.field("host", f"must be {exc}") from exc
    entry = AllowedHost(organization_id=actor.organization_id, host=value, note=note.strip())
    _save(entry)
    record_event(actor=actor, action="allowedhost.create", target=entry, after=snapshot(entry))
    return entry


@transaction.atomic
def remove_allowed_host(*, actor: Actor, allowed_host: AllowedHost) -> None:
    """Stop allowing a host. Data sources and webhooks that call it fail from then on (the
    failure says the host is not allowed)."""
    require_integrations_admin(actor)
    require_in_org(actor, allowed_host, "Allowed host")
    record_event(
        actor=actor,
        action="allowedhost.delete",
        target=allowed_host,
        before=snapshot(allowed_host),
    )
    AllowedHost.objects.filter(pk=allowed_host.pk).delete()


# --- database connections ----------------------------------------------------------------------


def _check_connection_url(errors: FieldErrors, url: str) -> None:
    scheme = url.partition(":")[0].lower()
    if scheme in {"postgres", "postgresql", "pgsql"}:
        try:
            parts = urlsplit(url)
        except ValueError:
            errors.add("url", "is not a valid URL")
            return
        if not parts.hostname or not parts.path.strip("/"):
            errors.add("url", "must name a host and a database: postgres://user:pw@host:5432/db")
    elif scheme == "sqlite":
        try:
            datasources._sqlite_path(url)
        except datasources.DataSourceError as exc:
            errors.add("url", str(exc))
    else:
        errors.add("url", "must start with postgres:// or sqlite:///")


def _connection_audit(connection: DatabaseConnection) -> dict[str, Any]:
    return snapshot(connection, ["id", "name", "note", "archived_at"])


@transaction.atomic
def create_database_connection(
    *, actor: Actor, name: str, url: str, note: str = ""
) -> DatabaseConnection:
    """Add a database that SQL data sources can read (admins). The URL is stored encrypted;
    give it a database user that may only read what the sources need."""
    require_integrations_admin(actor)
    errors = FieldErrors()
    if not name.strip():
        errors.add("name", "is required")
    _check_connection_url(errors, url.strip())
    errors.raise_if_any()
    connection = DatabaseConnection(
        organization_id=actor.organization_id, name=name.strip(), url=url.strip(), note=note
    )
    _save(connection)
    record_event(
        actor=actor,
        action="databaseconnection.create",
        target=connection,
        after=_connection_audit(connection),
    )
    return connection


@transaction.atomic
def update_database_connection(
    *, actor: Actor, connection: DatabaseConnection, changes: Mapping[str, Any]
) -> DatabaseConnection:
    """Change a connection's name, note or URL (an empty URL keeps the stored one)."""
    require_integrations_admin(actor)
    require_in_org(actor, connection, "Database connection")
    unknown = set(changes) - {"name", "url", "note"}
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "cannot be changed here")
    locked = DatabaseConnection.objects.select_for_update().get(pk=connection.pk)
    before = _connection_audit(locked)
    errors = FieldErrors()
    if "name" in changes:
        if not str(changes["name"]).strip():
            errors.add("name", "is required")
        locked.name = str(changes["name"]).strip()
    if "note" in changes:
        locked.note = str(changes["note"])
    url_changed = bool(str(changes.get("url") or "").strip())
    if url_changed:
        _check_connection_url(errors, str(changes["url"]).strip())
        locked.url = str(changes["url"]).strip()
    errors.raise_if_any()
    locked.version += 1
    _save(locked)
    after = _connection_audit(locked)
    if url_changed:
        after["url"] = "(changed)"
    record_event(
        actor=actor,
        action="databaseconnection.update",
        target=locked,
        before=before,
        after=after,
    )
    return locked


@transaction.atomic
def archive_database_connection(
    *, actor: Actor, connection: DatabaseConnection
) -> DatabaseConnection:
    """Remove a connection; refused while a data source uses it (`Conflict` naming them)."""
    require_integrations_admin(actor)
    require_in_org(actor, connection, "Database connection")
    users = list(
        DataSource.objects.filter(connection=connection, archived_at__isnull=True)
        .select_related("key_result")
        .order_by("key_result__key")
    )
    if users:
        names = ", ".join(s.key_result.title for s in users[:5])
        raise Conflict(f"These key results' data sources use this connection: {names}.")
    if connection.archived_at is None:
        connection.archived_at = timezone.now()
        connection.version += 1
        connection.save(update_fields=["archived_at", "version", "updated_at"])
        record_event(actor=actor, action="databaseconnection.archive", target=connection)
    return connection


def check_database_connection(*, actor: Actor, connection: DatabaseConnection) -> str:
    """Connect and run ``SELECT 1`` read-only: "" if it works, else why not. Writes nothing."""
    require_integrations_admin(actor)
    require_in_org(actor, connection, "Database connection")
    try:
        datasources.run_query(connection, "SELECT 1", 5.0)
    except datasources.DataSourceError as exc:
        return str(exc)
    return ""


# --- data sources ------------------------------------------------------------------------------


def _clean_headers(errors: FieldErrors, headers: Mapping[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name, value in headers.items():
        name = str(name).strip()
        text = str(value).strip()
        if not _HEADER_NAME.match(name):
            errors.add("headers", f"{name!r} is not a valid header name")
        elif "\r" in text or "\n" in text:
            errors.add("headers", f"the value of {name} must be one line")
        else:
            cleaned[name] = text
    return cleaned


def _check_source(errors: FieldErrors, actor: Actor, source: DataSource) -> None:
    kind = source.kind
    if kind not in DataSourceKind.values:
        errors.add("kind", "must be http_json, csv_url or sql")
        return
    if source.schedule not in Schedule.values:
        errors.add("schedule", "must be hourly, daily or weekly")
    if kind in (DataSourceKind.HTTP_JSON, DataSourceKind.CSV_URL):
        if not source.url:
            errors.add("url", "is required")
        else:
            _check_http_url(errors, "url", source.url, allowed_hosts(actor.organization_id))
    if kind == DataSourceKind.HTTP_JSON:
        _check_json_path(errors, source.json_path)
    if kind == DataSourceKind.CSV_URL:
        if not source.csv_column.strip():
            errors.add("csv_column", "is required: the column that holds the value")
        if source.csv_row_rule not in CsvRowRule.values:
            errors.add("csv_row_rule", "must be last or match")
        elif source.csv_row_rule == CsvRowRule.MATCH:
            if not source.csv_match_column.strip():
                errors.add("csv_match_column", "is required to pick the row")
            if not source.csv_match_value.strip():
                errors.add("csv_match_value", "is required to pick the row")
    if kind == DataSourceKind.SQL:
        connection = source.connection
        if (
            connection is None
            or connection.organization_id != actor.organization_id
            or connection.archived_at is not None
        ):
            errors.add("connection", "choose a database connection")
        if not source.query.strip():
            errors.add("query", "is required: a SELECT whose first column is the value")


def _check_json_path(errors: FieldErrors, json_path: str) -> None:
    if not json_path.strip():
        errors.add("json_path", "is required, e.g. $.data.total")
        return
    try:
        datasources.compile_json_path(json_path)
    except datasources.DataSourceError as exc:
        errors.add("json_path", str(exc).removeprefix("the "))


def _source_audit(source: DataSource) -> dict[str, Any]:
    data = snapshot(source, DATA_SOURCE_FIELDS)
    data["header_names"] = source.header_names()
    return data


@transaction.atomic
def configure_data_source(
    *,
    actor: Actor,
    key_result: KeyResult,
    kind: str,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    json_path: str = "",
    csv_column: str = "",
    csv_row_rule: str = CsvRowRule.LAST,
    csv_match_column: str = "",
    csv_match_value: str = "",
    connection: DatabaseConnection | None = None,
    query: str = "",
    schedule: str = Schedule.DAILY,
    timeout_seconds: int = 10,
    enabled: bool = True,
) -> DataSource:
    """Give a key result a data source, or change it (one per key result; a removed one is
    brought back). `headers` None keeps the stored headers; a mapping replaces them (stored
    encrypted). The URL's host must be allowed. The source runs at the worker's next pass,
    then on its schedule. Whoever may change the key result configures it; SQL: admins."""
    require_in_org(actor, key_result, "Key result")
    if not can_configure_data_source(actor, key_result, kind):
        raise PermissionDenied(
            "Only admins configure SQL data sources."
            if kind == DataSourceKind.SQL
            else "You may only configure data sources of key results you may change."
        )
    existing = DataSource.objects.select_for_update().filter(key_result=key_result).first()
    if (
        existing is not None
        and existing.kind == DataSourceKind.SQL
        and existing.archived_at is None
        and not can_manage_integrations(actor)
    ):
        raise PermissionDenied("Only admins change an SQL data source.")
    before = _source_audit(existing) if existing is not None else None
    source = existing or DataSource(organization_id=actor.organization_id, key_result=key_result)
    errors = FieldErrors()
    source.kind = kind
    source.url = url.strip()
    if headers is not None:
        cleaned = _clean_headers(errors, headers)
        source.headers = json.dumps(cleaned, sort_keys=True) if cleaned else ""
    source.json_path = json_path.strip()
    source.csv_column = csv_column.strip()
    source.csv_row_rule = csv_row_rule
    source.csv_match_column = csv_match_column.strip()
    source.csv_match_value = csv_match_value.strip()
    source.connection = connection if kind == DataSourceKind.SQL else None
    source.query = query.strip() if kind == DataSourceKind.SQL else ""
    source.schedule = schedule
    source.timeout_seconds = timeout_seconds
    source.enabled = enabled
    source.archived_at = None
    source.next_run_at = timezone.now()
    _check_source(errors, actor, source)
    errors.raise_if_any()
    if existing is not None:
        source.version += 1
    _save(source)
    record_event(
        actor=actor,
        action="datasource.configure",
        target=source,
        target_label=f"data source of {key_result.title}"[:300],
        before=before,
        after=_source_audit(source),
    )
    return source


@transaction.atomic
def remove_data_source(*, actor: Actor, key_result: KeyResult) -> None:
    """Remove the key result's data source (archived: its runs stay)."""
    require_in_org(actor, key_result, "Key result")
    source = (
        DataSource.objects.select_for_update()
        .filter(key_result=key_result, archived_at__isnull=True)
        .first()
    )
    if source is None:
        raise NotFound("This key result has no data source.")
    if not can_configure_data_source(actor, key_result, source.kind):
        raise PermissionDenied("You may not remove this data source.")
    source.archived_at = timezone.now()
    source.enabled = False
    source.version += 1
    source.save(update_fields=["archived_at", "enabled", "version", "updated_at"])
    record_event(actor=actor, action="datasource.archive", target=source)


def run_data_source_now(*, actor: Actor, key_result: KeyResult) -> DataSourceRun:
    """Run the key result's data source at once (whoever may check in on it), with a
    timeout of at most `RUN_NOW_MAX_SECONDS`; the run is recorded like a scheduled one and the
    schedule restarts from now."""
    require_in_org(actor, key_result, "Key result")
    if not can_check_in(actor, key_result):
        raise PermissionDenied("You may not check in on this key result.")
    source = (
        DataSource.objects.filter(key_result=key_result, archived_at__isnull=True)
        .select_related("key_result__organization", "connection")
        .first()
    )
    if source is None:
        raise NotFound("This key result has no data source.")
    return datasources.run_data_source(
        source,
        trigger="manual",
        timeout=min(source.timeout_seconds, RUN_NOW_MAX_SECONDS),
    )


# --- webhooks ----------------------------------------------------------------------------------


def _clean_events(errors: FieldErrors, events: Iterable[str]) -> list[str]:
    chosen = sorted({str(e) for e in events})
    unknown = [e for e in chosen if e not in WEBHOOK_EVENTS]
    if unknown:
        errors.add("events", f"unknown events: {', '.join(unknown)}")
    if not chosen:
        errors.add("events", "choose at least one event")
    return [e for e in chosen if e in WEBHOOK_EVENTS]


def _subscription_audit(subscription: WebhookSubscription) -> dict[str, Any]:
    return snapshot(subscription, ["id", "url", "description", "events", "state", "archived_at"])


def new_webhook_secret() -> str:
    """A fresh signing secret (32 random bytes, url-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)


@transaction.atomic
def create_webhook_subscription(
    *,
    actor: Actor,
    url: str,
    events: Iterable[str],
    description: str = "",
    secret: str | None = None,
) -> WebhookSubscription:
    """Subscribe a URL (on an allowed host) to events (admins). Without `secret` a random one
    is made; it is stored encrypted and shown to admins on the webhook's page."""
    require_integrations_admin(actor)
    errors = FieldErrors()
    url = url.strip()
    _check_http_url(errors, "url", url, allowed_hosts(actor.organization_id))
    chosen = _clean_events(errors, events)
    if secret is not None and len(secret.strip()) < 16:
        errors.add("secret", "must be at least 16 characters")
    errors.raise_if_any()
    subscription = WebhookSubscription(
        organization_id=actor.organization_id,
        url=url,
        events=chosen,
        description=description.strip(),
        secret=(secret or "").strip() or new_webhook_secret(),
    )
    _save(subscription)
    record_event(
        actor=actor,
        action="webhooksubscription.create",
        target=subscription,
        after=_subscription_audit(subscription),
    )
    return subscription


@transaction.atomic
def update_webhook_subscription(
    *, actor: Actor, subscription: WebhookSubscription, changes: Mapping[str, Any]
) -> WebhookSubscription:
    """Change a subscription's URL, events or description."""
    require_integrations_admin(actor)
    require_in_org(actor, subscription, "Webhook")
    unknown = set(changes) - {"url", "events", "description"}
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "cannot be changed here")
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = _subscription_audit(locked)
    errors = FieldErrors()
    if "url" in changes:
        locked.url = str(changes["url"]).strip()
        _check_http_url(errors, "url", locked.url, allowed_hosts(actor.organization_id))
    if "events" in changes:
        locked.events = _clean_events(errors, changes["events"])
    if "description" in changes:
        locked.description = str(changes["description"]).strip()
    errors.raise_if_any()
    locked.version += 1
    _save(locked)
    record_event(
        actor=actor,
        action="webhooksubscription.update",
        target=locked,
        before=before,
        after=_subscription_audit(locked),
    )
    return locked


@transaction.atomic
def rotate_webhook_secret(
    *, actor: Actor, subscription: WebhookSubscription
) -> WebhookSubscription:
    """Replace the signing secret with a new random one (pending retries are signed with
    the new one)."""
    require_integrations_admin(actor)
    require_in_org(actor, subscription, "Webhook")
    subscription.secret = new_webhook_secret()
    subscription.version += 1
    subscription.save(update_fields=["secret", "version", "updated_at"])
    record_event(
        actor=actor,
        action="webhooksubscription.rotate_secret",
        target=subscription,
        after={"secret": "(changed)"},
    )
    return subscription


def _set_state(
    actor: Actor, subscription: WebhookSubscription, state: str, action: str
) -> WebhookSubscription:
    require_integrations_admin(actor)
    require_in_org(actor, subscription, "Webhook")
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.state == state:
        return locked
    now = timezone.now()
    locked.state = state
    locked.consecutive_failures = 0
    if state == SubscriptionState.PAUSED:
        locked.paused_at = now
        locked.pause_reason = f"paused by {actor.label}"
        WebhookDelivery.objects.filter(subscription=locked, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None
        )
    else:
        locked.paused_at = None
        locked.pause_reason = ""
    locked.version += 1
    locked.save()
    record_event(actor=actor, action=action, target=locked, after={"state": state})
    for name in ("state", "consecutive_failures", "paused_at", "pause_reason", "version"):
        setattr(subscription, name, getattr(locked, name))
    return locked


@transaction.atomic
def pause_webhook_subscription(
    *, actor: Actor, subscription: WebhookSubscription
) -> WebhookSubscription:
    """Stop sending events to the URL; pending deliveries are given up."""
    return _set_state(actor, subscription, SubscriptionState.PAUSED, "webhooksubscription.pause")


@transaction.atomic
def resume_webhook_subscription(
    *, actor: Actor, subscription: WebhookSubscription
) -> WebhookSubscription:
    """Send events again (from now on; given-up deliveries can be redelivered one by one)."""
    return _set_state(actor, subscription, SubscriptionState.ACTIVE, "webhooksubscription.resume")


@transaction.atomic
def archive_webhook_subscription(
    *, actor: Actor, subscription: WebhookSubscription
) -> WebhookSubscription:
    """Delete a webhook (archived; its delivery log stays for the audit)."""
    require_integrations_admin(actor)
    require_in_org(actor, subscription, "Webhook")
    if subscription.archived_at is None:
        subscription.archived_at = timezone.now()
        subscription.version += 1
        subscription.save(update_fields=["archived_at", "version", "updated_at"])
        WebhookDelivery.objects.filter(
            subscription=subscription, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        record_event(actor=actor, action="webhooksubscription.archive", target=subscription)
    return subscription


@transaction.atomic
def redeliver_webhook(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (same body and id, a fresh 24-hour retry window)."""
    require_integrations_admin(actor)
    require_in_org(actor, delivery, "Delivery")
    if delivery.status == DeliveryStatus.PENDING:
        raise Conflict("This delivery is still being tried.")
    subscription = WebhookSubscription.objects.get(pk=delivery.subscription_id)
    if not subscription.is_active:
        raise Conflict("Resume the webhook before redelivering.")
    webhooks.redeliver(delivery)
    record_event(
        actor=actor,
        action="webhookdelivery.redeliver",
        target=delivery,
        target_label=f"{delivery.event} {delivery.delivery_id}",
    )
    return delivery
