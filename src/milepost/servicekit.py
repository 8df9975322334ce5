"""The shared mechanics every app's services use, so each rule is written once:

- `save_validated`: run model validation (field rules and every named database constraint)
  and turn Django's ValidationError into `InvalidInput` naming each field, before writing;
- `apply_update`: optimistic concurrency (version / ETag), field allow-list, audit before/after;
- `archive` / `restore`: deleting is archiving, and archived rows come back.

Services stay keyword-only, take an explicit `actor`, and wrap their work in one
`transaction.atomic()` so a refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from milepost.audit.services import changed_fields, record_event, snapshot
from milepost.errors import Conflict, InvalidInput, StaleVersion
from milepost.organizations.access import Actor


def invalid_from(error: ValidationError) -> InvalidInput:
    """Turn Django's ValidationError into InvalidInput with per-field messages."""
    errors: dict[str, list[str]] = {}
    if hasattr(error, "error_dict"):
        for name, items in error.error_dict.items():
            key = "__all__" if name == NON_FIELD_ERRORS else name
            errors[key] = [str(m) for item in items for m in item.messages]
    else:
        errors["__all__"] = list(error.messages)
    detail = "; ".join(
        f"{name}: {msg}" if name != "__all__" else msg
        for name, msgs in errors.items()
        for msg in msgs
    )
    return InvalidInput(detail, errors=errors)


def save_validated[M: models.Model](instance: M, *, exclude: Iterable[str] | None = None) -> M:
    """Validate (fields, uniqueness, check constraints) then save; InvalidInput on failure.

    Caller must be inside a transaction so a later refusal rolls this back too."""
    try:
        instance.full_clean(exclude=list(exclude or ()))
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:  # a race past full_clean; still a clear refusal
        raise Conflict(f"The change conflicts with existing data: {exc}") from exc
    return instance


def check_version(instance: models.Model, expected_version: int | None) -> None:
    """Refuse a stale write (the API passes If-Match here)."""
    current = getattr(instance, "version", None)
    if expected_version is not None and current != expected_version:
        raise StaleVersion(
            f"{instance._meta.verbose_name} was changed by someone else "
            f"(your version {expected_version}, current {current}). Reload and try again."
        )


def apply_update[M: models.Model](
    *,
    actor: Actor,
    instance: M,
    changes: Mapping[str, Any],
    allowed: Iterable[str],
    expected_version: int | None = None,
    action: str | None = None,
) -> M:
    """Apply `changes` (only `allowed` fields) with validation, version bump and an audit event.

    Must be called inside `transaction.atomic()` on a row fetched `select_for_update()` when
    concurrent writers are possible."""
    allowed_set = set(allowed)
    unknown = sorted(set(changes) - allowed_set)
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(unknown)}",
            errors={name: ["cannot be changed here"] for name in unknown},
        )
    check_version(instance, expected_version)
    before = snapshot(instance)
    for name, value in changes.items():
        setattr(instance, name, value)
    after = snapshot(instance)
    diff = changed_fields(before, after)
    if not diff:
        return instance
    if hasattr(instance, "version"):
        instance.version += 1
    save_validated(instance)
    record_event(
        actor=actor,
        action=action or f"{instance._meta.model_name}.update",
        target=instance,
        before={k: before.get(k) for k in diff},
        after=diff,
    )
    return instance


def create_audited[M: models.Model](*, actor: Actor, instance: M, action: str | None = None) -> M:
    """Validate and insert a new row, with a `<model>.create` audit event."""
    save_validated(instance)
    record_event(
        actor=actor,
        action=action or f"{instance._meta.model_name}.create",
        target=instance,
        after=snapshot(instance),
    )
    return instance


def archive[M: models.Model](
    *, actor: Actor, instance: M, expected_version: int | None = None
) -> M:
    """Archive (soft-delete) a row; it disappears from lists and can be restored."""
    check_version(instance, expected_version)
    if getattr(instance, "archived_at", None) is not None:
        return instance
    instance.archived_at = timezone.now()  # type: ignore[attr-defined]
    instance.version += 1  # type: ignore[attr-defined]
    instance.save(update_fields=["archived_at", "version", "updated_at"])
    record_event(
        actor=actor,
        action=f"{instance._meta.model_name}.archive",
        target=instance,
        before={"archived_at": None},
        after={"archived_at": instance.archived_at.isoformat()},  # type: ignore[attr-defined]
    )
    return instance


def restore[M: models.Model](*, actor: Actor, instance: M) -> M:
    """Bring an archived row back."""
    archived_at = getattr(instance, "archived_at", None)
    if archived_at is None:
        return instance
    instance.archived_at = None  # type: ignore[attr-defined]
    instance.version += 1  # type: ignore[attr-defined]
    instance.save(update_fields=["archived_at", "version", "updated_at"])
    record_event(
        actor=actor,
        action=f"{instance._meta.model_name}.restore",
        target=instance,
        before={"archived_at": archived_at.isoformat()},
        after={"archived_at": None},
    )
    return instance
