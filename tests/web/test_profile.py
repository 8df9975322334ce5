"""The profile page changes the person's name through `update_profile`: validated, audited,
one transaction, the person's own only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from milepost.accounts.models import User
from milepost.accounts.services import create_api_token, update_profile
from milepost.audit.models import AuditEvent
from milepost.errors import InvalidInput, PermissionDenied
from milepost.organizations.access import Actor, actor_for, system_actor
from milepost.organizations.models import Organization, Role
from tests import factories
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


def _name(actor: Actor) -> str:
    assert actor.user is not None
    return User.objects.get(pk=actor.user.pk).full_name


def test_a_person_renames_themselves_and_it_is_audited(member: Actor) -> None:
    assert member.user is not None
    user = update_profile(actor=member, user=member.user, full_name="  Ada   Lovelace \n")
    assert user.full_name == "Ada Lovelace" == _name(member)
    event = AuditEvent.objects.get(action="user.update")
    assert event.target_id == member.user.pk
    assert event.actor_id == member.user.pk
    assert event.after == {"full_name": "Ada Lovelace"}
    # The same name again writes nothing.
    update_profile(actor=member, user=member.user, full_name="Ada Lovelace")
    assert AuditEvent.objects.filter(action="user.update").count() == 1
    # Empty clears it: the person is shown by their email.
    update_profile(actor=member, user=member.user, full_name="   ")
    assert _name(member) == ""
    assert str(User.objects.get(pk=member.user.pk)) == member.user.email


@pytest.mark.parametrize(
    ("name", "message"), [("x" * 201, "at most 200"), ("Ada\x00Lovelace", "control")]
)
def test_a_bad_name_is_refused_and_nothing_is_written(
    member: Actor, name: str, message: str
) -> None:
    assert member.user is not None
    before = _name(member)
    with pytest.raises(InvalidInput, match=message) as refused:
        update_profile(actor=member, user=member.user, full_name=name)
    assert "full_name" in refused.value.errors
    assert _name(member) == before
    assert not AuditEvent.objects.filter(action="user.update").exists()


def test_only_the_person_themselves_signed_in(org: Organization, member: Actor) -> None:
    assert member.user is not None
    owner = actor_for(factories.make_member(org, Role.OWNER, "boss@acme.test"), org)
    with pytest.raises(PermissionDenied):
        update_profile(actor=owner, user=member.user, full_name="Renamed by the boss")
    token, _secret = create_api_token(
        actor=system_actor(org), user=member.user, name="ci", role="member"
    )
    with pytest.raises(PermissionDenied):
        update_profile(
            actor=actor_for(member.user, org, token=token),
            user=member.user,
            full_name="From a script",
        )
    assert _name(member) == ""


def test_the_profile_page_saves_the_name(member: Actor) -> None:
    client = client_for(member)
    url = reverse("web:settings-profile")
    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="profile-form"' in page.content.decode()
    saved = client.post(url, {"full_name": "Grace Hopper"})
    assert saved.status_code == 302
    assert saved["Location"] == url
    assert _name(member) == "Grace Hopper"
    again = client.get(url).content.decode()
    assert 'value="Grace Hopper"' in again
    assert "Your profile is saved." in again
    assert AuditEvent.objects.filter(action="user.update").count() == 1


def test_the_profile_page_shows_a_refusal_beside_the_field(member: Actor) -> None:
    client = client_for(member)
    refused = client.post(reverse("web:settings-profile"), {"full_name": "Bad\x07name"})
    assert refused.status_code == 422
    assert "control characters" in refused.content.decode()
    assert _name(member) == ""
