"""Reusable filters for objectives and key results (visibility is decided here, once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db.models import Q

from milepost.organizations.querysets import TenantQuerySet

if TYPE_CHECKING:
    # Used in the quoted type arguments below, which ruff does not read.
    from milepost.okrs.models import KeyResult, Objective  # noqa: F401
    from milepost.organizations.access import Actor


def objective_visibility_q(actor: Actor, prefix: str = "") -> Q:
    """Objectives the actor may read: organization-wide ones; team ones of the actor's teams;
    private ones they own or whose team they are in. Admins and owners see everything."""
    if actor.is_admin:
        return Q()
    p = prefix
    return (
        Q(**{f"{p}visibility": "organization"})
        | Q(**{f"{p}owner_user_id": actor.user_id})
        | Q(**{f"{p}owner_team_id__in": actor.team_ids})
    )


def can_see_objective(actor: Actor, objective: Objective) -> bool:
    """`objective_visibility_q` for one objective already read: the same rule in Python."""
    return (
        actor.is_admin
        or objective.visibility == "organization"
        or (objective.owner_user_id is not None and objective.owner_user_id == actor.user_id)
        or objective.owner_team_id in actor.team_ids
    )


def live_parent_q() -> Q:
    """Alignment links whose parent (an objective, or a key result and its objective) is not
    archived, nor is the parent's cycle."""
    return Q(
        parent_objective__isnull=False,
        parent_objective__archived_at__isnull=True,
        parent_objective__cycle__archived_at__isnull=True,
    ) | Q(
        parent_key_result__isnull=False,
        parent_key_result__archived_at__isnull=True,
        parent_key_result__objective__archived_at__isnull=True,
        parent_key_result__objective__cycle__archived_at__isnull=True,
    )


class ObjectiveQuerySet(TenantQuerySet["Objective"]):
    def visible_to(self, actor: Actor) -> Self:
        return self.of(actor.organization_id).filter(objective_visibility_q(actor))


class KeyResultQuerySet(TenantQuerySet["KeyResult"]):
    def visible_to(self, actor: Actor) -> Self:
        return self.of(actor.organization_id).filter(objective_visibility_q(actor, "objective__"))
