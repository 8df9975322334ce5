"""Forms of the cycle pages: retrospectives, carry-over, a new cycle from a template, the
"as of" date. They only parse input; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from milepost.okrs.models import Grade, ReasonCode
from milepost.web.forms_base import DateInput, StyledForm

_NO_OVERRIDE = [("", "Keep the engine's grade")]
_NO_REASON = [("", "—")]


class KeyResultRetrospectiveForm(StyledForm):
    grade_override = forms.ChoiceField(
        label="Grade",
        choices=_NO_OVERRIDE + list(Grade.choices),
        required=False,
        help_text="Override the grade only when the score misleads; say why below.",
    )
    reason_code = forms.ChoiceField(
        label="Reason", choices=_NO_REASON + list(ReasonCode.choices), required=False
    )
    lessons = forms.CharField(
        label="Lessons learned", widget=forms.Textarea, required=False, max_length=5000
    )


class ObjectiveReflectionForm(StyledForm):
    went_well = forms.CharField(
        label="What went well", widget=forms.Textarea, required=False, max_length=5000
    )
    went_badly = forms.CharField(
        label="What did not", widget=forms.Textarea, required=False, max_length=5000
    )
    change_next = forms.CharField(
        label="What we change next time", widget=forms.Textarea, required=False, max_length=5000
    )
    lessons = forms.CharField(
        label="Other lessons", widget=forms.Textarea, required=False, max_length=5000
    )


class CycleFromTemplateForm(StyledForm):
    name = forms.CharField(label="Name", max_length=200)
    key = forms.SlugField(label="Key", max_length=60, help_text="A short identifier, e.g. 2026-q3.")
    start_date = forms.DateField(label="Starts", widget=DateInput())
    end_date = forms.DateField(label="Ends", widget=DateInput())


class CarryOverForm(forms.Form):
    """Which key results (ids from the page's checkboxes) go into which cycle."""

    key_results = forms.TypedMultipleChoiceField(coerce=int, choices=())
    target_cycle = forms.TypedChoiceField(label="Into cycle", coerce=int, choices=())

    def __init__(
        self,
        *args: Any,
        key_results: list[tuple[int, str]],
        cycles: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key_results"].choices = key_results  # type: ignore[attr-defined]
        self.fields["target_cycle"].choices = cycles  # type: ignore[attr-defined]


# The same bounds as the API's dates: anything outside is a typo, not a day to look at.
AS_OF_EARLIEST = dt.date(1900, 1, 1)


def as_of_date(request: HttpRequest, today: dt.date) -> dt.date | None:
    """The ``?as_of=YYYY-MM-DD`` of a page: a past day, or None for the live page (no date,
    today or a future day). A value that is not a day from 1900 on also gives the live page,
    with a message saying so beside it (never silently)."""
    raw = (request.GET.get("as_of") or "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or day < AS_OF_EARLIEST:
        messages.warning(
            request,
            f"“{raw[:40]}” is not a date from {AS_OF_EARLIEST.year} on (YYYY-MM-DD): "
            "showing the page as it is now.",
        )
        return None
    return day if day < today else None
