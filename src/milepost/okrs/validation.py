"""Input checks shared by the OKR services: every refusal an `InvalidInput` naming its field.

Database constraints are checked before writing (model validation) and each named constraint
is reported on the field a user would correct (`CONSTRAINT_FIELDS`), so an API client or a form
can show the message next to that field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

from milepost.errors import InvalidInput, NotFound, PermissionDenied
from milepost.okrs.access import can_edit_objective
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Team
from milepost.servicekit import invalid_from

if TYPE_CHECKING:
    from milepost.accounts.models import User

# Each named database constraint reported on the field a user would correct.
CONSTRAINT_FIELDS: Mapping[str, str] = {
    "cycle_key_unique_in_org": "key",
    "cycle_end_after_start": "end_date",
    "objective_key_unique_in_org": "key",
    "objective_weight_non_negative": "weight",
    "alignment_exactly_one_parent": "parent_objective",
    "alignment_no_self_link": "parent_objective",
    "alignment_weight_non_negative": "weight",
    "alignment_unique_objective_parent": "parent_objective",
    "alignment_unique_kr_parent": "parent_key_result",
    "kr_key_unique_in_objective": "key",
    "kr_weight_non_negative": "weight",
    "kr_increase_target_above_start": "target_value",
    "kr_decrease_target_below_start": "target_value",
    "kr_confidence_0_10": "confidence",
    "checkin_confidence_0_10": "confidence",
    "checkin_idempotency_key_unique": "idempotency_key",
    "checkin_not_self_correction": "corrects",
    "retro_exactly_one_subject": "objective",
    "retro_score_0_1": "score",
    "retro_override_needs_reason": "reason_code",
    "retro_one_per_objective": "objective",
    "retro_one_per_key_result": "key_result",
}


class FieldErrors:
    """Collects every field at fault, then raises one `InvalidInput` naming them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def __contains__(self, name: str) -> bool:
        return name in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            detail = "; ".join(f"{n}: {m}" for n, msgs in self.errors.items() for m in msgs)
            raise InvalidInput(detail, errors=self.errors)


def with_field_names(model: type[models.Model], error: InvalidInput) -> InvalidInput:
    """``error`` with each named-constraint message moved from ``__all__`` to its field."""
    fields = {
        str(c.violation_error_message): CONSTRAINT_FIELDS[c.name]
        for c in model._meta.constraints
        if c.name in CONSTRAINT_FIELDS
    }
    errors: dict[str, list[str]] = {}
    for name, messages in error.errors.items():
        for message in messages:
            target = fields.get(message, name) if name == "__all__" else name
            errors.setdefault(target, []).append(message)
    detail = "; ".join(
        f"{n}: {m}" if n != "__all__" else m for n, msgs in errors.items() for m in msgs
    )
    return InvalidInput(detail, errors=errors)


@contextmanager
def named_fields(model: type[models.Model]) -> Iterator[None]:
    """Report a constraint violation raised inside the block on the field it concerns."""
    try:
        yield
    except InvalidInput as exc:
        raise with_field_names(model, exc) from exc


def validate(instance: models.Model, *, exclude: Collection[str] = ()) -> None:
    """Model validation (fields and named constraints) as `InvalidInput` naming fields."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        raise with_field_names(type(instance), invalid_from(exc)) from exc


def clean_decimal(errors: FieldErrors, name: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        errors.add(name, "must be a number")
        return Decimal(0)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(name, "must be a number")
        return Decimal(0)
    if not number.is_finite():
        errors.add(name, "must be a finite number")
        return Decimal(0)
    return number


def clean_date(errors: FieldErrors, name: str, value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(name, "must be a date (YYYY-MM-DD)")
    return None


def clean_required_date(errors: FieldErrors, name: str, value: Any) -> dt.date:
    """Like `clean_date`, and a date is required. On error, a placeholder that the caller
    never uses (it raises the collected errors first)."""
    if value is None:
        errors.add(name, "is required")
        return dt.date.min
    return clean_date(errors, name, value) or dt.date.min


def require_in_org(actor: Actor, instance: models.Model, what: str) -> None:
    """A row of another organization does not exist for the actor."""
    if getattr(instance, "organization_id", None) != actor.organization_id:
        raise NotFound(f"{what} not found.")


def is_member(actor: Actor, user: User) -> bool:
    return Membership.objects.filter(
        organization_id=actor.organization_id, user_id=user.pk, archived_at__isnull=True
    ).exists()


def check_user(errors: FieldErrors, actor: Actor, name: str, user: User | None) -> None:
    if user is not None and not is_member(actor, user):
        errors.add(name, "not a member of this organization")


def check_team(errors: FieldErrors, actor: Actor, name: str, team: Team | None) -> None:
    if team is None:
        return
    if team.organization_id != actor.organization_id:
        errors.add(name, "team not found")
    elif team.archived_at is not None:
        errors.add(name, "the team is archived")


def check_cycle(errors: FieldErrors, actor: Actor, name: str, cycle: Cycle | None) -> None:
    if cycle is None:
        errors.add(name, "an objective needs a cycle")
    elif cycle.organization_id != actor.organization_id:
        errors.add(name, "cycle not found")
    elif cycle.archived_at is not None:
        errors.add(name, "the cycle is archived")


def sync_fields(target: models.Model, source: models.Model, fields: Collection[str]) -> None:
    """Show the caller's instance what the service wrote (no query)."""
    if target is not source:
        for name in fields:
            setattr(target, name, getattr(source, name))


def present_ids(values: Collection[int | None]) -> set[int]:
    return {v for v in values if v is not None}


def lock_objective(actor: Actor, objective: Objective) -> Objective:
    require_in_org(actor, objective, "Objective")
    return lock_objective_id(actor, objective.pk)


def lock_objective_id(actor: Actor, objective_id: int) -> Objective:
    locked = (
        Objective.objects.select_for_update(of=("self",))
        .select_related("cycle")
        .filter(pk=objective_id, organization_id=actor.organization_id)
        .first()
    )
    if locked is None:
        raise NotFound("Objective not found.")
    if not can_edit_objective(actor, locked):
        raise PermissionDenied(
            "You may only change objectives that you own or that belong to your teams."
        )
    return locked


def lock_key_result(actor: Actor, key_result_id: int) -> KeyResult:
    kr = (
        KeyResult.objects.select_for_update(of=("self",))
        .select_related("objective__cycle")
        .filter(pk=key_result_id, organization_id=actor.organization_id)
        .first()
    )
    if kr is None:
        raise NotFound("Key result not found.")
    return kr
