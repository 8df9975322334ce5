"""Forms for integrations: allowed hosts, database connections, webhooks and a key result's
data source. They check shapes only; every rule is the service's (its refusal is shown beside
the field it names)."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from milepost.integrations.models import (
    CsvRowRule,
    DatabaseConnection,
    DataSourceKind,
    Schedule,
    WebhookEvent,
)
from milepost.organizations.access import Actor
from milepost.web.forms_base import StyledForm


class AllowedHostForm(StyledForm):
    host = forms.CharField(
        max_length=260,
        help_text="A host name (metrics.example.com), with :port to allow only that port, or "
        "*.example.com for every subdomain. No scheme or path.",
    )
    note = forms.CharField(max_length=200, required=False, help_text="Why it is allowed.")


class DatabaseConnectionForm(StyledForm):
    name = forms.CharField(max_length=100, help_text="How data sources refer to it.")
    url = forms.CharField(
        label="Connection URL",
        widget=forms.PasswordInput(render_value=False),
        help_text="postgres://user:password@host:5432/database or "
        "sqlite:////absolute/path/to/file.sqlite3 — stored encrypted and never shown again. "
        "Use a database user that may only read.",
    )
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # It shares its page with the allowed-host form, which has a `note` too: ids of
        # its own keep each label on its input.
        kwargs.setdefault("auto_id", "id_db_%s")
        super().__init__(*args, **kwargs)


class WebhookForm(StyledForm):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="Receives a POST with a JSON body for each event. Its host must be allowed.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )


class DataSourceForm(StyledForm):
    """Every kind's fields; the service checks those the chosen kind needs."""

    kind = forms.ChoiceField(choices=DataSourceKind.choices, label="Read the value from")
    url = forms.CharField(
        label="URL",
        max_length=2000,
        required=False,
        help_text="For an HTTP or CSV source. Its host must be on the organization's allowed list.",
    )
    headers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        required=False,
        help_text="One per line, <code>Name: value</code> (e.g. an Authorization header). "
        "Stored encrypted and never shown again; leave empty to keep the stored ones.",
    )
    clear_headers = forms.BooleanField(required=False, label="Remove the stored headers")
    json_path = forms.CharField(
        label="JSONPath",
        max_length=500,
        required=False,
        help_text="For JSON: where the number is, e.g. <code>$.data.total</code> or "
        '<code>$.rows[?(@.name == "mrr")].value</code>. It must find exactly one value.',
    )
    csv_column = forms.CharField(
        label="CSV column", max_length=200, required=False, help_text="The column with the value."
    )
    csv_row_rule = forms.ChoiceField(
        label="CSV row", choices=CsvRowRule.choices, initial=CsvRowRule.LAST, required=False
    )
    csv_match_column = forms.CharField(label="…where the column", max_length=200, required=False)
    csv_match_value = forms.CharField(label="…has the value", max_length=200, required=False)
    connection = forms.ModelChoiceField(
        queryset=DatabaseConnection.objects.none(),
        required=False,
        label="Database",
        help_text="For an SQL source (admins only): a connection from Settings → Integrations.",
    )
    query = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        required=False,
        help_text="One SELECT; the first column of the first row is the value. It runs "
        "read-only with the timeout below.",
    )
    schedule = forms.ChoiceField(choices=Schedule.choices, initial=Schedule.DAILY)
    timeout_seconds = forms.IntegerField(
        label="Timeout (seconds)", min_value=1, max_value=60, initial=10
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Run on the schedule")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField[DatabaseConnection], self.fields["connection"])
        field.queryset = DatabaseConnection.objects.filter(
            organization_id=actor.organization_id, archived_at__isnull=True
        ).order_by("name")

    def clean_headers(self) -> dict[str, str] | None:
        """None: keep the stored headers; a dict replaces them."""
        if self.data.get("clear_headers") in ("on", "true", "1"):
            return {}
        text = str(self.cleaned_data.get("headers") or "").strip()
        if not text:
            return None
        headers: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(f"Line {number} is not “Name: value”.")
            headers[name.strip()] = value.strip()
        return headers
