"""Field types and small helpers every app's schemas and routers share.

Input types carry the bounds the database and the engine can hold (ids, dates, decimals,
text without NUL characters), so hostile input is a 422 naming the field, never a 500.
"""

from __future__ import annotations

import datetime as dt
import types
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from ninja import Field, Path, Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from milepost.api.problems import PROBLEM_RESPONSES
from milepost.errors import InvalidInput
from milepost.organizations.models import Membership

if TYPE_CHECKING:
    from milepost.accounts.models import User
    from milepost.organizations.access import Actor

MAX_ID = 2**53  # ids beyond this are not ours (and stay exact in JavaScript clients)
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Path parameters: an id out of range or a malformed slug is simply "not found".
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Slug = Annotated[
    str, Path(pattern=r"^[-a-zA-Z0-9_]{1,60}$", description="The organization's slug.")
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _sane_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


def text(max_length: int, *, min_length: int = 0) -> Any:
    """A string field of at most `max_length` characters, no NUL, surrounding space kept."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


Title = text(300, min_length=1)
Name = text(200, min_length=1)
Key = Annotated[str, StringConstraints(pattern=r"^[-a-zA-Z0-9_]{1,60}$")]
LongText = text(20000)
PlanDate = Annotated[date, AfterValidator(_sane_date)]


def _sane_moment(value: dt.datetime) -> dt.datetime:
    # Offsets beyond ±15:59 are valid in Python but not in PostgreSQL: compare in UTC.
    value = value.astimezone(dt.UTC)
    if not MIN_DATE <= value.date() <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


Since = Annotated[AwareDatetime, AfterValidator(_sane_moment)]
# Metric values (start/target/check-ins): the database keeps 20 digits, 6 after the point.
Value = Annotated[
    Decimal, Field(ge=-(10**13), le=10**13, max_digits=20, decimal_places=6, allow_inf_nan=False)
]
Weight = Annotated[
    Decimal, Field(ge=0, le=10**4, max_digits=8, decimal_places=3, allow_inf_nan=False)
]
Money = Annotated[
    Decimal, Field(ge=0, le=10**11, max_digits=14, decimal_places=2, allow_inf_nan=False)
]
Days = Annotated[
    Decimal, Field(ge=0, le=10**6, max_digits=10, decimal_places=2, allow_inf_nan=False)
]
Hours = Annotated[
    Decimal, Field(ge=0, le=10**6, max_digits=10, decimal_places=2, allow_inf_nan=False)
]
Confidence = Annotated[int, Field(ge=0, le=10)]


def _scalar_types(annotation: Any) -> set[Any]:
    """The plain types a field annotation admits (`Id | None` → {int, NoneType})."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_types(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return set().union(*(_scalar_types(arg) for arg in get_args(annotation)))
    return {annotation}


class InputSchema(Schema):
    """The base of every request body (POST, PUT, PATCH).

    * A field the schema does not declare is refused (422 naming it), so a misspelt field
      (``target`` for ``target_value``) is never silently ignored.
    * Integers (ids, counts, confidence) must be JSON integers and booleans JSON booleans:
      ``true`` is not the id 1, ``1`` or ``"yes"`` is not true. Dates stay ISO strings and
      decimals may be strings (``"12.50"``), as documented.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or info.field_name is None:
            return value
        kinds = _scalar_types(cls.model_fields[info.field_name].annotation)
        if bool in kinds:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
        elif int in kinds:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("must be a whole number (not true/false, a string or a fraction)")
        elif Decimal in kinds and isinstance(value, bool):
            raise ValueError("must be a number, not true or false")
        return value


def optional(**constraints: Any) -> Any:
    """A PATCH field that may be left out but not set to null (the column is not nullable):
    its type stays non-null in the schema, so ``null`` is a 422 naming the field."""
    return Field(None, **constraints)


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    """An operation's documented answers: its success codes plus every problem status."""
    return {**PROBLEM_RESPONSES, **ok}


def member_user(actor: Actor, user_id: int | None, field: str) -> User | None:
    """The user `user_id` if they are an active member of the actor's organization.

    Another organization's person is "not found" exactly like a person who does not exist."""
    if user_id is None:
        return None
    membership = (
        Membership.objects.filter(
            organization_id=actor.organization_id, user_id=user_id, archived_at__isnull=True
        )
        .select_related("user")
        .first()
    )
    if membership is None:
        raise InvalidInput.field(field, "not found in this organization")
    return membership.user


def reference(getter: Any, actor: Actor, ref_id: int | None, field: str) -> Any:
    """Resolve an id given in a body or a filter with an ``access_*`` helper; a missing or
    foreign object is a 422 naming the field (the request is wrong, the URL is not)."""
    if ref_id is None:
        return None
    from milepost.errors import NotFound

    try:
        return getter(actor, ref_id)
    except NotFound as exc:
        raise InvalidInput.field(field, "not found") from exc


def changes_of(payload: Schema, *, refs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields a PATCH body sets (unset fields are left alone), with references resolved.

    `refs` maps a body field to its resolved model object (``{"owner_team": team}``)."""
    data = payload.model_dump(exclude_unset=True)
    for name, value in (refs or {}).items():
        if name in data:
            data[name] = value
    return data
