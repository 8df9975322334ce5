"""Who is acting, in which organization, with which role — and fetch-and-authorise helpers.

Every shell (web, API, CLI) turns its credentials into an `Actor` here, then passes it to
the `access_*` helpers of each app, which fetch a row *scoped to the actor's organization*
and check the role in one call. Another organization's object is `NotFound`, never
`PermissionDenied`: its existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from milepost.errors import NotFound, PermissionDenied
from milepost.organizations.models import (
    ROLE_RANK,
    Membership,
    Organization,
    Role,
    Team,
    TeamMember,
)

if TYPE_CHECKING:
    from milepost.accounts.models import ApiToken, User


@dataclass(frozen=True)
class Actor:
    """The acting party: a member of one organization (or the system, with no user)."""

    organization: Organization
    role: Role
    user: User | None = None
    team_ids: frozenset[int] = field(default_factory=frozenset)
    label: str = "system"
    token: ApiToken | None = None

    @property
    def organization_id(self) -> int:
        return self.organization.pk

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def is_admin(self) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[Role.ADMIN]

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    def has_role(self, minimum: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    def require(self, minimum: Role, action: str) -> None:
        """Refuse with PermissionDenied unless the actor's role is at least `minimum`."""
        if not self.has_role(minimum):
            raise PermissionDenied(f"Your role ({self.role}) does not allow you to {action}.")

    def can_edit_owned(self, *, owner_user_id: int | None, team_id: int | None) -> bool:
        """Members edit items they own or that belong to one of their teams; admins all."""
        if self.is_admin:
            return True
        if not self.has_role(Role.MEMBER):
            return False
        return (owner_user_id is not None and owner_user_id == self.user_id) or (
            team_id is not None and team_id in self.team_ids
        )

    def require_edit_owned(
        self, *, owner_user_id: int | None, team_id: int | None, what: str
    ) -> None:
        if not self.can_edit_owned(owner_user_id=owner_user_id, team_id=team_id):
            raise PermissionDenied(
                f"You may only edit {what} that you own or that belong to your teams."
            )


def actor_for(user: User, organization: Organization, *, token: ApiToken | None = None) -> Actor:
    """The actor for a user in an organization; NotFound if they are not a member."""
    membership = (
        Membership.objects.filter(organization=organization, user=user, archived_at__isnull=True)
        .only("role")
        .first()
    )
    if membership is None or not user.is_active:
        raise NotFound("Organization not found.")
    team_ids = frozenset(
        TeamMember.objects.filter(organization=organization, user=user).values_list(
            "team_id", flat=True
        )
    )
    return build_actor(
        user,
        organization,
        role=membership.role,
        team_ids=team_ids,
        token=token,
    )


def build_actor(
    user: User,
    organization: Organization,
    *,
    role: str | None,
    team_ids: frozenset[int],
    token: ApiToken | None = None,
) -> Actor:
    """`actor_for` from rows the caller already read: the user's live membership role in the
    organization (None: not a member, NotFound) and their team ids (for a caller that reads
    them in the same query as the credentials)."""
    if role is None or not user.is_active:
        raise NotFound("Organization not found.")
    member_role = Role(role)
    if token is not None and ROLE_RANK[Role(token.role)] < ROLE_RANK[member_role]:
        member_role = Role(token.role)  # a token never carries more than its own role
    return Actor(
        organization=organization,
        role=member_role,
        user=user,
        team_ids=team_ids,
        label=user.email,
        token=token,
    )


def access_organization(user: User, slug: str) -> Actor:
    """Fetch the organization by slug for a user who is a member of it, else NotFound."""
    organization = Organization.objects.active().filter(slug=slug).first()
    if organization is None:
        raise NotFound("Organization not found.")
    return actor_for(user, organization)


def system_actor(organization: Organization, label: str = "system") -> Actor:
    """An actor for work the system does on its own (data sources, the demo loader)."""
    return Actor(organization=organization, role=Role.OWNER, user=None, label=label)


def access_team(actor: Actor, team_id: int, *, include_archived: bool = False) -> Team:
    qs = Team.objects.of(actor.organization_id)
    if not include_archived:
        qs = qs.active()
    team = qs.filter(pk=team_id).first()
    if team is None:
        raise NotFound("Team not found.")
    return team


def access_membership(actor: Actor, membership_id: int) -> Membership:
    membership = (
        Membership.objects.filter(organization_id=actor.organization_id, pk=membership_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise NotFound("Member not found.")
    return membership
