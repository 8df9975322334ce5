"""Fetch-and-authorise for the roadmap: initiatives, milestones, dependencies and the links
between initiatives and key results.

Every helper fetches *scoped to the actor's organization* (another organization's row is
`NotFound`), hides archived rows unless asked, and with ``write=True`` checks that the actor
may change the row (`PermissionDenied` otherwise). Who may change what:

* an initiative: admins; members who own it or are in its team (`Actor.can_edit_owned`);
* a milestone: as its initiative; a milestone without an initiative that counts toward a key
  result: as that key result (its owner, or the owner or team of its objective); any other
  milestone: admins;
* a dependency: whoever may change either of its two ends;
* a link between an initiative and a key result: whoever may change the initiative (and the
  key result must be visible to the actor, or the link is not found).

Viewers read everything here that is visible to them and change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from milepost.errors import NotFound, PermissionDenied
from milepost.okrs.querysets import objective_visibility_q
from milepost.organizations.access import Actor
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone

if TYPE_CHECKING:
    from milepost.okrs.models import KeyResult


def can_edit_initiative(actor: Actor, initiative: Initiative) -> bool:
    """Admins, and members who own the initiative or are in its team."""
    return actor.can_edit_owned(owner_user_id=initiative.owner_id, team_id=initiative.team_id)


def can_edit_key_result_items(actor: Actor, key_result: KeyResult) -> bool:
    """Whether the actor may change what counts toward a key result (its milestones):
    admins, its owner, and the owner or team members of its objective."""
    objective = key_result.objective
    return actor.can_edit_owned(
        owner_user_id=key_result.owner_id, team_id=objective.owner_team_id
    ) or actor.can_edit_owned(owner_user_id=objective.owner_user_id, team_id=None)


def can_edit_milestone(actor: Actor, milestone: Milestone) -> bool:
    """See the module docstring: as its initiative, else as its key result, else admins."""
    if milestone.initiative_id is not None:
        return can_edit_initiative(actor, milestone.initiative)  # type: ignore[arg-type]
    if milestone.key_result_id is not None:
        return can_edit_key_result_items(actor, milestone.key_result)  # type: ignore[arg-type]
    return actor.is_admin


def can_edit_endpoint(actor: Actor, item: Initiative | Milestone) -> bool:
    if isinstance(item, Initiative):
        return can_edit_initiative(actor, item)
    return can_edit_milestone(actor, item)


def can_edit_dependency(actor: Actor, dependency: Dependency) -> bool:
    """Whoever may change either end may change (or remove) the dependency."""
    ends: list[Initiative | Milestone | None] = [
        dependency.predecessor_initiative,
        dependency.predecessor_milestone,
        dependency.successor_initiative,
        dependency.successor_milestone,
    ]
    return any(end is not None and can_edit_endpoint(actor, end) for end in ends)


def access_initiative(
    actor: Actor, initiative_id: int, *, write: bool = False, include_archived: bool = False
) -> Initiative:
    """The initiative, scoped to the actor's organization; NotFound / PermissionDenied."""
    qs = Initiative.objects.of(actor.organization_id).select_related("team", "owner", "cycle")
    if not include_archived:
        qs = qs.active()
    initiative = qs.filter(pk=initiative_id).first()
    if initiative is None:
        raise NotFound("Initiative not found.")
    if write and not can_edit_initiative(actor, initiative):
        raise PermissionDenied(
            "You may only change initiatives that you own or that belong to your teams."
        )
    return initiative


def access_milestone(
    actor: Actor, milestone_id: int, *, write: bool = False, include_archived: bool = False
) -> Milestone:
    """The milestone, scoped to the actor's organization; NotFound / PermissionDenied."""
    qs = Milestone.objects.of(actor.organization_id).select_related(
        "initiative", "key_result__objective"
    )
    if not include_archived:
        # A milestone of an archived initiative is archived with it.
        qs = qs.active().filter(
            Q(initiative__isnull=True) | Q(initiative__archived_at__isnull=True)
        )
    milestone = qs.filter(pk=milestone_id).first()
    if milestone is None:
        raise NotFound("Milestone not found.")
    if write and not can_edit_milestone(actor, milestone):
        raise PermissionDenied(
            "You may only change milestones of initiatives or key results that you own "
            "or that belong to your teams."
        )
    return milestone


def access_dependency(
    actor: Actor, dependency_id: int, *, write: bool = False, include_archived: bool = False
) -> Dependency:
    """The dependency, scoped to the actor's organization; NotFound / PermissionDenied."""
    qs = Dependency.objects.of(actor.organization_id).select_related(
        "predecessor_initiative",
        "predecessor_milestone__initiative",
        "predecessor_milestone__key_result__objective",
        "successor_initiative",
        "successor_milestone__initiative",
        "successor_milestone__key_result__objective",
    )
    if not include_archived:
        qs = qs.active()
    dependency = qs.filter(pk=dependency_id).first()
    if dependency is None:
        raise NotFound("Dependency not found.")
    if write and not can_edit_dependency(actor, dependency):
        raise PermissionDenied(
            "You may only change dependencies of items that you own or that belong to your teams."
        )
    return dependency


def access_initiative_link(
    actor: Actor, link_id: int, *, write: bool = False, include_archived: bool = False
) -> InitiativeKeyResult:
    """A link between an initiative and a key result; NotFound if either side is not
    visible to the actor, PermissionDenied if ``write`` and the initiative is not theirs."""
    qs = (
        InitiativeKeyResult.objects.of(actor.organization_id)
        .filter(objective_visibility_q(actor, "key_result__objective__"))
        .select_related("initiative", "key_result__objective")
    )
    if not include_archived:
        qs = qs.active()
    link = qs.filter(pk=link_id).first()
    if link is None:
        raise NotFound("Link not found.")
    if write and not can_edit_initiative(actor, link.initiative):
        raise PermissionDenied(
            "You may only change links of initiatives that you own or that belong to your teams."
        )
    return link
