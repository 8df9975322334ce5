"""Web forms: settings, members and tokens. Forms parse and check shapes (required, ranges);
every rule is the service's, and its refusal is shown beside the field it names
(`forms_base.add_domain_error`). OKR and roadmap forms live in `forms_okrs` and `forms_roadmap`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone

from milepost.accounts.models import User
from milepost.organizations.access import Actor
from milepost.organizations.models import ROLE_RANK, Organization, Role, Team
from milepost.web.forms_base import StyledForm

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def changes_from(form: forms.Form, instance: Any, names: list[str] | None = None) -> dict[str, Any]:
    """The cleaned values that differ from the instance's (model field names)."""
    result: dict[str, Any] = {}
    for name in names or list(form.cleaned_data):
        if name not in form.cleaned_data or form.fields[name].disabled:
            continue
        value = form.cleaned_data[name]
        current = getattr(instance, name)
        if hasattr(current, "pk"):
            if (value.pk if value is not None else None) != current.pk:
                result[name] = value
        elif value != current:
            result[name] = value
    return result


class TokenCreateForm(StyledForm):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “weekly export script”.")
    role = forms.ChoiceField(
        help_text="A token never has more rights than you, and at most an admin's."
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Leave empty for a token that does not expire.",
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A token is for scripts: at most admin (owner rights stay with a signed-in person),
        # and never above the user's own role.
        mine = min(ROLE_RANK[actor.role], ROLE_RANK[Role.ADMIN])
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            (value, text)
            for value, text in reversed(Role.choices)
            if ROLE_RANK[Role(value)] <= mine
        ]
        self.fields["role"].initial = Role.MEMBER if mine >= ROLE_RANK[Role.MEMBER] else Role.VIEWER

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        if not days:
            return None
        end = timezone.localdate() + timedelta(days=days)
        return datetime.combine(end, time(23, 59), tzinfo=timezone.get_current_timezone())


class ProfileForm(StyledForm):
    """The name others see (checked by `milepost.accounts.services.update_profile`)."""

    full_name = forms.CharField(
        label="Name",
        max_length=200,
        required=False,
        help_text="Shown to others instead of your email. Leave empty to be shown by your email.",
    )


class MemberAddForm(StyledForm):
    email = forms.EmailField()
    full_name = forms.CharField(label="Name", max_length=200, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class OrganizationSettingsForm(StyledForm):
    name = forms.CharField(max_length=200)
    timezone = forms.CharField(max_length=64, help_text="An IANA time zone, e.g. Europe/Berlin.")
    on_track_gap = forms.DecimalField(
        label="On track within (share)",
        min_value=0,
        max_value=1,
        help_text="A key result is on track while expected minus actual progress is at most this "
        "(0.10 = 10 points).",
    )
    at_risk_gap = forms.DecimalField(
        label="At risk within (share)", min_value=0, max_value=1, help_text="Beyond it: off track."
    )
    allow_over_achievement = forms.BooleanField(required=False)
    over_achievement_cap = forms.DecimalField(min_value=1, max_value=10)
    rollup_mode = forms.ChoiceField(
        choices=[
            ("key_results", "Key results"),
            ("children", "Aligned objectives"),
            ("both", "Both"),
        ],
        label="Objective progress from",
    )
    objective_status_mode = forms.ChoiceField(
        choices=[("worst", "Worst status of its inputs"), ("gap", "Its own progress gap")],
        label="Objective status from",
    )
    stale_after_days = forms.IntegerField(min_value=1, max_value=365, label="Stale after (days)")
    max_key_results_per_objective = forms.IntegerField(min_value=1, max_value=50)
    max_objectives_per_team = forms.IntegerField(min_value=1, max_value=100)
    output_done_share = forms.DecimalField(
        label="Output counts as done at (share of tasks)",
        max_digits=4,
        decimal_places=3,
        help_text="An initiative with at least this share of its tasks done (0.8 = 80%), or "
        "marked done, is flagged when a key result it serves is still off track. "
        "More than 0, at most 1.",
    )
    # The default check-in day and channel are in the "Reminders and digests" card below the
    # form (web.views.notifications), which admins change too.

    def __init__(self, *args: Any, instance: Organization, **kwargs: Any) -> None:
        initial = {name: getattr(instance, name) for name in self.base_fields}
        super().__init__(*args, initial=initial, **kwargs)
        self.instance = instance

    def changes(self) -> dict[str, Any]:
        return changes_from(self, self.instance)


class TeamForm(StyledForm):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(
        max_length=60, required=False, help_text="Short id; from the name if empty."
    )
    parent = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Part of")
    capacity_days_per_week = forms.DecimalField(
        min_value=0,
        initial=Decimal(0),
        label="Capacity (person-days per week)",
        help_text="Plan health warns when concurrent initiatives need more than this.",
    )
    lead = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(
        self, *args: Any, actor: Actor, instance: Team | None = None, **kwargs: Any
    ) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "key": instance.key,
                    "parent": instance.parent_id,
                    "capacity_days_per_week": instance.capacity_days_per_week,
                    "lead": instance.lead_id,
                },
            )
        super().__init__(*args, **kwargs)
        teams = Team.objects.of(actor.organization_id).active()
        if instance is not None:
            teams = teams.exclude(pk=instance.pk)
        self.fields["parent"].queryset = teams  # type: ignore[attr-defined]
        self.fields["lead"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            memberships__organization_id=actor.organization_id,
            memberships__archived_at__isnull=True,
        ).order_by("email")


class TeamMemberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Add a person")

    def __init__(self, *args: Any, actor: Actor, exclude: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                memberships__organization_id=actor.organization_id,
                memberships__archived_at__isnull=True,
            )
            .exclude(pk__in=exclude)
            .order_by("email")
        )
