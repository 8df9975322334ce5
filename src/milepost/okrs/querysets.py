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


class ObjectiveQuerySet(TenantQuerySet["Objective"]):
    def visible_to(self, actor: Actor) -> Self:
        return self.of(actor.organization_id).filter(objective_visibility_q(actor))


class KeyResultQuerySet(TenantQuerySet["KeyResult"]):
    def visible_to(self, actor: Actor) -> Self:
        return self.of(actor.organization_id).filter(objective_visibility_q(actor, "objective__"))
