"""Fetch-and-authorise: organization isolation, roles, team/private visibility, archived rows,
and API tokens scoped to one key result."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from milepost.accounts.models import ApiToken, hash_token
from milepost.errors import Conflict, NotFound, PermissionDenied
from milepost.okrs import services
from milepost.okrs.access import (
    access_alignment,
    access_checkin,
    access_cycle,
    access_key_result,
    access_objective,
)
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.okrs.querysets import can_see_objective, objective_visibility_q
from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization, Role, Team
from tests import factories
from tests.okrs.conftest import member_of

pytestmark = pytest.mark.django_db


def test_another_organizations_rows_are_not_found(
    outsider: Actor, admin: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult
) -> None:
    parent = factories.make_objective(cycle, "company")
    link = services.align_objective(actor=admin, child=objective, parent_objective=parent)
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(120))
    for fetch in (
        lambda: access_cycle(outsider, cycle.pk),
        lambda: access_objective(outsider, objective.pk),
        lambda: access_key_result(outsider, key_result.pk),
        lambda: access_checkin(outsider, checkin.pk),
        lambda: access_alignment(outsider, link.pk),
        lambda: access_objective(outsider, objective.pk, include_archived=True),
    ):
        with pytest.raises(NotFound):
            fetch()


def test_viewer_reads_but_does_not_write(
    viewer: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult
) -> None:
    assert access_cycle(viewer, cycle.pk) == cycle
    assert access_objective(viewer, objective.pk) == objective
    assert access_key_result(viewer, key_result.pk) == key_result
    for fetch in (
        lambda: access_cycle(viewer, cycle.pk, write=True),
        lambda: access_objective(viewer, objective.pk, write=True),
        lambda: access_key_result(viewer, key_result.pk, write=True),
        lambda: access_key_result(viewer, key_result.pk, checkin=True),
    ):
        with pytest.raises(PermissionDenied):
            fetch()


def test_viewer_gets_permission_denied_from_every_write(
    viewer: Actor, cycle: Cycle, objective: Objective, key_result: KeyResult
) -> None:
    with pytest.raises(PermissionDenied):
        services.update_cycle(actor=viewer, cycle=cycle, changes={"name": "x"})
    with pytest.raises(PermissionDenied):
        services.update_objective(actor=viewer, objective=objective, changes={"title": "x"})
    with pytest.raises(PermissionDenied):
        services.archive_objective(actor=viewer, objective=objective)
    with pytest.raises(PermissionDenied):
        services.create_key_result(
            actor=viewer,
            objective=objective,
            key="k",
            title="K",
            kind="increase",
            start_value=Decimal(0),
            target_value=Decimal(1),
        )
    with pytest.raises(PermissionDenied):
        services.update_key_result(actor=viewer, key_result=key_result, changes={"title": "x"})
    with pytest.raises(PermissionDenied):
        services.record_checkin(actor=viewer, key_result=key_result, value=Decimal(1))


def test_member_edits_only_own_or_team_items(
    org: Organization,
    team_member: Actor,
    member: Actor,
    cycle: Cycle,
    objective: Objective,
    key_result: KeyResult,
    other_team: Team,
) -> None:
    # In the owner team: may edit the objective and its key results, and check in.
    assert access_objective(team_member, objective.pk, write=True) == objective
    assert access_key_result(team_member, key_result.pk, write=True, checkin=True) == key_result
    # Not in the team: reads an organization-wide objective, edits nothing.
    assert access_objective(member, objective.pk) == objective
    with pytest.raises(PermissionDenied):
        access_objective(member, objective.pk, write=True)
    with pytest.raises(PermissionDenied):
        access_key_result(member, key_result.pk, checkin=True)
    # Owning a key result in someone else's objective: that key result only.
    key_result.owner = member.user
    key_result.save()
    assert access_key_result(member, key_result.pk, write=True, checkin=True) == key_result
    with pytest.raises(PermissionDenied):
        access_objective(member, objective.pk, write=True)
    # Owning an objective personally.
    own = factories.make_objective(cycle, "mine", owner_user=member.user, owner_team=other_team)
    assert access_objective(member, own.pk, write=True) == own


def test_admin_edits_everything_and_cycles_are_for_admins(
    admin: Actor, member: Actor, cycle: Cycle, objective: Objective
) -> None:
    assert access_objective(admin, objective.pk, write=True) == objective
    assert access_cycle(admin, cycle.pk, write=True) == cycle
    with pytest.raises(PermissionDenied):
        access_cycle(member, cycle.pk, write=True)


@pytest.mark.parametrize("visibility", ["team", "private"])
def test_team_and_private_objectives_are_invisible_outside_the_team(
    admin: Actor,
    team_member: Actor,
    member: Actor,
    viewer: Actor,
    cycle: Cycle,
    team: Team,
    visibility: str,
) -> None:
    hidden = factories.make_objective(cycle, "secret", owner_team=team, visibility=visibility)
    kr = factories.make_key_result(hidden, "kr")
    checkin = services.record_checkin(actor=admin, key_result=kr, value=Decimal(5))
    public = factories.make_objective(cycle, "public")
    link = services.align_objective(actor=admin, child=public, parent_objective=hidden)
    for outsider in (member, viewer):
        for fetch in (
            lambda a=outsider: access_objective(a, hidden.pk),
            lambda a=outsider: access_key_result(a, kr.pk),
            lambda a=outsider: access_checkin(a, checkin.pk),
            lambda a=outsider: access_alignment(a, link.pk),
        ):
            with pytest.raises(NotFound):
                fetch()
    assert access_objective(team_member, hidden.pk) == hidden
    assert access_checkin(team_member, checkin.pk) == checkin
    assert access_alignment(team_member, link.pk) == link
    assert access_objective(admin, hidden.pk) == hidden


def test_private_objective_is_visible_to_its_owner(
    org: Organization, member: Actor, cycle: Cycle
) -> None:
    mine = factories.make_objective(cycle, "mine", owner_user=member.user, visibility="private")
    assert access_objective(member, mine.pk) == mine
    stranger = member_of(org, None, "stranger@acme.test")
    with pytest.raises(NotFound):
        access_objective(stranger, mine.pk)


def test_archived_rows_need_include_archived(
    admin: Actor, objective: Objective, key_result: KeyResult
) -> None:
    services.archive_key_result(actor=admin, key_result=key_result)
    with pytest.raises(NotFound):
        access_key_result(admin, key_result.pk)
    assert access_key_result(admin, key_result.pk, include_archived=True) == key_result
    services.archive_objective(actor=admin, objective=objective)
    with pytest.raises(NotFound):
        access_objective(admin, objective.pk)
    assert access_objective(admin, objective.pk, include_archived=True) == objective


def test_alignment_write_needs_rights_on_the_child(
    admin: Actor, team_member: Actor, member: Actor, cycle: Cycle, objective: Objective
) -> None:
    parent = factories.make_objective(cycle, "company")
    link = services.align_objective(actor=admin, child=objective, parent_objective=parent)
    assert access_alignment(team_member, link.pk, write=True) == link
    with pytest.raises(PermissionDenied):
        access_alignment(member, link.pk, write=True)
    with pytest.raises(PermissionDenied):
        services.unalign_objective(actor=member, alignment=link)


def test_token_scoped_to_a_key_result_checks_in_there_only(
    org: Organization, admin: Actor, objective: Objective, key_result: KeyResult
) -> None:
    other = factories.make_key_result(objective, "other")
    user = admin.user
    assert user is not None
    token = ApiToken.objects.create(
        organization=org,
        user=user,
        name="pusher",
        role=Role.ADMIN,
        key_result=key_result,
        prefix="mp_x",
        token_hash=hash_token("mp_x-secret"),
    )
    actor = actor_for(user, org, token=token)
    assert access_key_result(actor, key_result.pk, checkin=True) == key_result
    services.record_checkin(actor=actor, key_result=key_result, value=Decimal(150))
    with pytest.raises(PermissionDenied):
        access_key_result(actor, other.pk, checkin=True)
    with pytest.raises(PermissionDenied):
        services.record_checkin(actor=actor, key_result=other, value=Decimal(1))
    with pytest.raises(PermissionDenied):
        access_key_result(actor, key_result.pk, write=True)
    with pytest.raises(PermissionDenied):
        access_objective(actor, objective.pk, write=True)


def test_admin_registers_every_model_and_keeps_the_history_read_only(rf: Any) -> None:
    from django.apps import apps
    from django.contrib import admin

    from milepost.accounts.models import User
    from milepost.audit.models import AuditEvent
    from milepost.okrs.models import CheckIn

    # Every app of the project, so a new app or model cannot be left out.
    labels = {c.label for c in apps.get_app_configs() if c.name.startswith("milepost.")}
    assert labels >= {
        "okrs",
        "accounts",
        "organizations",
        "audit",
        "roadmap",
        "work",
        "integrations",
        "plans",
        "reports",
    }
    for label in sorted(labels):
        for model in apps.get_app_config(label).get_models():
            assert model in admin.site._registry, model
    request = rf.get("/admin/")
    request.user = User(is_staff=True, is_superuser=True, is_active=True)
    for model in (AuditEvent, CheckIn):
        model_admin = admin.site._registry[model]
        assert model_admin.has_view_permission(request)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_the_admin_never_shows_an_encrypted_secret(client: Any, org: Organization) -> None:
    from django.apps import apps
    from django.contrib import admin
    from django.urls import reverse

    from milepost.accounts.models import User
    from milepost.integrations.crypto import EncryptedTextField
    from milepost.integrations.models import ChatWebhook

    secret = "slack://T000/B000/very-secret-token"
    user = factories.make_member(org, email="chat@acme.test")
    hook = ChatWebhook.objects.create(organization=org, user=user, url=secret, service="Slack")
    staff = User.objects.create_superuser("root@acme.test", "correct horse 42")
    client.force_login(staff)
    pages = [
        reverse("admin:integrations_chatwebhook_changelist"),
        reverse("admin:integrations_chatwebhook_change", args=[hook.pk]),
        reverse("admin:integrations_notificationlog_changelist"),
        reverse("admin:integrations_findingscan_changelist"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "very-secret-token" not in response.content.decode(), url
    assert "Slack" in client.get(pages[0]).content.decode()
    # No admin of any model lists, shows or searches an encrypted field.
    request = client.get(pages[0]).wsgi_request
    for model in apps.get_models():
        secrets = {f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)}
        if not secrets or model not in admin.site._registry:
            continue
        model_admin = admin.site._registry[model]
        shown = set(model_admin.get_fields(request)) | set(model_admin.get_list_display(request))
        shown |= set(model_admin.get_search_fields(request))
        assert not secrets & shown, (model, secrets & shown)


@pytest.mark.parametrize("visibility", ["organization", "team", "private"])
def test_can_see_objective_is_the_visibility_filter_in_python(
    admin: Actor,
    team_member: Actor,
    member: Actor,
    viewer: Actor,
    cycle: Cycle,
    team: Team,
    visibility: str,
) -> None:
    """`can_see_objective` (for a row already read, as the check-in's lock reads it) and
    `objective_visibility_q` (for a query) are one rule: they agree for every actor on an
    objective of a team, of a user, and of neither."""
    objectives = [
        factories.make_objective(cycle, "team", owner_team=team, visibility=visibility),
        factories.make_objective(
            cycle, "users", owner_user=member.user, owner_team=None, visibility=visibility
        ),
        factories.make_objective(cycle, "nobody", owner_team=None, visibility=visibility),
    ]
    for actor in (admin, team_member, member, viewer):
        seen = set(
            Objective.objects.filter(pk__in=[o.pk for o in objectives])
            .filter(objective_visibility_q(actor))
            .values_list("pk", flat=True)
        )
        assert {o.pk for o in objectives if can_see_objective(actor, o)} == seen, actor.label
    if visibility != "organization":  # the rule does hide something
        assert not can_see_objective(viewer, objectives[0])


@pytest.mark.parametrize("visibility", ["team", "private"])
def test_a_checkin_by_id_finds_only_what_the_actor_sees(
    admin: Actor,
    member: Actor,
    team_member: Actor,
    cycle: Cycle,
    team: Team,
    visibility: str,
    counts: Callable[[], dict[str, int]],
) -> None:
    """The check-in service reads the key result itself: given an id, one under an
    objective the actor cannot see is not found (as `access_key_result` would say), and
    nothing is written; the team's member checks in on it."""
    hidden = factories.make_objective(cycle, "secret", owner_team=team, visibility=visibility)
    kr = factories.make_key_result(hidden, "kr", owner=member.user)
    before = counts()
    # The member owns the key result, so may check in on it, but does not see its objective.
    with pytest.raises(NotFound):
        services.record_checkin(actor=member, key_result=kr.pk, value=Decimal(5))
    with pytest.raises(NotFound):
        services.record_checkin(actor=member, key_result=kr, value=Decimal(5))
    assert counts() == before
    checkin = services.record_checkin(actor=team_member, key_result=kr.pk, value=Decimal(5))
    assert checkin.key_result_id == kr.pk
    assert services.record_checkin(actor=admin, key_result=kr.pk, value=Decimal(6)).value == 6


def test_a_checkin_by_id_on_an_archived_key_result_is_not_found(
    admin: Actor,
    objective: Objective,
    key_result: KeyResult,
    counts: Callable[[], dict[str, int]],
) -> None:
    """By id, an archived key result (or one under an archived objective) is not found, as
    every lookup by id; given the row itself, the refusal says why (a conflict)."""
    services.archive_key_result(actor=admin, key_result=key_result)
    before = counts()
    with pytest.raises(NotFound):
        services.record_checkin(actor=admin, key_result=key_result.pk, value=Decimal(1))
    with pytest.raises(Conflict, match="archived"):
        services.record_checkin(actor=admin, key_result=key_result, value=Decimal(1))
    assert counts() == before
    services.restore_key_result(actor=admin, key_result=key_result)
    services.archive_objective(actor=admin, objective=objective)
    before = counts()
    with pytest.raises(NotFound):
        services.record_checkin(actor=admin, key_result=key_result.pk, value=Decimal(1))
    assert counts() == before


def test_a_checkin_by_id_of_another_organization_is_not_found(
    outsider: Actor, key_result: KeyResult, counts: Callable[[], dict[str, int]]
) -> None:
    before = counts()
    for given in (key_result.pk, key_result):
        with pytest.raises(NotFound):
            services.record_checkin(actor=outsider, key_result=given, value=Decimal(1))
    assert counts() == before
