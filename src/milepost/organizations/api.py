"""REST endpoints: the organization and its settings, members, teams."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from milepost.accounts.services import ensure_user
from milepost.api.auth import org_actor
from milepost.api.common import PathId, Slug, changes_of, member_user, reference, responses
from milepost.api.etag import require_current, required_version, set_etag
from milepost.api.pagination import page_of, paginate
from milepost.errors import NotFound
from milepost.organizations import services
from milepost.organizations.access import Actor, access_membership, access_team
from milepost.organizations.models import Membership, Organization, Role, Team
from milepost.organizations.schemas import (
    MemberIn,
    MemberOut,
    MemberPatch,
    MemberQuery,
    OrganizationOut,
    OrganizationPatch,
    TeamIn,
    TeamMemberIn,
    TeamOut,
    TeamPatch,
    TeamQuery,
)

router = Router(tags=["organization"])

ORG = "/orgs/{slug}"


def _organization_out(actor: Actor, organization: Organization) -> dict[str, Any]:
    data = OrganizationOut.model_validate(
        {
            **{
                f: getattr(organization, f)
                for f in OrganizationOut.model_fields
                if f != "your_role"
            },
            "your_role": str(actor.role),
        }
    )
    return data.model_dump()


@router.get(ORG, response=responses({200: OrganizationOut}))
def get_organization(request: HttpRequest, slug: Slug, response: HttpResponse) -> Any:
    """The organization, its settings, and your role in it."""
    actor = org_actor(request, slug)
    organization = Organization.objects.get(pk=actor.organization_id)
    set_etag(response, organization)
    return _organization_out(actor, organization)


@router.patch(ORG, response=responses({200: OrganizationOut}))
def update_organization(
    request: HttpRequest, slug: Slug, payload: OrganizationPatch, response: HttpResponse
) -> Any:
    """Change the organization's name or settings (owners only; If-Match required)."""
    actor = org_actor(request, slug)
    actor.require(Role.OWNER, "change organization settings")
    version = required_version(request)
    organization = services.update_organization_settings(
        actor=actor, changes=changes_of(payload), expected_version=version
    )
    set_etag(response, organization)
    return _organization_out(actor, organization)


# Members -------------------------------------------------------------------------------


def _members(actor: Actor) -> Any:
    return Membership.objects.filter(
        organization_id=actor.organization_id, archived_at__isnull=True
    ).select_related("user")


@router.get(f"{ORG}/members", response=responses({200: page_of(MemberOut)}), tags=["members"])
def list_members(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[MemberQuery]
) -> Any:
    """Active members of the organization."""
    actor = org_actor(request, slug)
    qs = _members(actor)
    if params.role:
        qs = qs.filter(role=params.role)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/members", response=responses({201: MemberOut}), tags=["members"])
def add_member(request: HttpRequest, slug: Slug, payload: MemberIn, response: HttpResponse) -> Any:
    """Add a person by email (owners only). A person without an account gets one they
    activate by resetting their password."""
    actor = org_actor(request, slug)
    actor.require(Role.OWNER, "add members")
    with transaction.atomic():  # no account is left behind when the membership is refused
        user = ensure_user(email=str(payload.email), full_name=payload.full_name)
        membership = services.add_member(actor=actor, user=user, role=Role(payload.role))
    membership = _members(actor).get(pk=membership.pk)
    set_etag(response, membership)
    return Status(201, membership)


def _member(actor: Actor, membership_id: PathId) -> Membership:
    membership = access_membership(actor, membership_id)
    if membership.archived_at is not None:
        raise NotFound("Member not found.")
    return membership


