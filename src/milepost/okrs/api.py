"""REST endpoints for OKRs: cycles, objectives, alignment, key results, check-ins and
retrospectives."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Header, Query, Router
from ninja.responses import Status

from milepost.api.auth import org_actor, token_actor, token_auth
from milepost.api.common import PathId, Slug, changes_of, member_user, reference, responses
from milepost.api.etag import require_current, required_version, set_etag
from milepost.api.pagination import page_of, paginate
from milepost.engine.explain import Explanation
from milepost.errors import Conflict, InvalidInput
from milepost.okrs import services
from milepost.okrs.access import (
    access_alignment,
    access_checkin,
    access_cycle,
    access_key_result,
    access_objective,
)
from milepost.okrs.api_cycles import router as cycles_router
from milepost.okrs.engine_io import evaluate_cycle, evaluate_one_key_result, organization_today
from milepost.okrs.models import (
    Alignment,
    CheckIn,
    CheckInSource,
    KeyResult,
    Objective,
)
from milepost.okrs.querysets import KeyResultQuerySet, ObjectiveQuerySet, objective_visibility_q
from milepost.okrs.schemas import (
    AlignmentIn,
    AlignmentOut,
    AlignmentPatch,
    AlignmentQuery,
    CheckInIn,
    CheckInOut,
    CheckInQuery,
    CorrectionIn,
    KeyResultCheckInQuery,
    KeyResultDetailOut,
    KeyResultIn,
    KeyResultOut,
    KeyResultPatch,
    KeyResultQuery,
    ObjectiveDetailOut,
    ObjectiveIn,
    ObjectiveOut,
    ObjectivePatch,
    ObjectiveQuery,
)
from milepost.organizations.access import Actor, access_team
from milepost.reports.queries import hidden_objective_keys, redact_explanation

router = Router(tags=["okrs"])
router.add_router("", cycles_router)

ORG = "/orgs/{slug}"

IdempotencyKey = Annotated[
    str | None,
    Header(
        None,
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,100}$",
        description="A key you choose (e.g. a UUID): retrying with the same key returns the "
        "first check-in instead of recording a second one.",
    ),
]


_CHECKIN_VALUE_SCALE = Decimal(1).scaleb(-CheckIn._meta.get_field("value").decimal_places)


def _etagged(response: HttpResponse, instance: Any) -> Any:
    set_etag(response, instance)
    return instance


def _explanation(explanation: Explanation, hidden: set[str]) -> dict[str, Any]:
    return redact_explanation(explanation, hidden).as_dict()


# Objectives ----------------------------------------------------------------------------


def _objectives(actor: Actor) -> ObjectiveQuerySet:
    return Objective.objects.visible_to(actor).filter(cycle__archived_at__isnull=True)


def _objective_refs(actor: Actor, payload: ObjectiveIn | ObjectivePatch) -> dict[str, Any]:
    return {
        "cycle": reference(access_cycle, actor, payload.cycle, "cycle"),
        "owner_team": reference(access_team, actor, payload.owner_team, "owner_team"),
        "owner_user": member_user(actor, payload.owner_user, "owner_user"),
    }


def _objective_detail(actor: Actor, objective: Objective, response: HttpResponse) -> dict[str, Any]:
    """The objective with the engine's live numbers and explanation (as of today)."""
    set_etag(response, objective)
    data = ObjectiveOut.from_orm(objective).model_dump(by_alias=True)
    report = evaluate_cycle(actor.organization, objective.cycle)
    result = report.objectives.get(objective.key)
    data["as_of"] = report.as_of
    if result is not None:
        data.update(progress=result.progress, expected=result.expected, status=result.status.value)
        data["explanation"] = _explanation(result.explanation, hidden_objective_keys(actor))
    return data


