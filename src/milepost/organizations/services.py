"""Writes for organizations, memberships and teams. Keyword-only, an explicit actor, one
transaction, an audit event each (see `milepost.servicekit`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import batched
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.text import slugify

from milepost.audit.services import record_created
from milepost.errors import Conflict, InvalidInput
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Membership, Organization, Role, Team, TeamMember
from milepost.servicekit import apply_update, archive, create_audited, restore, save_validated

if TYPE_CHECKING:
    from milepost.accounts.models import User

ORGANIZATION_SETTINGS = (
    "name",
    "timezone",
    "on_track_gap",
    "at_risk_gap",
    "allow_over_achievement",
    "over_achievement_cap",
    "rollup_mode",
    "objective_status_mode",
    "stale_after_days",
    "max_key_results_per_objective",
    "max_objectives_per_team",
    "output_done_share",
    "default_checkin_weekday",
    "default_notification_channel",
)
TEAM_FIELDS = ("key", "name", "parent", "capacity_days_per_week", "lead")


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput.field("timezone", f"unknown time zone {name!r}") from exc


@transaction.atomic
def create_organization(
    *, owner: User | None, name: str, slug: str = "", timezone: str = "UTC"
) -> Organization:
    """Create an organization; `owner` (if given) becomes its first member with role owner."""
    _check_timezone(timezone)
    organization = Organization(
        name=name.strip(), slug=slug or slugify(name)[:60], timezone=timezone
    )
    save_validated(organization)
    actor = system_actor(organization)
    if owner is not None:
        membership = Membership(organization=organization, user=owner, role=Role.OWNER)
        save_validated(membership)
        actor = Actor(organization=organization, role=Role.OWNER, user=owner, label=owner.email)
    from milepost.audit.services import record_event, snapshot

    record_event(
        actor=actor, action="organization.create", target=organization, after=snapshot(organization)
    )
    return organization


@transaction.atomic
def update_organization_settings(
    *, actor: Actor, changes: dict[str, Any], expected_version: int | None = None
) -> Organization:
    """Change the organization's name or settings (owners only)."""
    actor.require(Role.OWNER, "change organization settings")
    organization = Organization.objects.select_for_update().get(pk=actor.organization_id)
    if "timezone" in changes:
        _check_timezone(str(changes["timezone"]))
    return apply_update(
        actor=actor,
        instance=organization,
        changes=changes,
        allowed=ORGANIZATION_SETTINGS,
        expected_version=expected_version,
        action="organization.update",
    )


@transaction.atomic
def add_member(*, actor: Actor, user: User, role: Role = Role.MEMBER) -> Membership:
    """Add a person to the organization (owners only; only an owner can make an owner)."""
    actor.require(Role.OWNER, "add members")
    existing = Membership.objects.filter(organization_id=actor.organization_id, user=user).first()
    if existing is not None and existing.archived_at is None:
        raise Conflict(f"{user.email} is already a member.")
    if existing is not None:  # a former member comes back
        restore(actor=actor, instance=existing)
        return apply_update(
            actor=actor, instance=existing, changes={"role": role}, allowed=["role"]
        )
    membership = Membership(organization_id=actor.organization_id, user=user, role=role)
    return create_audited(actor=actor, instance=membership)


@transaction.atomic
def add_members(
    *, actor: Actor, users: Sequence[User], role: Role = Role.MEMBER
) -> list[Membership]:
    """`add_member` for many people at once (an import naming thousands): the same rules,
    rows and audit events, in a few queries rather than a few per person. Returns the
    memberships in the order of ``users``."""
    actor.require(Role.OWNER, "add members")
    earlier = {
        m.user_id: m
        for ids in batched(sorted({u.pk for u in users}), 10_000)  # SQLite's bound values
        for m in Membership.objects.filter(organization_id=actor.organization_id, user_id__in=ids)
    }
    # The organization as an instance: each audit event names it (one query per member else).
    fresh = {
        user.pk: Membership(organization=actor.organization, user=user, role=role)
        for user in users
        if user.pk not in earlier
    }
    Membership.objects.bulk_create(list(fresh.values()))
    record_created(actor=actor, instances=list(fresh.values()))
    # A current member is a conflict, a former one comes back: `add_member` decides.
    return [
        fresh[user.pk] if user.pk in fresh else add_member(actor=actor, user=user, role=role)
        for user in users
    ]