@router.get(
    f"{ORG}/members/{{membership_id}}", response=responses({200: MemberOut}), tags=["members"]
)
def get_member(
    request: HttpRequest, slug: Slug, membership_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    membership = _member(actor, membership_id)
    set_etag(response, membership)
    return membership


@router.patch(
    f"{ORG}/members/{{membership_id}}", response=responses({200: MemberOut}), tags=["members"]
)
def change_member_role(
    request: HttpRequest,
    slug: Slug,
    membership_id: PathId,
    payload: MemberPatch,
    response: HttpResponse,
) -> Any:
    """Change a member's role (owners only; the last owner stays an owner)."""
    actor = org_actor(request, slug)
    membership = _member(actor, membership_id)
    actor.require(Role.OWNER, "change roles")
    version = required_version(request)
    membership = services.change_role(
        actor=actor, membership=membership, role=Role(payload.role), expected_version=version
    )
    membership = _members(actor).get(pk=membership.pk)
    set_etag(response, membership)
    return membership


@router.delete(
    f"{ORG}/members/{{membership_id}}", response=responses({204: None}), tags=["members"]
)
def remove_member(request: HttpRequest, slug: Slug, membership_id: PathId) -> Any:
    """Remove a member (owners only). Their history stays; they lose access."""
    actor = org_actor(request, slug)
    membership = _member(actor, membership_id)
    actor.require(Role.OWNER, "remove members")
    require_current(request, membership)
    services.remove_member(actor=actor, membership=membership)
    return Status(204, None)


# Teams ---------------------------------------------------------------------------------


def _teams(actor: Actor) -> Any:
    return Team.objects.of(actor.organization_id).prefetch_related("team_members")


def _team_out(actor: Actor, team_id: PathId, response: HttpResponse) -> Team:
    team: Team = _teams(actor).get(pk=team_id)
    set_etag(response, team)
    return team


@router.get(f"{ORG}/teams", response=responses({200: page_of(TeamOut)}), tags=["teams"])
def list_teams(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[TeamQuery]
) -> Any:
    actor = org_actor(request, slug)
    qs = _teams(actor)
    qs = qs.archived() if params.archived else qs.active()
    if params.parent is not None:
        parent = reference(access_team, actor, params.parent, "parent")
        qs = qs.filter(parent=parent)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


def _team_refs(actor: Actor, payload: TeamIn | TeamPatch) -> dict[str, Any]:
    return {
        "parent": reference(access_team, actor, payload.parent, "parent"),
        "lead": member_user(actor, payload.lead, "lead"),
    }


@router.post(f"{ORG}/teams", response=responses({201: TeamOut}), tags=["teams"])
def create_team(request: HttpRequest, slug: Slug, payload: TeamIn, response: HttpResponse) -> Any:
    """Create a team (admins)."""
    actor = org_actor(request, slug)
    actor.require(Role.ADMIN, "create teams")
    refs = _team_refs(actor, payload)
    team = services.create_team(
        actor=actor,
        key=payload.key,
        name=payload.name,
        parent=refs["parent"],
        capacity_days_per_week=payload.capacity_days_per_week,
        lead=refs["lead"],
    )
    return Status(201, _team_out(actor, team.pk, response))


@router.get(f"{ORG}/teams/{{team_id}}", response=responses({200: TeamOut}), tags=["teams"])
def get_team(request: HttpRequest, slug: Slug, team_id: PathId, response: HttpResponse) -> Any:
    actor = org_actor(request, slug)
    team = access_team(actor, team_id)
    return _team_out(actor, team.pk, response)


@router.patch(f"{ORG}/teams/{{team_id}}", response=responses({200: TeamOut}), tags=["teams"])
def update_team(
    request: HttpRequest, slug: Slug, team_id: PathId, payload: TeamPatch, response: HttpResponse
) -> Any:
    """Rename, move, or change capacity or lead (admins, or the team's lead)."""
    actor = org_actor(request, slug)
    team = access_team(actor, team_id)
    if not (actor.is_admin or (team.lead_id is not None and team.lead_id == actor.user_id)):
        actor.require(Role.ADMIN, "edit this team")
    version = required_version(request)
    changes = changes_of(payload, refs=_team_refs(actor, payload))
    services.update_team(actor=actor, team=team, changes=changes, expected_version=version)
    return _team_out(actor, team.pk, response)


@router.delete(f"{ORG}/teams/{{team_id}}", response=responses({204: None}), tags=["teams"])
def archive_team(request: HttpRequest, slug: Slug, team_id: PathId) -> Any:
    """Archive a team (admins); it can be restored."""
    actor = org_actor(request, slug)
    team = access_team(actor, team_id)
    actor.require(Role.ADMIN, "archive teams")
    version = required_version(request)
    services.archive_team(actor=actor, team=team, expected_version=version)
    return Status(204, None)


@router.post(f"{ORG}/teams/{{team_id}}/restore", response=responses({200: TeamOut}), tags=["teams"])
def restore_team(request: HttpRequest, slug: Slug, team_id: PathId, response: HttpResponse) -> Any:
    """Bring an archived team back (admins)."""
    actor = org_actor(request, slug)
    team = access_team(actor, team_id, include_archived=True)
    actor.require(Role.ADMIN, "restore teams")
    services.restore_team(actor=actor, team=team)
    return _team_out(actor, team.pk, response)


@router.post(f"{ORG}/teams/{{team_id}}/members", response=responses({200: TeamOut}), tags=["teams"])
def add_team_member(
    request: HttpRequest, slug: Slug, team_id: PathId, payload: TeamMemberIn, response: HttpResponse
) -> Any:
    """Put a member of the organization in the team (admins)."""
    actor = org_actor(request, slug)
    team = access_team(actor, team_id)
    actor.require(Role.ADMIN, "change team members")
    user = member_user(actor, payload.user, "user")
    if user is not None and not team.team_members.filter(user=user).exists():
        services.add_team_member(actor=actor, team=team, user=user)
    return _team_out(actor, team.pk, response)


@router.delete(
    f"{ORG}/teams/{{team_id}}/members/{{user_id}}", response=responses({204: None}), tags=["teams"]
)
def remove_team_member(request: HttpRequest, slug: Slug, team_id: PathId, user_id: PathId) -> Any:
    """Take a person out of the team (admins)."""
    actor = org_actor(request, slug)
    team = access_team(actor, team_id)
    actor.require(Role.ADMIN, "change team members")
    member = team.team_members.filter(user_id=user_id).select_related("user").first()
    if member is None:
        raise NotFound("Team member not found.")
    user = member.user
    services.remove_team_member(actor=actor, team=team, user=user)
    return Status(204, None)