@router.get(
    f"{ORG}/objectives", response=responses({200: page_of(ObjectiveOut)}), tags=["objectives"]
)
def list_objectives(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[ObjectiveQuery]
) -> Any:
    """Objectives you can see, with their stored progress and status (refreshed by every
    check-in and edit); filter by cycle, team, owner, status, state, visibility, update time."""
    actor = org_actor(request, slug)
    qs = _objectives(actor)
    qs = qs.archived() if params.archived else qs.active()
    if params.cycle is not None:
        qs = qs.filter(cycle=reference(access_cycle, actor, params.cycle, "cycle"))
    if params.team is not None:
        qs = qs.filter(owner_team=reference(access_team, actor, params.team, "team"))
    if params.owner is not None:
        qs = qs.filter(owner_user=member_user(actor, params.owner, "owner"))
    if params.status:
        qs = qs.filter(status=params.status)
    if params.state:
        qs = qs.filter(state=params.state)
    if params.visibility:
        qs = qs.filter(visibility=params.visibility)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/objectives", response=responses({201: ObjectiveOut}), tags=["objectives"])
def create_objective(
    request: HttpRequest, slug: Slug, payload: ObjectiveIn, response: HttpResponse
) -> Any:
    """Create an objective (members: owned by themselves or one of their teams)."""
    actor = org_actor(request, slug)
    refs = _objective_refs(actor, payload)
    objective = services.create_objective(
        actor=actor,
        key=payload.key,
        title=payload.title,
        description=payload.description,
        visibility=payload.visibility,
        state=payload.state,
        weight=payload.weight,
        **refs,
    )
    return Status(201, _etagged(response, objective))


@router.get(
    f"{ORG}/objectives/{{objective_id}}",
    response=responses({200: ObjectiveDetailOut}),
    tags=["objectives"],
)
def get_objective(
    request: HttpRequest, slug: Slug, objective_id: PathId, response: HttpResponse
) -> Any:
    """One objective with the engine's live progress, status and the explanation of both."""
    actor = org_actor(request, slug)
    return _objective_detail(actor, access_objective(actor, objective_id), response)


@router.patch(
    f"{ORG}/objectives/{{objective_id}}",
    response=responses({200: ObjectiveOut}),
    tags=["objectives"],
)
def update_objective(
    request: HttpRequest,
    slug: Slug,
    objective_id: PathId,
    payload: ObjectivePatch,
    response: HttpResponse,
) -> Any:
    actor = org_actor(request, slug)
    objective = access_objective(actor, objective_id, write=True)
    version = required_version(request)
    changes = changes_of(payload, refs=_objective_refs(actor, payload))
    objective = services.update_objective(
        actor=actor, objective=objective, changes=changes, expected_version=version
    )
    return _etagged(response, objective)


@router.delete(
    f"{ORG}/objectives/{{objective_id}}", response=responses({204: None}), tags=["objectives"]
)
def archive_objective(request: HttpRequest, slug: Slug, objective_id: PathId) -> Any:
    actor = org_actor(request, slug)
    objective = access_objective(actor, objective_id, write=True)
    version = required_version(request)
    services.archive_objective(actor=actor, objective=objective, expected_version=version)
    return Status(204, None)


