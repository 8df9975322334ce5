"""REST endpoints for cycles and their close: create and edit cycles, activate, close and
reopen them, carry key results over, and the retrospectives written at close (part of the
okrs router)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from milepost.api.auth import org_actor
from milepost.api.common import PathId, Slug, changes_of, reference, responses
from milepost.api.etag import optional_version, required_version, set_etag
from milepost.api.pagination import page_of, paginate
from milepost.errors import InvalidInput, NotFound
from milepost.okrs import services
from milepost.okrs.access import access_cycle, access_key_result, access_objective
from milepost.okrs.models import Cycle, Retrospective
from milepost.okrs.querysets import objective_visibility_q
from milepost.okrs.schemas import (
    CarryOverIn,
    CarryOverOut,
    CycleIn,
    CycleOut,
    CyclePatch,
    CycleQuery,
    KeyResultRetrospectiveIn,
    ReflectionIn,
    RetrospectiveOut,
    RetrospectiveQuery,
)
from milepost.organizations.access import Actor
from milepost.organizations.querysets import TenantQuerySet

router = Router(tags=["cycles"])

ORG = "/orgs/{slug}"


def _etagged(response: HttpResponse, instance: Any) -> Any:
    set_etag(response, instance)
    return instance


# Cycles --------------------------------------------------------------------------------


@router.get(f"{ORG}/cycles", response=responses({200: page_of(CycleOut)}), tags=["cycles"])
def list_cycles(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[CycleQuery]
) -> Any:
    actor = org_actor(request, slug)
    qs: TenantQuerySet[Cycle] = Cycle.objects.of(actor.organization_id)
    qs = qs.archived() if params.archived else qs.active()
    if params.state:
        qs = qs.filter(state=params.state)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/cycles", response=responses({201: CycleOut}), tags=["cycles"])
def create_cycle(request: HttpRequest, slug: Slug, payload: CycleIn, response: HttpResponse) -> Any:
    """Create a cycle (admins). It starts in planning; activation and closing are separate."""
    actor = org_actor(request, slug)
    cycle = services.create_cycle(
        actor=actor,
        key=payload.key,
        name=payload.name,
        start_date=payload.start_date,
        end_date=payload.end_date,
        parent=reference(access_cycle, actor, payload.parent, "parent"),
    )
    return Status(201, _etagged(response, cycle))


@router.get(f"{ORG}/cycles/{{cycle_id}}", response=responses({200: CycleOut}), tags=["cycles"])
def get_cycle(request: HttpRequest, slug: Slug, cycle_id: PathId, response: HttpResponse) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_cycle(actor, cycle_id))


@router.patch(f"{ORG}/cycles/{{cycle_id}}", response=responses({200: CycleOut}), tags=["cycles"])
def update_cycle(
    request: HttpRequest, slug: Slug, cycle_id: PathId, payload: CyclePatch, response: HttpResponse
) -> Any:
    """Rename, re-date or move a cycle under a parent (admins)."""
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id, write=True)
    version = required_version(request)
    refs = {"parent": reference(access_cycle, actor, payload.parent, "parent")}
    cycle = services.update_cycle(
        actor=actor, cycle=cycle, changes=changes_of(payload, refs=refs), expected_version=version
    )
    return _etagged(response, cycle)


@router.delete(f"{ORG}/cycles/{{cycle_id}}", response=responses({204: None}), tags=["cycles"])
def archive_cycle(request: HttpRequest, slug: Slug, cycle_id: PathId) -> Any:
    """Archive a cycle and, with it, its objectives (admins; it can be restored)."""
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id, write=True)
    version = required_version(request)
    services.archive_cycle(actor=actor, cycle=cycle, expected_version=version)
    return Status(204, None)


@router.post(
    f"{ORG}/cycles/{{cycle_id}}/restore", response=responses({200: CycleOut}), tags=["cycles"]
)
def restore_cycle(
    request: HttpRequest, slug: Slug, cycle_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id, write=True, include_archived=True)
    return _etagged(response, services.restore_cycle(actor=actor, cycle=cycle))


@router.post(
    f"{ORG}/cycles/{{cycle_id}}/activate", response=responses({200: CycleOut}), tags=["cycles"]
)
def activate_cycle(
    request: HttpRequest, slug: Slug, cycle_id: PathId, response: HttpResponse
) -> Any:
    """Start a cycle that is being planned (admins): its draft objectives become active and
    the agreed plan is kept as its baseline. 409 unless it is in planning. If-Match is
    optional here (checked when sent)."""
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id, write=True)
    cycle = services.activate_cycle(
        actor=actor, cycle=cycle, expected_version=optional_version(request)
    )
    return _etagged(response, cycle)


@router.post(
    f"{ORG}/cycles/{{cycle_id}}/carry-over",
    response=responses({200: CarryOverOut}),
    tags=["cycles"],
)
def carry_over(request: HttpRequest, slug: Slug, cycle_id: PathId, payload: CarryOverIn) -> Any:
    """Carry unfinished key results of this cycle into another (whoever may change each key
    result: admins, or its team's members and owner). Each copy links to its origin and
    starts from its last value; asking again returns the copies made the first time. 422
    naming `key_results` for one that reached its target, is not of this cycle or not found;
    409 if the target cycle is closed."""
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id)
    target = reference(access_cycle, actor, payload.target_cycle, "target_cycle")
    into = reference(access_objective, actor, payload.into_objective, "into_objective")
    key_results = []
    for kr_id in dict.fromkeys(payload.key_results):
        kr = reference(access_key_result, actor, kr_id, "key_results")
        if kr.objective.cycle_id != cycle.pk:
            raise InvalidInput.field("key_results", f"key result {kr_id} is not in this cycle")
        key_results.append(kr)
    copies = services.carry_over_key_results(
        actor=actor, key_results=key_results, target_cycle=target, into_objective=into
    )
    return {"key_results": copies}


@router.post(
    f"{ORG}/cycles/{{cycle_id}}/close", response=responses({200: CycleOut}), tags=["cycles"]
)
def close_cycle(request: HttpRequest, slug: Slug, cycle_id: PathId, response: HttpResponse) -> Any:
    """Close an active cycle (admins): key results are scored, open objectives closed. 409
    naming (in ``errors.objectives``) the objectives that still need a retrospective."""
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id, write=True)
    cycle = services.close_cycle(
        actor=actor, cycle=cycle, expected_version=optional_version(request)
    )
    return _etagged(response, cycle)


@router.post(
    f"{ORG}/cycles/{{cycle_id}}/reopen", response=responses({200: CycleOut}), tags=["cycles"]
)
def reopen_cycle(request: HttpRequest, slug: Slug, cycle_id: PathId, response: HttpResponse) -> Any:
    """Re-open a closed cycle. Only an owner, in the web app: API tokens are refused (403)."""
    actor = org_actor(request, slug)
    cycle = access_cycle(actor, cycle_id, write=True)
    cycle = services.reopen_cycle(
        actor=actor, cycle=cycle, expected_version=optional_version(request)
    )
    return _etagged(response, cycle)


# Retrospectives ------------------------------------------------------------------------


def _retrospectives(actor: Actor) -> QuerySet[Retrospective]:
    visible = (Q(objective__isnull=False) & objective_visibility_q(actor, "objective__")) | (
        Q(key_result__isnull=False) & objective_visibility_q(actor, "key_result__objective__")
    )
    return (
        Retrospective.objects.of(actor.organization_id)
        .active()
        .filter(cycle__archived_at__isnull=True)
        .filter(visible)
    )


@router.get(
    f"{ORG}/retrospectives",
    response=responses({200: page_of(RetrospectiveOut)}),
    tags=["retrospectives"],
)
def list_retrospectives(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[RetrospectiveQuery]
) -> Any:
    """Scores and lessons recorded at cycle close, for objectives and key results you can see."""
    actor = org_actor(request, slug)
    qs = _retrospectives(actor)
    if params.cycle is not None:
        qs = qs.filter(cycle=reference(access_cycle, actor, params.cycle, "cycle"))
    if params.objective is not None:
        objective = reference(access_objective, actor, params.objective, "objective")
        qs = qs.filter(objective=objective)
    if params.key_result is not None:
        qs = qs.filter(
            key_result=reference(access_key_result, actor, params.key_result, "key_result")
        )
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.get(
    f"{ORG}/retrospectives/{{retrospective_id}}",
    response=responses({200: RetrospectiveOut}),
    tags=["retrospectives"],
)
def get_retrospective(
    request: HttpRequest, slug: Slug, retrospective_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    retrospective = _retrospectives(actor).filter(pk=retrospective_id).first()
    if retrospective is None:
        raise NotFound("Retrospective not found.")
    return _etagged(response, retrospective)


@router.post(
    f"{ORG}/key-results/{{key_result_id}}/retrospective",
    response=responses({200: RetrospectiveOut}),
    tags=["retrospectives"],
)
def record_key_result_retrospective(
    request: HttpRequest,
    slug: Slug,
    key_result_id: PathId,
    payload: KeyResultRetrospectiveIn,
    response: HttpResponse,
) -> Any:
    """Record or revise a key result's retrospective: the engine's score and grade, an
    optional grade override (with a reason code) and lessons. 409 while the cycle is planned."""
    actor = org_actor(request, slug)
    kr = access_key_result(actor, key_result_id, write=True)
    retrospective = services.record_key_result_retrospective(
        actor=actor,
        key_result=kr,
        grade_override=payload.grade_override,
        reason_code=payload.reason_code,
        lessons=payload.lessons,
    )
    return _etagged(response, retrospective)


@router.post(
    f"{ORG}/objectives/{{objective_id}}/retrospective",
    response=responses({200: RetrospectiveOut}),
    tags=["retrospectives"],
)
def record_objective_reflection(
    request: HttpRequest,
    slug: Slug,
    objective_id: PathId,
    payload: ReflectionIn,
    response: HttpResponse,
) -> Any:
    """Record or revise an objective's reflection: what went well, what did not, what changes
    (at least one), with the objective's score."""
    actor = org_actor(request, slug)
    objective = access_objective(actor, objective_id, write=True)
    retrospective = services.record_objective_reflection(
        actor=actor,
        objective=objective,
        went_well=payload.went_well,
        went_badly=payload.went_badly,
        change_next=payload.change_next,
        lessons=payload.lessons,
    )
    return _etagged(response, retrospective)


@router.post(
    f"{ORG}/objectives/{{objective_id}}/retrospective/skip",
    response=responses({200: RetrospectiveOut}),
    tags=["retrospectives"],
)
def skip_objective_retrospective(
    request: HttpRequest, slug: Slug, objective_id: PathId, response: HttpResponse
) -> Any:
    """Skip an objective's retrospective explicitly (admins), so its cycle can close."""
    actor = org_actor(request, slug)
    objective = access_objective(actor, objective_id)
    retrospective = services.skip_objective_retrospective(actor=actor, objective=objective)
    return _etagged(response, retrospective)