@transaction.atomic
def change_role(
    *, actor: Actor, membership: Membership, role: Role, expected_version: int | None = None
) -> Membership:
    """Change a member's role. The last owner cannot be demoted."""
    actor.require(Role.OWNER, "change roles")
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(
            organization_id=actor.organization_id, role=Role.OWNER, archived_at__isnull=True
        ).count()
        if owners <= 1:
            raise Conflict("The organization needs at least one owner.")
    return apply_update(
        actor=actor,
        instance=locked,
        changes={"role": role},
        allowed=["role"],
        expected_version=expected_version,
        action="membership.role",
    )


@transaction.atomic
def remove_member(*, actor: Actor, membership: Membership) -> Membership:
    """Archive a membership (the person loses access; their history stays)."""
    actor.require(Role.OWNER, "remove members")
    if membership.role == Role.OWNER:
        owners = Membership.objects.filter(
            organization_id=actor.organization_id, role=Role.OWNER, archived_at__isnull=True
        ).count()
        if owners <= 1:
            raise Conflict("The organization needs at least one owner.")
    return archive(actor=actor, instance=membership)


def _check_team_parent(team: Team, parent: Team | None) -> None:
    node = parent
    while node is not None:
        if node.pk == team.pk and team.pk is not None:
            raise InvalidInput.field(
                "parent", "a team cannot be placed under itself or its own sub-team"
            )
        node = node.parent


@transaction.atomic
def create_team(
    *,
    actor: Actor,
    key: str,
    name: str,
    parent: Team | None = None,
    capacity_days_per_week: Decimal = Decimal(0),
    lead: User | None = None,
) -> Team:
    actor.require(Role.ADMIN, "create teams")
    if parent is not None and parent.organization_id != actor.organization_id:
        raise InvalidInput.field("parent", "team not found")
    team = Team(
        organization_id=actor.organization_id,
        key=key,
        name=name.strip(),
        parent=parent,
        capacity_days_per_week=capacity_days_per_week,
        lead=lead,
    )
    return create_audited(actor=actor, instance=team)


@transaction.atomic
def update_team(
    *, actor: Actor, team: Team, changes: dict[str, Any], expected_version: int | None = None
) -> Team:
    """Rename, move, or change the capacity or lead of a team (admins, or the team's lead)."""
    if not (actor.is_admin or (team.lead_id is not None and team.lead_id == actor.user_id)):
        actor.require(Role.ADMIN, "edit this team")
    locked = Team.objects.select_for_update().get(pk=team.pk)
    if "parent" in changes:
        parent = changes["parent"]
        if parent is not None and parent.organization_id != actor.organization_id:
            raise InvalidInput.field("parent", "team not found")
        _check_team_parent(locked, parent)
    return apply_update(
        actor=actor,
        instance=locked,
        changes=changes,
        allowed=TEAM_FIELDS,
        expected_version=expected_version,
    )


@transaction.atomic
def archive_team(*, actor: Actor, team: Team, expected_version: int | None = None) -> Team:
    actor.require(Role.ADMIN, "archive teams")
    return archive(actor=actor, instance=team, expected_version=expected_version)


@transaction.atomic
def restore_team(*, actor: Actor, team: Team) -> Team:
    actor.require(Role.ADMIN, "restore teams")
    return restore(actor=actor, instance=team)


@transaction.atomic
def add_team_member(*, actor: Actor, team: Team, user: User) -> TeamMember:
    actor.require(Role.ADMIN, "change team members")
    if not Membership.objects.filter(
        organization_id=actor.organization_id, user=user, archived_at__isnull=True
    ).exists():
        raise InvalidInput.field("user", "not a member of this organization")
    member = TeamMember(organization_id=actor.organization_id, team=team, user=user)
    return create_audited(actor=actor, instance=member, action="team.add_member")


@transaction.atomic
def remove_team_member(*, actor: Actor, team: Team, user: User) -> None:
    actor.require(Role.ADMIN, "change team members")
    from milepost.audit.services import record_event

    deleted, _ = TeamMember.objects.filter(team=team, user=user).delete()
    if deleted:
        record_event(
            actor=actor, action="team.remove_member", target=team, before={"user": user.pk}
        )
