"""Input checks shared by the roadmap and work services: one refusal names every field at
fault (`FieldErrors`), numbers become Decimals within bounds, dates are calendar dates.

These are generic; they live here until another app needs them (then `milepost.servicekit`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from milepost.errors import InvalidInput, NotFound, PermissionDenied
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization

if TYPE_CHECKING:
    from milepost.accounts.models import User


class FieldErrors:
    """Collects every field problem of one request, so one refusal names them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def __contains__(self, name: object) -> bool:
        return name in self.errors

    def raise_if_any(self) -> None:
        """Raise one `InvalidInput` listing every collected problem (if any)."""
        if self.errors:
            detail = "; ".join(
                f"{name}: {msg}" for name, msgs in self.errors.items() for msg in msgs
            )
            raise InvalidInput(detail, errors=self.errors)


def clean_decimal(
    errors: FieldErrors,
    name: str,
    value: Any,
    *,
    minimum: Decimal | None = Decimal(0),
    above_minimum: bool = False,
    maximum: Decimal | None = None,
    required: bool = False,
) -> Decimal | None:
    """`value` as a Decimal within bounds, or None (recording the problem in `errors`)."""
    if value is None:
        if required:
            errors.add(name, "is required")
        return None
    if isinstance(value, bool):
        errors.add(name, "must be a number")
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(name, "must be a number")
        return None
    if not number.is_finite():
        errors.add(name, "must be a finite number")
        return None
    if minimum is not None and above_minimum and number <= minimum:
        errors.add(name, f"must be more than {minimum}")
    elif minimum is not None and number < minimum:
        errors.add(name, f"must be ≥ {minimum}")
    elif maximum is not None and number > maximum:
        errors.add(name, f"must be at most {maximum}")
    return number


def clean_date(
    errors: FieldErrors, name: str, value: Any, *, required: bool = False
) -> dt.date | None:
    """`value` as a calendar date (a `date` or an ISO string), or None."""
    if value is None or value == "":
        if required:
            errors.add(name, "is required")
        return None
    if isinstance(value, dt.datetime):
        errors.add(name, "must be a calendar date, not a date and time")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(name, "must be a date (YYYY-MM-DD)")
    return None


def is_active_member(organization_id: int, user: User) -> bool:
    """Whether the user is active and a current member of the organization."""
    return (
        user.is_active
        and Membership.objects.filter(
            organization_id=organization_id, user=user, archived_at__isnull=True
        ).exists()
    )


def organization_today(organization: Organization) -> dt.date:
    """Today's calendar date in the organization's time zone."""
    return timezone.localdate(timezone=ZoneInfo(organization.timezone))


def require_in_organization(actor: Actor, instance: Any, what: str) -> None:
    """Another organization's row is not found (never forbidden)."""
    if getattr(instance, "organization_id", None) != actor.organization_id:
        raise NotFound(f"{what} not found.")


def reject_unknown(changes: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse changes to fields outside the allow-list (before any other check)."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(unknown)}",
            errors={name: ["cannot be changed here"] for name in unknown},
        )


def deny_unless(allowed: bool, message: str) -> None:
    """PermissionDenied with `message` unless `allowed`."""
    if not allowed:
        raise PermissionDenied(message)
