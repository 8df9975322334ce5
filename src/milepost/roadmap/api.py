"""REST endpoints for the roadmap: initiatives, key-result links, milestones, dependencies."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from milepost.api.auth import org_actor
from milepost.api.common import PathId, Slug, changes_of, member_user, reference, responses
from milepost.api.etag import require_current, required_version, set_etag
from milepost.api.pagination import page_of, paginate
from milepost.errors import InvalidInput
from milepost.okrs.access import access_cycle, access_key_result
from milepost.okrs.querysets import objective_visibility_q
from milepost.organizations.access import Actor, access_team
from milepost.organizations.querysets import TenantQuerySet
from milepost.roadmap import services
from milepost.roadmap.access import (
    access_dependency,
    access_initiative,
    access_initiative_link,
    access_milestone,
)
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.roadmap.schemas import (
    DependencyIn,
    DependencyOut,
    DependencyPatch,
    DependencyQuery,
    InitiativeIn,
    InitiativeLinkIn,
    InitiativeLinkOut,
    InitiativeLinkPatch,
    InitiativeLinkQuery,
    InitiativeOut,
    InitiativePatch,
    InitiativeQuery,
    MilestoneComplete,
    MilestoneIn,
    MilestoneOut,
    MilestonePatch,
    MilestoneQuery,
)

router = Router(tags=["roadmap"])

ORG = "/orgs/{slug}"


def _etagged(response: HttpResponse, instance: Any) -> Any:
    set_etag(response, instance)
    return instance


# Initiatives ---------------------------------------------------------------------------


def _initiative_refs(actor: Actor, payload: InitiativeIn | InitiativePatch) -> dict[str, Any]:
    return {
        "team": reference(access_team, actor, payload.team, "team"),
        "owner": member_user(actor, payload.owner, "owner"),
        "cycle": reference(access_cycle, actor, payload.cycle, "cycle"),
    }


@router.get(
    f"{ORG}/initiatives", response=responses({200: page_of(InitiativeOut)}), tags=["initiatives"]
)
def list_initiatives(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[InitiativeQuery]
) -> Any:
    """Initiatives (roadmap items), filtered by cycle, team, owner, status, update time."""
    actor = org_actor(request, slug)
    qs: TenantQuerySet[Initiative] = Initiative.objects.of(actor.organization_id)
    qs = qs.archived() if params.archived else qs.active()
    if params.cycle is not None:
        qs = qs.filter(cycle=reference(access_cycle, actor, params.cycle, "cycle"))
    if params.team is not None:
        qs = qs.filter(team=reference(access_team, actor, params.team, "team"))
    if params.owner is not None:
        qs = qs.filter(owner=member_user(actor, params.owner, "owner"))
    if params.status:
        qs = qs.filter(status=params.status)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/initiatives", response=responses({201: InitiativeOut}), tags=["initiatives"])
def create_initiative(
    request: HttpRequest, slug: Slug, payload: InitiativeIn, response: HttpResponse
) -> Any:
    """Create an initiative with its business case (members: of their teams or their own)."""
    actor = org_actor(request, slug)
    refs = _initiative_refs(actor, payload)
    data = payload.model_dump()
    data.update(refs)
    initiative = services.create_initiative(actor=actor, **data)
    return Status(201, _etagged(response, initiative))


@router.get(
    f"{ORG}/initiatives/{{initiative_id}}",
    response=responses({200: InitiativeOut}),
    tags=["initiatives"],
)
def get_initiative(
    request: HttpRequest, slug: Slug, initiative_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_initiative(actor, initiative_id))


@router.patch(
    f"{ORG}/initiatives/{{initiative_id}}",
    response=responses({200: InitiativeOut}),
    tags=["initiatives"],
)
def update_initiative(
    request: HttpRequest,
    slug: Slug,
    initiative_id: PathId,
    payload: InitiativePatch,
    response: HttpResponse,
) -> Any:
    """Change an initiative, including its status (closing needs the closure summary)."""
    actor = org_actor(request, slug)
    initiative = access_initiative(actor, initiative_id, write=True)
    version = required_version(request)
    changes = changes_of(payload, refs=_initiative_refs(actor, payload))
    initiative = services.update_initiative(
        actor=actor, initiative=initiative, changes=changes, expected_version=version
    )
    return _etagged(response, initiative)


@router.delete(
    f"{ORG}/initiatives/{{initiative_id}}", response=responses({204: None}), tags=["initiatives"]
)
def archive_initiative(request: HttpRequest, slug: Slug, initiative_id: PathId) -> Any:
    """Archive an initiative (it can be restored)."""
    actor = org_actor(request, slug)
    initiative = access_initiative(actor, initiative_id, write=True)
    version = required_version(request)
    services.archive_initiative(actor=actor, initiative=initiative, expected_version=version)
    return Status(204, None)


@router.post(
    f"{ORG}/initiatives/{{initiative_id}}/restore",
    response=responses({200: InitiativeOut}),
    tags=["initiatives"],
)
def restore_initiative(
    request: HttpRequest, slug: Slug, initiative_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    initiative = access_initiative(actor, initiative_id, write=True, include_archived=True)
    initiative = services.restore_initiative(actor=actor, initiative=initiative)
    return _etagged(response, initiative)


# Links between initiatives and key results --------------------------------------------


def _links(actor: Actor) -> QuerySet[InitiativeKeyResult]:
    return (
        InitiativeKeyResult.objects.of(actor.organization_id)
        .active()
        .filter(objective_visibility_q(actor, "key_result__objective__"))
        .filter(initiative__archived_at__isnull=True)
    )


@router.get(
    f"{ORG}/initiative-links",
    response=responses({200: page_of(InitiativeLinkOut)}),
    tags=["initiatives"],
)
def list_initiative_links(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[InitiativeLinkQuery]
) -> Any:
    """Which initiatives are expected to move which key results (with weights)."""
    actor = org_actor(request, slug)
    qs = _links(actor)
    if params.initiative is not None:
        qs = qs.filter(
            initiative=reference(access_initiative, actor, params.initiative, "initiative")
        )
    if params.key_result is not None:
        qs = qs.filter(
            key_result=reference(access_key_result, actor, params.key_result, "key_result")
        )
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(
    f"{ORG}/initiative-links", response=responses({201: InitiativeLinkOut}), tags=["initiatives"]
)
def link_initiative(
    request: HttpRequest, slug: Slug, payload: InitiativeLinkIn, response: HttpResponse
) -> Any:
    """Link an initiative to a key result it should move (409 if already linked)."""
    actor = org_actor(request, slug)
    initiative = reference(access_initiative, actor, payload.initiative, "initiative")
    key_result = reference(access_key_result, actor, payload.key_result, "key_result")
    link = services.link_initiative(
        actor=actor,
        initiative=initiative,
        key_result=key_result,
        weight=payload.weight,
        expected_impact=payload.expected_impact,
    )
    return Status(201, _etagged(response, link))


@router.get(
    f"{ORG}/initiative-links/{{link_id}}",
    response=responses({200: InitiativeLinkOut}),
    tags=["initiatives"],
)
def get_initiative_link(
    request: HttpRequest, slug: Slug, link_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_initiative_link(actor, link_id))


@router.patch(
    f"{ORG}/initiative-links/{{link_id}}",
    response=responses({200: InitiativeLinkOut}),
    tags=["initiatives"],
)
def update_initiative_link(
    request: HttpRequest,
    slug: Slug,
    link_id: PathId,
    payload: InitiativeLinkPatch,
    response: HttpResponse,
) -> Any:
    actor = org_actor(request, slug)
    link = access_initiative_link(actor, link_id, write=True)
    version = required_version(request)
    link = services.update_initiative_link(
        actor=actor, link=link, changes=changes_of(payload), expected_version=version
    )
    return _etagged(response, link)


@router.delete(
    f"{ORG}/initiative-links/{{link_id}}", response=responses({204: None}), tags=["initiatives"]
)
def unlink_initiative(request: HttpRequest, slug: Slug, link_id: PathId) -> Any:
    """Remove the link (the audit log keeps it)."""
    actor = org_actor(request, slug)
    link = access_initiative_link(actor, link_id, write=True)
    require_current(request, link)
    services.unlink_initiative(actor=actor, link=link)
    return Status(204, None)


# Milestones ----------------------------------------------------------------------------


def _milestone_refs(actor: Actor, payload: MilestoneIn | MilestonePatch) -> dict[str, Any]:
    return {
        "initiative": reference(access_initiative, actor, payload.initiative, "initiative"),
        "key_result": reference(access_key_result, actor, payload.key_result, "key_result"),
    }


@router.get(
    f"{ORG}/milestones", response=responses({200: page_of(MilestoneOut)}), tags=["milestones"]
)
def list_milestones(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[MilestoneQuery]
) -> Any:
    actor = org_actor(request, slug)
    qs: TenantQuerySet[Milestone] = Milestone.objects.of(actor.organization_id)
    if params.archived:
        qs = qs.filter(Q(archived_at__isnull=False) | Q(initiative__archived_at__isnull=False))
    else:
        qs = qs.active().filter(
            Q(initiative__isnull=True) | Q(initiative__archived_at__isnull=True)
        )
    if params.initiative is not None:
        qs = qs.filter(
            initiative=reference(access_initiative, actor, params.initiative, "initiative")
        )
    if params.key_result is not None:
        qs = qs.filter(
            key_result=reference(access_key_result, actor, params.key_result, "key_result")
        )
    if params.done is not None:
        qs = qs.filter(done_on__isnull=not params.done)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/milestones", response=responses({201: MilestoneOut}), tags=["milestones"])
def create_milestone(
    request: HttpRequest, slug: Slug, payload: MilestoneIn, response: HttpResponse
) -> Any:
    """A milestone on an initiative and/or counting toward a `milestones` key result."""
    actor = org_actor(request, slug)
    refs = _milestone_refs(actor, payload)
    milestone = services.create_milestone(
        actor=actor,
        key=payload.key,
        name=payload.name,
        date=payload.date,
        weight=payload.weight,
        **refs,
    )
    return Status(201, _etagged(response, milestone))


@router.get(
    f"{ORG}/milestones/{{milestone_id}}",
    response=responses({200: MilestoneOut}),
    tags=["milestones"],
)
def get_milestone(
    request: HttpRequest, slug: Slug, milestone_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_milestone(actor, milestone_id))


@router.patch(
    f"{ORG}/milestones/{{milestone_id}}",
    response=responses({200: MilestoneOut}),
    tags=["milestones"],
)
def update_milestone(
    request: HttpRequest,
    slug: Slug,
    milestone_id: PathId,
    payload: MilestonePatch,
    response: HttpResponse,
) -> Any:
    actor = org_actor(request, slug)
    milestone = access_milestone(actor, milestone_id, write=True)
    version = required_version(request)
    changes = changes_of(payload, refs=_milestone_refs(actor, payload))
    milestone = services.update_milestone(
        actor=actor, milestone=milestone, changes=changes, expected_version=version
    )
    return _etagged(response, milestone)


@router.post(
    f"{ORG}/milestones/{{milestone_id}}/complete",
    response=responses({200: MilestoneOut}),
    tags=["milestones"],
)
def complete_milestone(
    request: HttpRequest,
    slug: Slug,
    milestone_id: PathId,
    payload: MilestoneComplete,
    response: HttpResponse,
) -> Any:
    """Mark a milestone done on a day (not in the future)."""
    actor = org_actor(request, slug)
    milestone = access_milestone(actor, milestone_id, write=True)
    milestone = services.complete_milestone(
        actor=actor, milestone=milestone, done_on=payload.done_on
    )
    return _etagged(response, milestone)


@router.delete(
    f"{ORG}/milestones/{{milestone_id}}", response=responses({204: None}), tags=["milestones"]
)
def archive_milestone(request: HttpRequest, slug: Slug, milestone_id: PathId) -> Any:
    actor = org_actor(request, slug)
    milestone = access_milestone(actor, milestone_id, write=True)
    version = required_version(request)
    services.archive_milestone(actor=actor, milestone=milestone, expected_version=version)
    return Status(204, None)


@router.post(
    f"{ORG}/milestones/{{milestone_id}}/restore",
    response=responses({200: MilestoneOut}),
    tags=["milestones"],
)
def restore_milestone(
    request: HttpRequest, slug: Slug, milestone_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    milestone = access_milestone(actor, milestone_id, write=True, include_archived=True)
    return _etagged(response, services.restore_milestone(actor=actor, milestone=milestone))


# Dependencies --------------------------------------------------------------------------


@router.get(
    f"{ORG}/dependencies", response=responses({200: page_of(DependencyOut)}), tags=["dependencies"]
)
def list_dependencies(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[DependencyQuery]
) -> Any:
    actor = org_actor(request, slug)
    qs: TenantQuerySet[Dependency] = Dependency.objects.of(actor.organization_id).active()
    if params.initiative is not None:
        initiative = reference(access_initiative, actor, params.initiative, "initiative")
        qs = qs.filter(Q(predecessor_initiative=initiative) | Q(successor_initiative=initiative))
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


def _endpoint(
    actor: Actor, initiative_id: int | None, milestone_id: int | None, field: str
) -> Initiative | Milestone:
    if (initiative_id is None) == (milestone_id is None):
        raise InvalidInput.field(field, "give exactly one of an initiative or a milestone")
    if initiative_id is not None:
        found: Initiative | Milestone = reference(
            access_initiative, actor, initiative_id, f"{field}_initiative"
        )
    else:
        found = reference(access_milestone, actor, milestone_id, f"{field}_milestone")
    return found


@router.post(f"{ORG}/dependencies", response=responses({201: DependencyOut}), tags=["dependencies"])
def add_dependency(
    request: HttpRequest, slug: Slug, payload: DependencyIn, response: HttpResponse
) -> Any:
    """Make the successor depend on the predecessor (409 naming the loop if it would close one)."""
    actor = org_actor(request, slug)
    predecessor = _endpoint(
        actor, payload.predecessor_initiative, payload.predecessor_milestone, "predecessor"
    )
    successor = _endpoint(
        actor, payload.successor_initiative, payload.successor_milestone, "successor"
    )
    dependency = services.add_dependency(
        actor=actor,
        predecessor=predecessor,
        successor=successor,
        type=payload.type,
        lag_days=payload.lag_days,
    )
    return Status(201, _etagged(response, dependency))


@router.get(
    f"{ORG}/dependencies/{{dependency_id}}",
    response=responses({200: DependencyOut}),
    tags=["dependencies"],
)
def get_dependency(
    request: HttpRequest, slug: Slug, dependency_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_dependency(actor, dependency_id))


@router.patch(
    f"{ORG}/dependencies/{{dependency_id}}",
    response=responses({200: DependencyOut}),
    tags=["dependencies"],
)
def update_dependency(
    request: HttpRequest,
    slug: Slug,
    dependency_id: PathId,
    payload: DependencyPatch,
    response: HttpResponse,
) -> Any:
    actor = org_actor(request, slug)
    dependency = access_dependency(actor, dependency_id, write=True)
    version = required_version(request)
    dependency = services.update_dependency(
        actor=actor, dependency=dependency, changes=changes_of(payload), expected_version=version
    )
    return _etagged(response, dependency)


@router.delete(
    f"{ORG}/dependencies/{{dependency_id}}", response=responses({204: None}), tags=["dependencies"]
)
def remove_dependency(request: HttpRequest, slug: Slug, dependency_id: PathId) -> Any:
    actor = org_actor(request, slug)
    dependency = access_dependency(actor, dependency_id, write=True)
    require_current(request, dependency)
    services.remove_dependency(actor=actor, dependency=dependency)
    return Status(204, None)
