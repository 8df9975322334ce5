"""Fetch-and-authorise for integrations.

* Allowed hosts, database connections and webhook subscriptions (and their deliveries) are
  admin business: admins and owners read and change them; for anyone else they are not found
  (their URLs and names are not shown to members).
* A key result's data source is read by whoever sees the key result; ``http_json`` and
  ``csv_url`` sources are configured by whoever may change the key result, ``sql`` sources
  only by admins (the query can read whatever the connection can). "Run now" is open to whoever
  may check in on the key result.
* An API token scoped to one key result manages none of this.
"""

from __future__ import annotations

from milepost.errors import NotFound, PermissionDenied
from milepost.integrations.models import (
    AllowedHost,
    DatabaseConnection,
    DataSource,
    DataSourceKind,
    WebhookDelivery,
    WebhookSubscription,
)
from milepost.okrs.access import access_key_result, can_check_in, can_edit_key_result
from milepost.okrs.models import KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Role


def can_manage_integrations(actor: Actor) -> bool:
    """Admins and owners (not through a token scoped to a key result)."""
    scoped = actor.token is not None and actor.token.key_result_id is not None
    return actor.has_role(Role.ADMIN) and not scoped


def require_integrations_admin(actor: Actor) -> None:
    """NotFound for anyone who may not manage integrations (these pages are not theirs)."""
    if not can_manage_integrations(actor):
        raise NotFound("Not found.")


def can_configure_data_source(actor: Actor, key_result: KeyResult, kind: str) -> bool:
    """Whoever may change the key result; for an SQL source, an admin."""
    if kind == DataSourceKind.SQL:
        return can_manage_integrations(actor)
    return can_edit_key_result(actor, key_result)


def access_allowed_host(actor: Actor, host_id: int) -> AllowedHost:
    require_integrations_admin(actor)
    host = AllowedHost.objects.filter(organization_id=actor.organization_id, pk=host_id).first()
    if host is None:
        raise NotFound("Allowed host not found.")
    return host


def access_database_connection(
    actor: Actor, connection_id: int, *, include_archived: bool = False
) -> DatabaseConnection:
    require_integrations_admin(actor)
    qs = DatabaseConnection.objects.filter(organization_id=actor.organization_id)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    connection = qs.filter(pk=connection_id).first()
    if connection is None:
        raise NotFound("Database connection not found.")
    return connection


def access_webhook_subscription(
    actor: Actor, subscription_id: int, *, include_archived: bool = False
) -> WebhookSubscription:
    require_integrations_admin(actor)
    qs = WebhookSubscription.objects.filter(organization_id=actor.organization_id)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    subscription = qs.filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound("Webhook not found.")
    return subscription


def access_webhook_delivery(actor: Actor, delivery_id: int) -> WebhookDelivery:
    require_integrations_admin(actor)
    delivery = (
        WebhookDelivery.objects.filter(organization_id=actor.organization_id, pk=delivery_id)
        .select_related("subscription")
        .first()
    )
    if delivery is None:
        raise NotFound("Delivery not found.")
    return delivery


def access_data_source(
    actor: Actor, key_result_id: int, *, run: bool = False
) -> tuple[KeyResult, DataSource | None]:
    """A visible key result and its live data source (None if it has none); ``run``: the
    actor may run it now (may check in on the key result)."""
    kr = access_key_result(actor, key_result_id)
    if run and not can_check_in(actor, kr):
        raise PermissionDenied(
            "Only the key result's owner, its objective's owner or team, and admins run its "
            "data source."
        )
    source = (
        DataSource.objects.filter(key_result=kr, archived_at__isnull=True)
        .select_related("connection")
        .first()
    )
    return kr, source