@router.post(
    f"{ORG}/objectives/{{objective_id}}/restore",
    response=responses({200: ObjectiveOut}),
    tags=["objectives"],
)
def restore_objective(
    request: HttpRequest, slug: Slug, objective_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    objective = access_objective(actor, objective_id, write=True, include_archived=True)
    return _etagged(response, services.restore_objective(actor=actor, objective=objective))


# Alignment -----------------------------------------------------------------------------


def _alignments(actor: Actor) -> QuerySet[Alignment]:
    parent_visible = (
        Q(parent_objective__isnull=False) & objective_visibility_q(actor, "parent_objective__")
    ) | (
        Q(parent_key_result__isnull=False)
        & objective_visibility_q(actor, "parent_key_result__objective__")
    )
    return (
        Alignment.objects.of(actor.organization_id)
        .active()
        .filter(objective_visibility_q(actor, "child__"))
        .filter(parent_visible)
    )


@router.get(
    f"{ORG}/alignments", response=responses({200: page_of(AlignmentOut)}), tags=["alignment"]
)
def list_alignments(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[AlignmentQuery]
) -> Any:
    """Alignment links (child objective → parent objective or key result) you can see."""
    actor = org_actor(request, slug)
    qs = _alignments(actor)
    if params.child is not None:
        qs = qs.filter(child=reference(access_objective, actor, params.child, "child"))
    if params.parent_objective is not None:
        parent = reference(access_objective, actor, params.parent_objective, "parent_objective")
        qs = qs.filter(parent_objective=parent)
    if params.parent_key_result is not None:
        kr = reference(access_key_result, actor, params.parent_key_result, "parent_key_result")
        qs = qs.filter(parent_key_result=kr)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/alignments", response=responses({201: AlignmentOut}), tags=["alignment"])
def align_objective(
    request: HttpRequest, slug: Slug, payload: AlignmentIn, response: HttpResponse
) -> Any:
    """Align an objective to a parent objective or key result (409 naming the loop if it
    would close one)."""
    actor = org_actor(request, slug)
    if (payload.parent_objective is None) == (payload.parent_key_result is None):
        raise InvalidInput.field(
            "parent_objective", "give exactly one of parent_objective or parent_key_result"
        )
    child = reference(access_objective, actor, payload.child, "child")
    alignment = services.align_objective(
        actor=actor,
        child=child,
        parent_objective=reference(
            access_objective, actor, payload.parent_objective, "parent_objective"
        ),
        parent_key_result=reference(
            access_key_result, actor, payload.parent_key_result, "parent_key_result"
        ),
        weight=payload.weight,
    )
    return Status(201, _etagged(response, alignment))


@router.get(
    f"{ORG}/alignments/{{alignment_id}}",
    response=responses({200: AlignmentOut}),
    tags=["alignment"],
)
def get_alignment(
    request: HttpRequest, slug: Slug, alignment_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    return _etagged(response, access_alignment(actor, alignment_id))


@router.patch(
    f"{ORG}/alignments/{{alignment_id}}",
    response=responses({200: AlignmentOut}),
    tags=["alignment"],
)
def update_alignment(
    request: HttpRequest,
    slug: Slug,
    alignment_id: PathId,
    payload: AlignmentPatch,
    response: HttpResponse,
) -> Any:
    """Change an alignment link's weight (whoever may change the child objective)."""
    actor = org_actor(request, slug)
    alignment = access_alignment(actor, alignment_id, write=True)
    version = required_version(request)
    alignment = services.update_alignment(
        actor=actor, alignment=alignment, changes=changes_of(payload), expected_version=version
    )
    return _etagged(response, alignment)


@router.delete(
    f"{ORG}/alignments/{{alignment_id}}", response=responses({204: None}), tags=["alignment"]
)
def unalign_objective(request: HttpRequest, slug: Slug, alignment_id: PathId) -> Any:
    """Remove an alignment link (the audit log keeps it)."""
    actor = org_actor(request, slug)
    alignment = access_alignment(actor, alignment_id, write=True)
    require_current(request, alignment)
    services.unalign_objective(actor=actor, alignment=alignment)
    return Status(204, None)


# Key results ---------------------------------------------------------------------------


def _key_results(actor: Actor) -> KeyResultQuerySet:
    return KeyResult.objects.visible_to(actor).filter(
        objective__archived_at__isnull=True, objective__cycle__archived_at__isnull=True
    )


def _key_result_detail(actor: Actor, kr: KeyResult, response: HttpResponse) -> dict[str, Any]:
    """The key result with the engine's live numbers, forecast and explanation."""
    set_etag(response, kr)
    data = KeyResultOut.from_orm(kr).model_dump(by_alias=True)
    day = organization_today(actor.organization)
    # An archived key result is out of the plan: its stored numbers, no live ones.
    result = (
        None if kr.archived_at is not None else evaluate_one_key_result(actor.organization, kr, day)
    )
    data["as_of"] = day
    if result is not None:
        hidden = hidden_objective_keys(actor)
        data.update(
            progress=result.progress,
            progress_raw=result.progress_raw,
            expected=result.expected,
            status=result.status.value,
            confidence=result.confidence,
            confidence_disagrees=result.confidence_disagrees,
            forecast_reason=result.forecast_reason,
            explanation=_explanation(result.explanation, hidden),
        )
        if result.forecast is not None:
            f = result.forecast
            data["forecast"] = {
                "value": f.value,
                "low": f.low,
                "high": f.high,
                "progress": f.progress,
                "explanation": _explanation(f.explanation, hidden),
            }
    return data


@router.get(
    f"{ORG}/key-results", response=responses({200: page_of(KeyResultOut)}), tags=["key results"]
)
def list_key_results(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[KeyResultQuery]
) -> Any:
    """Key results you can see, with stored progress and status; filter by objective, cycle,
    team, owner, status, kind, update time."""
    actor = org_actor(request, slug)
    qs = _key_results(actor)
    qs = qs.archived() if params.archived else qs.active()
    if params.objective is not None:
        qs = qs.filter(objective=reference(access_objective, actor, params.objective, "objective"))
    if params.cycle is not None:
        qs = qs.filter(objective__cycle=reference(access_cycle, actor, params.cycle, "cycle"))
    if params.team is not None:
        qs = qs.filter(objective__owner_team=reference(access_team, actor, params.team, "team"))
    if params.owner is not None:
        qs = qs.filter(owner=member_user(actor, params.owner, "owner"))
    if params.status:
        qs = qs.filter(status=params.status)
    if params.kind:
        qs = qs.filter(kind=params.kind)
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(f"{ORG}/key-results", response=responses({201: KeyResultOut}), tags=["key results"])
def create_key_result(
    request: HttpRequest, slug: Slug, payload: KeyResultIn, response: HttpResponse
) -> Any:
    """Add a key result to an objective (whoever may change the objective)."""
    actor = org_actor(request, slug)
    objective = reference(access_objective, actor, payload.objective, "objective")
    kr = services.create_key_result(
        actor=actor,
        objective=objective,
        key=payload.key,
        title=payload.title,
        kind=payload.kind,
        start_value=payload.start_value,
        target_value=payload.target_value,
        unit=payload.unit,
        weight=payload.weight,
        owner=member_user(actor, payload.owner, "owner"),
        due_date=payload.due_date,
        curve=payload.curve,
        maintain_direction=payload.maintain_direction,
        description=payload.description,
    )
    return Status(201, _etagged(response, kr))


@router.get(
    f"{ORG}/key-results/{{key_result_id}}",
    response=responses({200: KeyResultDetailOut}),
    tags=["key results"],
)
def get_key_result(
    request: HttpRequest, slug: Slug, key_result_id: PathId, response: HttpResponse
) -> Any:
    """One key result with live progress, status, forecast and the explanation of each."""
    actor = org_actor(request, slug, key_result_id=key_result_id)
    return _key_result_detail(actor, access_key_result(actor, key_result_id), response)


@router.patch(
    f"{ORG}/key-results/{{key_result_id}}",
    response=responses({200: KeyResultOut}),
    tags=["key results"],
)
def update_key_result(
    request: HttpRequest,
    slug: Slug,
    key_result_id: PathId,
    payload: KeyResultPatch,
    response: HttpResponse,
) -> Any:
    """Change a key result (not its current value: check in for that)."""
    actor = org_actor(request, slug)
    kr = access_key_result(actor, key_result_id, write=True)
    version = required_version(request)
    refs = {"owner": member_user(actor, payload.owner, "owner")}
    kr = services.update_key_result(
        actor=actor, key_result=kr, changes=changes_of(payload, refs=refs), expected_version=version
    )
    return _etagged(response, kr)


@router.delete(
    f"{ORG}/key-results/{{key_result_id}}", response=responses({204: None}), tags=["key results"]
)
def archive_key_result(request: HttpRequest, slug: Slug, key_result_id: PathId) -> Any:
    actor = org_actor(request, slug)
    kr = access_key_result(actor, key_result_id, write=True)
    version = required_version(request)
    services.archive_key_result(actor=actor, key_result=kr, expected_version=version)
    return Status(204, None)


@router.post(
    f"{ORG}/key-results/{{key_result_id}}/restore",
    response=responses({200: KeyResultOut}),
    tags=["key results"],
)
def restore_key_result(
    request: HttpRequest, slug: Slug, key_result_id: PathId, response: HttpResponse
) -> Any:
    actor = org_actor(request, slug)
    kr = access_key_result(actor, key_result_id, write=True, include_archived=True)
    return _etagged(response, services.restore_key_result(actor=actor, key_result=kr))


# Check-ins -----------------------------------------------------------------------------


def _checkins(actor: Actor) -> QuerySet[CheckIn]:
    return (
        CheckIn.objects.filter(organization_id=actor.organization_id)
        .filter(objective_visibility_q(actor, "key_result__objective__"))
        .filter(
            key_result__archived_at__isnull=True,
            key_result__objective__archived_at__isnull=True,
            key_result__objective__cycle__archived_at__isnull=True,
        )
        .annotate(is_corrected=Exists(CheckIn.objects.filter(corrects=OuterRef("pk"))))
    )


@router.get(
    f"{ORG}/key-results/{{key_result_id}}/check-ins",
    response=responses({200: page_of(CheckInOut)}),
    tags=["check-ins"],
)
def list_key_result_checkins(
    request: HttpRequest,
    slug: Slug,
    key_result_id: PathId,
    response: HttpResponse,
    params: Query[KeyResultCheckInQuery],
) -> Any:
    """A key result's check-in history, newest first (corrected ones are marked)."""
    actor = org_actor(request, slug, key_result_id=key_result_id)
    kr = access_key_result(actor, key_result_id)
    qs = _checkins(actor).filter(key_result=kr)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.post(
    f"{ORG}/key-results/{{key_result_id}}/check-ins",
    response=responses({200: CheckInOut, 201: CheckInOut}),
    tags=["check-ins"],
)
def record_checkin(
    request: HttpRequest,
    slug: Slug,
    key_result_id: PathId,
    payload: CheckInIn,
    response: HttpResponse,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Record a value (and a confidence 0 to 10, a note) for a key result: 201. With an
    `Idempotency-Key`, a retry of the same request answers 200 with the first check-in and
    writes nothing; the same key with a different value is a 409."""
    actor = org_actor(request, slug, key_result_id=key_result_id)
    return _record_checkin(actor, key_result_id, payload, response, idempotency_key)


@router.post(
    "/key-results/{key_result_id}/check-ins",
    response=responses({200: CheckInOut, 201: CheckInOut}),
    tags=["check-ins"],
    auth=[token_auth],
)
def push_checkin(
    request: HttpRequest,
    key_result_id: PathId,
    payload: CheckInIn,
    response: HttpResponse,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """For scripts (cron, CI): record a check-in with an API token alone, its organization
    being the token's — a token scoped to this key result, or any token of its organization
    whose role may check in on it. Everything else is as
    `POST /orgs/{slug}/key-results/{id}/check-ins`: 201, 200 for a retry with the same
    `Idempotency-Key`, 409 for that key with a different value; a key result of another
    organization is 404. A web session is not accepted here (401)."""
    actor = token_actor(request, key_result_id=key_result_id)
    return _record_checkin(actor, key_result_id, payload, response, idempotency_key)


def _record_checkin(
    actor: Actor,
    key_result_id: int,
    payload: CheckInIn,
    response: HttpResponse,
    idempotency_key: str | None,
) -> Any:
    # The service reads and locks the key result, and answers 404 for one the actor cannot
    # see, as `access_key_result` would: no read of it here (issue 9, W2).
    replayed = (
        idempotency_key is not None
        and CheckIn.objects.filter(
            organization_id=actor.organization_id, idempotency_key=idempotency_key
        ).exists()
    )
    checkin = services.record_checkin(
        actor=actor,
        key_result=key_result_id,
        value=payload.value,
        confidence=payload.confidence,
        note=payload.note,
        effective_date=payload.effective_date,
        source=CheckInSource.API,
        idempotency_key=idempotency_key,
    )
    if replayed:
        if checkin.value != payload.value or checkin.confidence != payload.confidence:
            raise Conflict(
                "This Idempotency-Key was already used for a different check-in.",
                errors={"Idempotency-Key": ["already used with a different value or confidence"]},
            )
        response["Idempotent-Replayed"] = "true"
    if idempotency_key is None:
        # A check-in just recorded, and nothing corrects it yet: answer from the row the
        # service wrote (its value at the column's scale, as it reads back) without reading
        # it again. With a key it may be an earlier check-in (a replay): read it.
        checkin.value = checkin.value.quantize(_CHECKIN_VALUE_SCALE)
        checkin.is_corrected = False  # type: ignore[attr-defined]
        return Status(201, checkin)
    checkin = _checkins(actor).get(pk=checkin.pk)
    return Status(200 if replayed else 201, checkin)


@router.get(f"{ORG}/check-ins", response=responses({200: page_of(CheckInOut)}), tags=["check-ins"])
def list_checkins(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[CheckInQuery]
) -> Any:
    """Check-ins across key results you can see; filter by key result, objective, cycle,
    author, update time."""
    actor = org_actor(request, slug)
    qs = _checkins(actor)
    if params.key_result is not None:
        qs = qs.filter(
            key_result=reference(access_key_result, actor, params.key_result, "key_result")
        )
    if params.objective is not None:
        objective = reference(access_objective, actor, params.objective, "objective")
        qs = qs.filter(key_result__objective=objective)
    if params.cycle is not None:
        cycle = reference(access_cycle, actor, params.cycle, "cycle")
        qs = qs.filter(key_result__objective__cycle=cycle)
    if params.author is not None:
        qs = qs.filter(author=member_user(actor, params.author, "author"))
    if params.updated_since:
        qs = qs.filter(updated_at__gte=params.updated_since)
    return paginate(request, response, qs, page=params, ordering=params.ordering)


@router.get(
    f"{ORG}/check-ins/{{checkin_id}}", response=responses({200: CheckInOut}), tags=["check-ins"]
)
def get_checkin(request: HttpRequest, slug: Slug, checkin_id: PathId) -> Any:
    actor = org_actor(request, slug)
    checkin = access_checkin(actor, checkin_id)
    return _checkins(actor).get(pk=checkin.pk)


@router.post(
    f"{ORG}/check-ins/{{checkin_id}}/corrections",
    response=responses({201: CheckInOut}),
    tags=["check-ins"],
)
def correct_checkin(
    request: HttpRequest, slug: Slug, checkin_id: PathId, payload: CorrectionIn
) -> Any:
    """Correct a check-in: a new check-in on the same day replaces it in the history (the
    original stays, marked corrected). Only the latest correction can be corrected again."""
    actor = org_actor(request, slug)
    original = access_checkin(actor, checkin_id)
    correction = services.correct_checkin(
        actor=actor,
        checkin=original,
        value=payload.value,
        confidence=payload.confidence,
        note=payload.note,
    )
    return Status(201, _checkins(actor).get(pk=correction.pk))
