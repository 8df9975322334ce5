"""Signing in and out, password reset by email, the password change."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from milepost.organizations.access import Actor

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse 42"  # tests.factories.make_user


def test_sign_in_and_out(member: Actor) -> None:
    client = Client()
    page = client.get(reverse("web:login"))
    assert page.status_code == 200
    assert 'for="id_username"' in page.content.decode()
    response = client.post(
        reverse("web:login"), {"username": "member@acme.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert "My week" in client.get(reverse("web:home")).content.decode()
    assert client.post(reverse("web:logout")).status_code == 302
    assert client.get(reverse("web:home")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(member: Actor) -> None:
    response = Client().post(
        reverse("web:login"), {"username": "member@acme.test", "password": "nope"}
    )
    assert response.status_code == 200
    assert "form-errors" in response.content.decode()


def test_password_reset_by_email(member: Actor) -> None:
    client = Client()
    response = client.post(reverse("web:password-reset"), {"email": "member@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Reset your Milepost password"
    link = re.search(r"http://testserver(/password/reset/\S+/)", str(message.body))
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 7", "new_password2": "a brand new passphrase 7"},
    )
    assert done.status_code == 302
    assert Client().login(username="member@acme.test", password="a brand new passphrase 7")


def test_password_reset_for_an_unknown_address_reveals_nothing() -> None:
    response = Client().post(reverse("web:password-reset"), {"email": "nobody@acme.test"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_change_password(member: Actor, member_client: Client) -> None:
    response = member_client.post(
        reverse("web:password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another long passphrase 9",
            "new_password2": "another long passphrase 9",
        },
    )
    assert response.status_code == 302
    assert Client().login(username="member@acme.test", password="another long passphrase 9")


def test_api_tokens_are_created_shown_once_and_revoked(member_client: Client) -> None:
    response = member_client.post(
        reverse("web:token-list"),
        {"name": "export script", "role": "viewer", "expires_in_days": "30"},
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain == [(reverse("web:token-list"), 302)]
    secret = re.search(r'<p class="token-secret" id="new-token">(mp_[^<]+)</p>', html)
    assert secret is not None
    assert "Copy this token now" in html
    again = member_client.get(reverse("web:token-list")).content.decode()
    assert secret.group(1) not in again
    token_id = re.search(r"/settings/tokens/(\d+)/revoke/", again)
    assert token_id is not None
    member_client.post(reverse("web:token-revoke", args=[token_id.group(1)]))
    assert "Revoked" in member_client.get(reverse("web:token-list")).content.decode()


def test_a_token_cannot_have_more_rights_than_its_user(member_client: Client) -> None:
    response = member_client.post(reverse("web:token-list"), {"name": "x", "role": "owner"})
    assert response.status_code == 422
    assert "token-secret" not in response.content.decode()


def test_owners_manage_members_and_settings(
    owner: Actor, owner_client: Client, member: Actor
) -> None:
    response = owner_client.post(
        reverse("web:member-list"),
        {"email": "new.person@acme.test", "full_name": "New Person", "role": "member"},
    )
    assert response.status_code == 302
    assert "new.person@acme.test" in owner_client.get(reverse("web:member-list")).content.decode()
    response = owner_client.post(
        reverse("web:organization-edit"),
        {
            "name": "Acme Corp",
            "timezone": "Europe/Berlin",
            "on_track_gap": "0.1",
            "at_risk_gap": "0.2",
            "over_achievement_cap": "1.5",
            "rollup_mode": "key_results",
            "objective_status_mode": "worst",
            "stale_after_days": "14",
            "max_key_results_per_objective": "5",
            "max_objectives_per_team": "5",
            "output_done_share": "0.8",
            "default_checkin_weekday": "0",
        },
    )
    assert response.status_code == 302
    owner.organization.refresh_from_db()
    assert owner.organization.name == "Acme Corp"
    assert owner.organization.timezone == "Europe/Berlin"


def test_members_do_not_reach_the_admin_settings(member_client: Client) -> None:
    assert member_client.get(reverse("web:member-list")).status_code == 403
    assert member_client.get(reverse("web:organization-edit")).status_code == 403
