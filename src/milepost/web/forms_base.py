"""What every web form shares: domain refusals shown beside the field they name, and
browser-side constraints (required, min, max) for instant inline validation."""

from __future__ import annotations

from typing import Any

from django import forms

from milepost.errors import DomainError, InvalidInput

TEXT_INPUTS = (
    forms.TextInput,
    forms.EmailInput,
    forms.URLInput,
    forms.NumberInput,
    forms.PasswordInput,
)


def add_domain_error(
    form: forms.Form, error: DomainError, aliases: dict[str, str] | None = None
) -> None:
    """Attach a service's refusal to the form: each field error beside its field (model field
    names, mapped through `aliases` where the form names them differently), the rest on top."""
    aliases = aliases or {}
    if isinstance(error, InvalidInput) and error.errors:
        for name, messages in error.errors.items():
            field = aliases.get(name, name)
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
        return
    form.add_error(None, error.detail)


class StyledForm(forms.Form):
    """A form whose fields say they are required and carry their limits to the browser."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(field, forms.DecimalField) and isinstance(widget, forms.NumberInput):
                widget.attrs.setdefault("step", "any")
            if isinstance(widget, forms.Textarea):
                widget.attrs.setdefault("rows", 3)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
