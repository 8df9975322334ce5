"""Signing in: Argon2 hashes, the account lock after repeated failures (and its unlock by an
admin: members page, Django admin, CLI), the per-address throttle with Retry-After, and
sessions rotated at sign-in and invalidated at sign-out and password change."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.urls import reverse

from milepost import cli
from milepost.accounts.models import User
from milepost.accounts.signin import (
    INVALID_MESSAGE,
    LOCKED_MESSAGE,
    lock_after,
    unlock_user,
)
from milepost.audit.models import AuditEvent
from milepost.config import settings as project_settings
from milepost.errors import NotFound, PermissionDenied
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization, Role
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse 42"
LOGIN = "/login/"


def sign_in(client: Client, email: str, password: str, address: str = "10.0.0.1") -> str:
    response = client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)
    if response.status_code == 302:
        return "signed-in"
    return response.content.decode()


def fail_until_locked(email: str, address: str = "10.0.0.1") -> list[str]:
    return [sign_in(Client(), email, "wrong password", address) for _ in range(lock_after())]


def test_passwords_are_hashed_with_argon2() -> None:
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    with override_settings(PASSWORD_HASHERS=project_settings.PASSWORD_HASHERS):
        user = factories.make_user("argon@example.test")
        assert user.password.startswith("argon2$")
        assert user.check_password(PASSWORD)


def test_the_right_password_signs_in_and_resets_the_failure_count(member: Actor) -> None:
    assert member.user is not None
    email = member.user.email
    for _ in range(lock_after() - 1):
        assert INVALID_MESSAGE in sign_in(Client(), email, "nope")
    assert User.objects.get(pk=member.user.pk).failed_logins == lock_after() - 1
    assert sign_in(Client(), email.upper(), PASSWORD) == "signed-in"  # emails ignore case
    assert User.objects.get(pk=member.user.pk).failed_logins == 0
    for _ in range(lock_after() - 1):  # the count starts again from zero
        sign_in(Client(), email, "nope")
    assert sign_in(Client(), email, PASSWORD) == "signed-in"


def test_repeated_failures_lock_the_account_with_a_clear_message(member: Actor) -> None:
    assert member.user is not None
    email = member.user.email
    pages = fail_until_locked(email)
    assert all(INVALID_MESSAGE in page for page in pages[:-1])
    assert LOCKED_MESSAGE in pages[-1]
    user = User.objects.get(pk=member.user.pk)
    assert user.locked_at is not None
    # Even the right password, from another address, does not open a locked account.
    page = sign_in(Client(), email, PASSWORD, address="10.9.9.9")
    assert LOCKED_MESSAGE in page
    assert "ask an admin to unlock it" in page
    event = AuditEvent.objects.get(action="user.lock", target_id=user.pk)
    assert event.organization_id == member.organization_id
    assert event.before == {"locked_at": None}
    assert event.after is not None
    assert event.after["failed_logins"] == lock_after()


def test_the_django_admin_sign_in_obeys_the_lock(org: Organization) -> None:
    staff = factories.make_member(org, Role.OWNER, "staff@acme.test")
    User.objects.filter(pk=staff.pk).update(is_staff=True, is_superuser=True)
    fail_until_locked(staff.email)
    response = Client().post(
        "/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert "_auth_user_id" not in Client().session


def test_an_unknown_email_answers_like_a_real_account(org: Organization) -> None:
    """Same messages at the same points: sign-in does not reveal which emails exist."""
    factories.make_member(org, Role.MEMBER, "real@acme.test")
    real = fail_until_locked("real@acme.test", address="10.0.0.2")
    ghost = fail_until_locked("ghost@acme.test", address="10.0.0.3")
    assert [INVALID_MESSAGE in p for p in real] == [INVALID_MESSAGE in p for p in ghost]
    assert LOCKED_MESSAGE in real[-1]
    assert LOCKED_MESSAGE in ghost[-1]


def test_an_address_that_fails_too_often_is_throttled_with_retry_after(
    org: Organization, settings: object
) -> None:
    with override_settings(MILEPOST_SIGNIN_ADDRESS_LIMIT="6/600"):
        victim = factories.make_member(org, Role.MEMBER, "victim@acme.test")
        for n in range(6):  # password spraying: one attempt per account
            sign_in(Client(), f"user{n}@acme.test", "Winter2026!", address="10.6.6.6")
        response = Client().post(
            LOGIN, {"username": victim.email, "password": PASSWORD}, REMOTE_ADDR="10.6.6.6"
        )
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 600
        assert "Too many failed sign-ins from your network" in response.content.decode()
        assert "_auth_user_id" not in response.client.session
        # Another address is not affected, and the victim's account is not locked.
        assert sign_in(Client(), victim.email, PASSWORD, address="10.7.7.7") == "signed-in"


def test_an_admin_unlocks_a_member_and_it_is_audited(admin: Actor, member: Actor) -> None:
    assert member.user is not None
    fail_until_locked(member.user.email)
    unlock_user(actor=admin, user=member.user)
    user = User.objects.get(pk=member.user.pk)
    assert user.locked_at is None
    assert user.failed_logins == 0
    event = AuditEvent.objects.get(action="user.unlock", target_id=user.pk)
    assert event.actor_id == admin.user_id
    assert event.before is not None
    assert event.before["locked_at"] is not None
    assert event.before["failed_logins"] == lock_after()
    assert event.after == {"locked_at": None, "failed_logins": 0}
    assert sign_in(Client(), user.email, PASSWORD) == "signed-in"


def test_only_admins_of_the_users_organization_unlock(
    admin: Actor, member: Actor, viewer: Actor, outsider: Actor
) -> None:
    assert member.user is not None
    fail_until_locked(member.user.email)
    with pytest.raises(PermissionDenied):
        unlock_user(actor=viewer, user=member.user)
    with pytest.raises(NotFound):
        unlock_user(actor=outsider, user=member.user)
    Membership.objects.filter(user=member.user).update(archived_at=admin.organization.created_at)
    with pytest.raises(NotFound):  # a former member is not the admin's to unlock
        unlock_user(actor=admin, user=member.user)
    assert User.objects.get(pk=member.user.pk).locked_at is not None
    assert not AuditEvent.objects.filter(action="user.unlock").exists()


def test_the_members_page_shows_the_lock_and_unlocks(owner: Actor, member: Actor) -> None:
    assert owner.user is not None
    assert member.user is not None
    fail_until_locked(member.user.email)
    client = Client()
    client.force_login(owner.user)
    page = client.get(reverse("web:member-list")).content.decode()
    membership = Membership.objects.get(user=member.user)
    unlock_url = reverse("web:member-unlock", args=[membership.pk])
    assert "Locked" in page
    assert f'action="{unlock_url}"' in page
    response = client.post(unlock_url)
    assert response.status_code == 302
    assert User.objects.get(pk=member.user.pk).locked_at is None
    assert f'action="{unlock_url}"' not in client.get(reverse("web:member-list")).content.decode()


def test_the_members_page_unlock_is_not_for_members_or_other_organizations(
    member: Actor, outsider: Actor, admin: Actor
) -> None:
    assert member.user is not None
    assert admin.user is not None
    assert outsider.user is not None
    fail_until_locked(admin.user.email)
    url = reverse("web:member-unlock", args=[Membership.objects.get(user=admin.user).pk])
    as_member = Client()
    as_member.force_login(member.user)
    assert as_member.post(url).status_code == 403
    as_outsider = Client()
    as_outsider.force_login(outsider.user)
    assert as_outsider.post(url).status_code == 404
    assert User.objects.get(pk=admin.user.pk).locked_at is not None


def test_a_superuser_unlocks_in_the_django_admin(member: Actor) -> None:
    assert member.user is not None
    fail_until_locked(member.user.email)
    root = factories.make_user("root@example.test", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_accounts", "_selected_action": [member.user.pk]},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=member.user.pk).locked_at is None
    event = AuditEvent.objects.get(action="user.unlock")
    assert event.actor_id == root.pk
    assert event.organization_id == member.organization_id


def test_the_cli_unlocks(member: Actor, capsys: pytest.CaptureFixture[str]) -> None:
    assert member.user is not None
    fail_until_locked(member.user.email)
    assert cli.main(["unlock", "--email", member.user.email]) == 0
    assert "unlocked" in capsys.readouterr().out
    assert User.objects.get(pk=member.user.pk).locked_at is None
    assert AuditEvent.objects.get(action="user.unlock").actor_label == "cli"


# --- sessions -------------------------------------------------------------------------------


def _session_cookie(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _cookie_works(value: str) -> bool:
    """Whether a browser presenting this session cookie is signed in."""
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = value
    response = client.get(reverse("web:settings-profile"))
    return response.status_code == 200


def test_signing_in_rotates_the_session(member: Actor) -> None:
    assert member.user is not None
    client = Client()
    session = client.session
    session["planted"] = "by an attacker"  # a session fixed before sign-in
    session.save()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = session.session_key or ""
    before = session.session_key
    assert sign_in(client, member.user.email, PASSWORD) == "signed-in"
    after = _session_cookie(client)
    assert after != before
    assert _cookie_works(after)
    assert not _cookie_works(before or "")


def test_signing_out_invalidates_the_session(member: Actor) -> None:
    assert member.user is not None
    client = Client()
    assert sign_in(client, member.user.email, PASSWORD) == "signed-in"
    cookie = _session_cookie(client)
    assert _cookie_works(cookie)
    assert client.post(reverse("web:logout")).status_code == 302
    assert not _cookie_works(cookie)


def test_a_password_change_invalidates_every_old_session(member: Actor) -> None:
    assert member.user is not None
    laptop, phone = Client(), Client()
    assert sign_in(laptop, member.user.email, PASSWORD) == "signed-in"
    assert sign_in(phone, member.user.email, PASSWORD) == "signed-in"
    laptop_cookie, phone_cookie = _session_cookie(laptop), _session_cookie(phone)
    new_password = "a much longer passphrase 2026"
    response = laptop.post(
        reverse("web:password-change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert not _cookie_works(phone_cookie)  # the other device is signed out
    assert not _cookie_works(laptop_cookie)  # the changing session got a new key
    assert _cookie_works(_session_cookie(laptop))
