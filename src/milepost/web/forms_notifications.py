"""Forms for reminders and digests: a member's own preferences and the organization's defaults.
Shapes only; the rules (a usable chat webhook on an allowed host, chat needs a webhook) are the
service's, and its refusal is shown beside the field it names."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from milepost.integrations.notifications import (
    CHANNEL_LABELS,
    CHANNELS,
    MAX_CHAT_URL,
    WEEKDAY_NAMES,
    organization_channel,
)
from milepost.organizations.models import Membership, Organization
from milepost.web.forms_base import StyledForm

WEEKDAY_CHOICES = list(enumerate(WEEKDAY_NAMES))
CHANNEL_CHOICES = [(c, CHANNEL_LABELS[c]) for c in CHANNELS]


class NotificationPreferencesForm(StyledForm):
    channel = forms.ChoiceField(
        label="Send reminders by",
        required=False,
        help_text="Check-in reminders, and the weekly digest if you lead a team.",
    )
    checkin_weekday = forms.TypedChoiceField(
        label="Check-in day",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="The day Milepost reminds you (from 09:00 in the organization's time zone).",
    )
    chat_url = forms.CharField(
        label="Chat webhook URL",
        required=False,
        max_length=MAX_CHAT_URL,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From your chat tool: a Slack or Mattermost incoming-webhook URL, a Microsoft "
        "Teams workflow (workflows://…), or any apprise URL such as discord://…, "
        "jsons://host/path. Stored encrypted and never shown again.",
    )
    remove_chat_url = forms.BooleanField(label="Remove my chat webhook", required=False)

    def __init__(
        self,
        *args: Any,
        membership: Membership,
        organization: Organization,
        has_webhook: bool,
        **kwargs: Any,
    ) -> None:
        initial = {
            "channel": membership.notification_channel
            if membership.notification_channel in CHANNELS
            else "",
            "checkin_weekday": membership.checkin_weekday,
        }
        super().__init__(*args, initial=initial, **kwargs)
        default_channel = CHANNEL_LABELS[organization_channel(organization)]
        default_day = WEEKDAY_NAMES[organization.default_checkin_weekday]
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            ("", f"Organization default ({default_channel.lower()})"),
            *CHANNEL_CHOICES,
        ]
        cast(forms.TypedChoiceField, self.fields["checkin_weekday"]).choices = [
            ("", f"Organization default ({default_day})"),
            *WEEKDAY_CHOICES,
        ]
        if has_webhook:
            self.fields["chat_url"].label = "New chat webhook URL"
            self.fields[
                "chat_url"
            ].help_text = (
                "A webhook is set. Leave this empty to keep it, or paste a new one to replace it."
            )
        else:
            del self.fields["remove_chat_url"]


class NotificationDefaultsForm(StyledForm):
    default_notification_channel = forms.ChoiceField(
        label="Default channel",
        choices=CHANNEL_CHOICES,
        help_text="For members who have not chosen. Chat needs a webhook, which each member "
        "sets; members without one get email.",
    )
    default_checkin_weekday = forms.TypedChoiceField(
        label="Default check-in day", choices=WEEKDAY_CHOICES, coerce=int
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        initial = {
            "default_notification_channel": organization_channel(organization),
            "default_checkin_weekday": organization.default_checkin_weekday,
        }
        super().__init__(*args, initial=initial, **kwargs)
