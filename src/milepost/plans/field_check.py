"""Model field validation for many rows at once, with Django's own messages.

`Model.clean_fields()` costs about 40 µs a row: fine for one form, most of an import of
hundreds of thousands of rows. `FieldCheck` answers "would `clean_fields` pass?" for the
common field types with plain Python (lengths, the slug pattern, a decimal's digits, choices,
blank and null) and, only for a row it cannot accept that way, runs `clean_fields` itself, so a
refusal carries exactly the messages the services give. A field of a type (or with a
validator) it does not know is always checked by `clean_fields`: never accepted unchecked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from django.core import validators
from django.core.exceptions import ValidationError
from django.db import models

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")
Accept = Callable[[Any], bool]


def _digits_ok(value: Decimal, max_digits: int | None, places: int | None) -> bool:
    """`DecimalValidator`'s rule, as a yes/no."""
    if not value.is_finite():
        return False
    _, digit_tuple, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # only for infinities and NaNs, refused above
        return False
    if exponent >= 0:
        digits = len(digit_tuple) + (exponent if digit_tuple != (0,) else 0)
        decimals = 0
    elif -exponent > len(digit_tuple):
        digits = decimals = -exponent
    else:
        digits, decimals = len(digit_tuple), -exponent
    if max_digits is not None and digits > max_digits:
        return False
    if places is not None and decimals > places:
        return False
    return not (
        max_digits is not None and places is not None and digits - decimals > max_digits - places
    )


def _known(field: models.Field[Any, Any], *kinds: type) -> bool:
    """Whether every validator of the field is one this module reproduces."""
    for validator in field.validators:
        if validator is validators.validate_slug:
            continue
        if not isinstance(validator, kinds):
            return False
    return True


def _value_check(field: models.Field[Any, Any]) -> Accept | None:
    """A yes/no check of a non-empty value for `field`, or None (unknown: use Django)."""
    choices = {c[0] for c in field.flatchoices} if field.choices else None
    if isinstance(field, models.CharField) and _known(
        field, validators.MaxLengthValidator, validators.ProhibitNullCharactersValidator
    ):
        limit = field.max_length or 0
        slug = isinstance(field, models.SlugField)

        def text(value: Any) -> bool:
            return (
                isinstance(value, str)  # a choice's enum member (a str) too: a model default
                and len(value) <= limit
                and "\x00" not in value
                and (not slug or _SLUG.match(value) is not None)
                and (choices is None or value in choices)
            )

        return text
    if isinstance(field, models.TextField) and not field.validators and choices is None:
        return lambda value: isinstance(value, str)
    if isinstance(field, models.DecimalField) and _known(field, validators.DecimalValidator):
        max_digits, places = field.max_digits, field.decimal_places
        return lambda value: type(value) is Decimal and _digits_ok(value, max_digits, places)
    if isinstance(field, models.DateTimeField) and not field.validators:
        return lambda value: isinstance(value, dt.datetime)
    if isinstance(field, models.DateField) and not field.validators:
        return lambda value: type(value) is dt.date
    if isinstance(field, models.BooleanField) and not field.validators:
        return lambda value: type(value) is bool
    if isinstance(field, models.IntegerField) and choices is None:
        checks = list(field.validators)

        def integer(value: Any) -> bool:
            if type(value) is not int:
                return False
            try:
                for check in checks:
                    check(value)
            except ValidationError:
                return False
            return True

        return integer
    return None


class FieldCheck:
    """Field validation of one model's rows (every concrete field but `exclude`)."""

    def __init__(self, model: type[models.Model], exclude: Collection[str] = ()) -> None:
        self.exclude = list(exclude)
        self.checks: list[tuple[str, bool, Accept]] = []
        self.exact_only = False
        for field in model._meta.concrete_fields:
            if field.name in exclude or field.attname in exclude or field.primary_key:
                continue
            if field.is_relation:
                self.exact_only = True  # a reference not excluded: Django checks it
                continue
            check = _value_check(field)
            if check is None:
                self.exact_only = True
                continue
            self.checks.append((field.attname, field.blank, check))

    def accepts(self, instance: models.Model) -> bool:
        """True when `clean_fields` certainly passes (False: ask `errors`)."""
        if self.exact_only:
            return False
        values = instance.__dict__
        for attname, blank, check in self.checks:
            value = values[attname]
            if value is None or value == "":
                if not blank:
                    return False
                continue
            if not check(value):
                return False
        return True

    def errors(self, instance: models.Model) -> ValidationError | None:
        """Django's field errors for the row (None: it passes)."""
        if self.accepts(instance):
            return None
        try:
            instance.clean_fields(exclude=self.exclude)
        except ValidationError as exc:
            return exc
        return None
