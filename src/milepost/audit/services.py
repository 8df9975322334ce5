"""Writing audit events. Called by every service inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from milepost.audit.context import current_request_id
from milepost.audit.models import AuditEvent

if TYPE_CHECKING:
    from milepost.organizations.access import Actor


def jsonable(value: Any) -> Any:
    """A field value as an audit event stores it (decimals and dates as text, …)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited state of a row: its concrete field values (FKs as ids), JSON-ready."""
    names = (
        list(fields)
        if fields is not None
        else [
            f.attname
            for f in instance._meta.concrete_fields
            if f.name not in {"created_at", "updated_at"}
        ]
    )
    return {name: jsonable(getattr(instance, name)) for name in names}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in after.items() if before.get(k) != v}


def record_event(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_label: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one immutable audit event for `actor`'s organization."""
    event = _event(
        actor=actor,
        action=action,
        target=target,
        target_type=target_type,
        target_label=target_label,
        before=before,
        after=after,
    )
    event.save(force_insert=True)
    return event


def record_created(*, actor: Actor, instances: Sequence[models.Model]) -> None:
    """The ``<model>.create`` events of rows inserted together (each with its snapshot, as
    `servicekit.create_audited` records one), in one insert per 500."""
    AuditEvent.objects.bulk_create(
        [
            _event(
                actor=actor,
                action=f"{instance._meta.model_name}.create",
                target=instance,
                after=snapshot(instance),
            )
            for instance in instances
        ],
        batch_size=500,
    )


def _event(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_label: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        organization_id=actor.organization_id,
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        target_type=target_type or (target._meta.model_name if target is not None else "") or "",
        target_id=target.pk if target is not None else None,
        target_label=(target_label or (str(target) if target is not None else ""))[:300],
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        created_at=timezone.now(),
        request_id=current_request_id.get(),
    )
