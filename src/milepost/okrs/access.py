"""Fetch-and-authorise for cycles, objectives, alignment, key results and check-ins.

Every helper fetches *scoped to the actor's organization* (another organization's row is
`NotFound`, never `PermissionDenied`), applies objective visibility (a team or private
objective, its key results, check-ins and links are not found by someone outside it), hides
archived rows unless asked (a key result is hidden with its objective, an objective with its
cycle), and with ``write=True`` checks that the actor may change the row. Who may do what:

* cycles: admins change them; everyone reads them;
* an objective: admins; members who own it or are in its owner team;
* a key result: as its objective, and also a member who owns the key result;
* a check-in on a key result: its owner, the objective's owner and team members, admins
  (an API token scoped to one key result checks in on that key result only, and edits nothing);
* an alignment link: whoever may change the aligned (child) objective; it is visible when both
  of its ends are.

Viewers read what is visible to them and change nothing. The ``can_*`` predicates are the
same rules for the services, which re-check them on every write.
"""

from __future__ import annotations

from django.db.models import Q

from milepost.errors import NotFound, PermissionDenied
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.okrs.querysets import objective_visibility_q
from milepost.organizations.access import Actor
from milepost.organizations.models import Role


def _scoped_token(actor: Actor) -> int | None:
    """The key result an API token is limited to (None: not limited)."""
    token = actor.token
    return token.key_result_id if token is not None else None


def can_edit_objective(actor: Actor, objective: Objective) -> bool:
    """Admins, and members who own the objective or are in its owner team."""
    if _scoped_token(actor) is not None:
        return False
    return actor.can_edit_owned(
        owner_user_id=objective.owner_user_id, team_id=objective.owner_team_id
    )


def can_edit_key_result(actor: Actor, key_result: KeyResult) -> bool:
    """As its objective, and also a member who owns the key result."""
    if _scoped_token(actor) is not None:
        return False
    return can_edit_objective(actor, key_result.objective) or actor.can_edit_owned(
        owner_user_id=key_result.owner_id, team_id=None
    )


def can_check_in(actor: Actor, key_result: KeyResult) -> bool:
    """The key result's owner, its objective's owner and team members, admins."""
    scope = _scoped_token(actor)
    if scope is not None and scope != key_result.pk:
        return False
    objective = key_result.objective
    return actor.can_edit_owned(
        owner_user_id=key_result.owner_id, team_id=objective.owner_team_id
    ) or actor.can_edit_owned(owner_user_id=objective.owner_user_id, team_id=None)


def can_edit_cycle(actor: Actor) -> bool:
    return actor.has_role(Role.ADMIN) and _scoped_token(actor) is None


def access_cycle(
    actor: Actor, cycle_id: int, *, write: bool = False, include_archived: bool = False
) -> Cycle:
    """A cycle of the actor's organization; ``write`` needs an admin."""
    qs = Cycle.objects.filter(organization_id=actor.organization_id)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    cycle = qs.filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound("Cycle not found.")
    if write and not can_edit_cycle(actor):
        raise PermissionDenied(f"Your role ({actor.role}) does not allow you to change cycles.")
    return cycle


def access_objective(
    actor: Actor, objective_id: int, *, write: bool = False, include_archived: bool = False
) -> Objective:
    """A visible objective; ``write``: the actor may change it."""
    qs = Objective.objects.visible_to(actor).select_related("cycle", "owner_team", "owner_user")
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True, cycle__archived_at__isnull=True)
    objective = qs.filter(pk=objective_id).first()
    if objective is None:
        raise NotFound("Objective not found.")
    if write and not can_edit_objective(actor, objective):
        raise PermissionDenied(
            "You may only change objectives that you own or that belong to your teams."
        )
    return objective


def access_key_result(
    actor: Actor,
    key_result_id: int,
    *,
    write: bool = False,
    checkin: bool = False,
    include_archived: bool = False,
    also_select: tuple[str, ...] = (),
) -> KeyResult:
    """A visible key result; ``write``: the actor may change it; ``checkin``: may check in.
    ``also_select`` names more relations to load in the same query (a page that shows them)."""
    qs = KeyResult.objects.visible_to(actor).select_related(
        "objective__cycle", "objective__owner_team", "owner", *also_select
    )
    if not include_archived:
        qs = qs.filter(
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__cycle__archived_at__isnull=True,
        )
    key_result = qs.filter(pk=key_result_id).first()
    if key_result is None:
        raise NotFound("Key result not found.")
    if write and not can_edit_key_result(actor, key_result):
        raise PermissionDenied(
            "You may only change key results that you own, or of objectives that you own or "
            "that belong to your teams."
        )
    if checkin and not can_check_in(actor, key_result):
        raise PermissionDenied(
            "Only the key result's owner, its objective's owner or team, and admins check in."
        )
    return key_result


def access_checkin(actor: Actor, checkin_id: int, *, include_archived: bool = False) -> CheckIn:
    """A check-in of a visible key result (to read it, or to correct it with `correct_checkin`,
    which checks the right to check in)."""
    qs = CheckIn.objects.filter(organization_id=actor.organization_id).filter(
        objective_visibility_q(actor, "key_result__objective__")
    )
    if not include_archived:
        qs = qs.filter(
            key_result__archived_at__isnull=True,
            key_result__objective__archived_at__isnull=True,
            key_result__objective__cycle__archived_at__isnull=True,
        )
    checkin = qs.select_related("key_result__objective", "author").filter(pk=checkin_id).first()
    if checkin is None:
        raise NotFound("Check-in not found.")
    return checkin


def access_alignment(actor: Actor, alignment_id: int, *, write: bool = False) -> Alignment:
    """An alignment link whose two ends are visible; ``write``: may change the child."""
    parent_visible = (
        Q(parent_objective__isnull=False) & objective_visibility_q(actor, "parent_objective__")
    ) | (
        Q(parent_key_result__isnull=False)
        & objective_visibility_q(actor, "parent_key_result__objective__")
    )
    alignment = (
        Alignment.objects.filter(organization_id=actor.organization_id, pk=alignment_id)
        .filter(objective_visibility_q(actor, "child__"))
        .filter(parent_visible)
        .select_related("child", "parent_objective", "parent_key_result__objective")
        .first()
    )
    if alignment is None:
        raise NotFound("Alignment not found.")
    if write and not can_edit_objective(actor, alignment.child):
        raise PermissionDenied(
            "You may only change the alignment of objectives that you own or of your teams."
        )
    return alignment
