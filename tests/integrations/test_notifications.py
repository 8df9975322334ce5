"""Reminder preferences: chat webhook URLs checked by apprise and against the allowed hosts,
stored encrypted and never audited; the member's own settings and the organization's defaults
(services and pages); the email and chat channels."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from milepost.audit.models import AuditEvent
from milepost.errors import InvalidInput, PermissionDenied
from milepost.integrations.models import AllowedHost, ChatWebhook
from milepost.integrations.notifications import (
    ChatUrlError,
    DeliveryError,
    Message,
    check_chat_url,
    effective_preference,
    send_chat,
    send_email,
    update_notification_defaults,
    update_notification_preferences,
)
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization
from tests.integrations.conftest import LocalServer, Reply

SLACK = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
MESSAGE = Message(
    "Subject <b>", "Plain text", "<p>HTML</p>", "**Markdown** [link](https://x.test/)"
)


# --- which chat URLs are accepted ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "service"),
    [
        (SLACK, "Slack"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#okrs", "Slack"),
        ("discord://123456/abcdefghijkl", "Discord"),
    ],
)
def test_vendor_chat_urls_are_accepted_without_an_allowed_host(url: str, service: str) -> None:
    assert check_chat_url(url, []) == service


TEAMS_WORKFLOW = (
    "https://prod-12.westus.logic.azure.com:443/workflows/643e69f83c8944438d68119179a10a64/"
    "triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
    "&sig=KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A"
)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("jsons://chat.example.com/hooks/okr", "chat.example.com"),
        ("https://mattermost.example.com/hooks/abcdefghijklmnop", "mattermost.example.com"),
        ("mmosts://chat.example.com/abcdefghijklmnop", "chat.example.com"),
        (TEAMS_WORKFLOW, "prod-12.westus.logic.azure.com"),  # Microsoft Teams, 222 characters
    ],
)
def test_a_self_hosted_service_needs_its_host_on_the_allowed_list(url: str, host: str) -> None:
    with pytest.raises(ChatUrlError, match="not on this organization's list of allowed hosts"):
        check_chat_url(url, ["other.example.com"])
    assert check_chat_url(url, [host])
    assert check_chat_url(url, ["*." + host.split(".", 1)[1]])


def test_the_allowed_host_check_uses_the_port() -> None:
    with pytest.raises(ChatUrlError):
        check_chat_url("json://10.0.0.5:8080/hook", ["10.0.0.5:9090"])
    assert check_chat_url("json://10.0.0.5:8080/hook", ["10.0.0.5:8080"]) == "JSON"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "enter a chat webhook URL"),
        ("not a url", "one line"),
        ("https://example.com/plain", "not a chat webhook URL Milepost understands"),
        ("mailto://user:secret@gmail.com", "is not a chat service"),
        ("x" * 3000, "at most 2000"),
    ],
)
def test_unusable_chat_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ChatUrlError, match=message) as caught:
        check_chat_url(url, ["gmail.com", "example.com"])
    assert "secret" not in str(caught.value)


# --- a member's own settings ---------------------------------------------------------------------


def test_member_sets_channel_day_and_chat_webhook(org: Organization, member: Actor) -> None:
    membership = update_notification_preferences(
        actor=member, channel="chat", checkin_weekday=4, chat_url=SLACK
    )
    membership.refresh_from_db()
    assert (membership.notification_channel, membership.checkin_weekday) == ("chat", 4)
    webhook = ChatWebhook.objects.get(organization=org, user=member.user)
    assert (webhook.url, webhook.service) == (SLACK, "Slack")
    preference = effective_preference(membership, org)
    assert (preference.channel, preference.weekday) == ("chat", 4)
    assert not preference.channel_is_default


def test_chat_webhook_is_encrypted_at_rest_and_never_audited(
    org: Organization, member: Actor
) -> None:
    update_notification_preferences(
        actor=member, channel="chat", checkin_weekday=None, chat_url=SLACK
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM integrations_chatwebhook")
        (stored,) = cursor.fetchone()
    assert stored.startswith("enc1:")
    assert "hooks.slack.com" not in stored
    event = AuditEvent.objects.get(action="membership.notifications")
    assert event.actor_id == member.user_id
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in json.dumps([event.before, event.after])
    assert event.after == {"notification_channel": "chat", "chat_webhook": "Slack (set)"}


def test_choosing_chat_needs_a_webhook_and_bad_input_writes_nothing(
    org: Organization, member: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        update_notification_preferences(actor=member, channel="chat", checkin_weekday=9)
    assert set(caught.value.errors) == {"checkin_weekday", "chat_url"}
    with pytest.raises(InvalidInput) as caught:
        update_notification_preferences(
            actor=member, channel="email", checkin_weekday=1, chat_url="json://internal.test/x"
        )
    assert "allowed hosts" in caught.value.errors["chat_url"][0]
    membership = Membership.objects.get(organization=org, user=member.user)
    assert (membership.notification_channel, membership.checkin_weekday) == ("", None)
    assert not ChatWebhook.objects.exists()
    assert not AuditEvent.objects.filter(action="membership.notifications").exists()


def test_removing_the_webhook_and_going_back_to_the_defaults(
    org: Organization, member: Actor
) -> None:
    update_notification_preferences(actor=member, channel="chat", checkin_weekday=2, chat_url=SLACK)
    with pytest.raises(InvalidInput):  # still on chat: the webhook cannot go
        update_notification_preferences(
            actor=member, channel="chat", checkin_weekday=2, remove_chat_url=True
        )
    update_notification_preferences(
        actor=member, channel="", checkin_weekday=None, remove_chat_url=True
    )
    assert not ChatWebhook.objects.exists()
    membership = Membership.objects.get(organization=org, user=member.user)
    preference = effective_preference(membership, org)
    assert (preference.channel, preference.weekday) == ("email", 0)
    assert preference.channel_is_default
    assert preference.weekday_is_default
    last = AuditEvent.objects.filter(action="membership.notifications").first()
    assert last is not None
    assert last.after == {
        "notification_channel": "",
        "checkin_weekday": None,
        "chat_webhook": "(removed)",
    }


def test_viewers_choose_their_reminders_too(viewer: Actor) -> None:
    membership = update_notification_preferences(actor=viewer, channel="none", checkin_weekday=None)
    assert membership.notification_channel == "none"


# --- the organization's defaults -----------------------------------------------------------------


def test_admins_set_the_organization_defaults(org: Organization, admin: Actor) -> None:
    updated = update_notification_defaults(actor=admin, channel="chat", checkin_weekday=4)
    assert (updated.default_notification_channel, updated.default_checkin_weekday) == ("chat", 4)
    event = AuditEvent.objects.get(action="organization.update")
    assert event.after == {"default_notification_channel": "chat", "default_checkin_weekday": 4}


def test_members_cannot_change_the_defaults_and_bad_values_are_refused(
    org: Organization, member: Actor, admin: Actor
) -> None:
    with pytest.raises(PermissionDenied):
        update_notification_defaults(actor=member, channel="none", checkin_weekday=1)
    with pytest.raises(InvalidInput) as caught:
        update_notification_defaults(actor=admin, channel="pigeon", checkin_weekday=7)
    assert set(caught.value.errors) == {"default_notification_channel", "default_checkin_weekday"}
    org.refresh_from_db()
    assert (org.default_notification_channel, org.default_checkin_weekday) == ("email", 0)


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def member_client(member: Actor) -> Client:
    client = Client()
    assert member.user is not None
    client.force_login(member.user)
    return client


def test_profile_page_shows_the_reminder_card_and_saves_it(
    org: Organization, member: Actor, member_client: Client, allowed: AllowedHost
) -> None:
    page = member_client.get(reverse("web:settings-profile")).content.decode()
    assert 'id="notifications"' in page
    assert "Organization default (email)" in page
    assert "Organization default (Monday)" in page
    response = member_client.post(
        reverse("web:notification-preferences"),
        {
            "channel": "chat",
            "checkin_weekday": "2",
            "chat_url": "json://127.0.0.1:8999/hook?token=s3cret",
            "next": reverse("web:settings-profile"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:settings-profile")
    page = member_client.get(reverse("web:settings-profile")).content.decode()
    assert "Reminder settings saved." in page
    assert "<strong>Chat</strong> on <strong>Wednesdays</strong>" in page
    assert "chat webhook: JSON" in page
    assert "s3cret" not in page  # the URL is never shown again


def test_profile_form_shows_the_reason_a_url_is_refused(member_client: Client) -> None:
    response = member_client.post(
        reverse("web:notification-preferences"),
        {"channel": "chat", "checkin_weekday": "", "chat_url": "json://intranet.test/hook"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "not on this organization&#x27;s list of allowed hosts" in page
    assert "intranet.test/hook" not in page


def test_organization_page_has_the_defaults_card_for_admins(
    org: Organization, admin: Actor, member_client: Client
) -> None:
    client = Client()
    assert admin.user is not None
    client.force_login(admin.user)
    page = client.get(reverse("web:organization-edit")).content.decode()
    assert 'id="notification-defaults"' in page
    response = client.post(
        reverse("web:notification-defaults"),
        {
            "default_notification_channel": "none",
            "default_checkin_weekday": "3",
            "next": reverse("web:organization-edit"),
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.default_notification_channel, org.default_checkin_weekday) == ("none", 3)
    # Members may not.
    denied = member_client.post(
        reverse("web:notification-defaults"),
        {"default_notification_channel": "email", "default_checkin_weekday": "0"},
    )
    assert denied.status_code == 403
    org.refresh_from_db()
    assert org.default_notification_channel == "none"


# --- channels ------------------------------------------------------------------------------------


def test_email_has_text_and_html() -> None:
    send_email("ana@acme.test", MESSAGE)
    (sent,) = mail.outbox
    assert sent.subject == "Subject <b>"
    assert sent.body == "Plain text"
    assert sent.alternatives[0].content == "<p>HTML</p>"  # type: ignore[attr-defined]
    with pytest.raises(DeliveryError):
        send_email("", MESSAGE)


def test_chat_posts_to_a_local_receiver(server: LocalServer) -> None:
    server.routes["/hook"] = Reply(200, b"ok")
    send_chat(f"json://127.0.0.1:{server.port}/hook", MESSAGE, allowed=["127.0.0.1"])
    (request,) = server.received
    body = json.loads(request.body)
    assert body["title"] == "Subject <b>"
    assert body["message"] == MESSAGE.chat


def test_chat_errors_say_why(server: LocalServer) -> None:
    server.routes["/hook"] = Reply(404, b"no")
    with pytest.raises(DeliveryError, match="404"):
        send_chat(f"json://127.0.0.1:{server.port}/hook", MESSAGE, allowed=["127.0.0.1"])
    with pytest.raises(DeliveryError, match="allowed hosts"):
        send_chat(f"json://127.0.0.1:{server.port}/hook", MESSAGE, allowed=[])
    assert len(server.received) == 1  # the refused one never connected
