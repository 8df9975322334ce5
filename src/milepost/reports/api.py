"""REST endpoints for the read models: the alignment tree, the roadmap schedule, plan-health
findings and the priority ranking (all computed by `milepost.reports.queries`)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from milepost.api.auth import org_actor
from milepost.api.common import MAX_DATE, MIN_DATE, Slug, reference, responses
from milepost.api.renderers import dumps
from milepost.engine.collector import cyclic_gc_paused
from milepost.errors import InvalidInput
from milepost.okrs.access import access_cycle
from milepost.reports import queries
from milepost.reports.schemas import (
    CycleQuery,
    FindingsOut,
    PrioritiesOut,
    ScheduleOut,
    TreeOut,
    TreeQuery,
)

router = Router(tags=["reports"])

ORG = "/orgs/{slug}"


def _as_of(value: date | None) -> date | None:
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise InvalidInput.field("as_of", f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


@router.get(f"{ORG}/tree", response=responses({200: TreeOut}))
def alignment_tree(request: HttpRequest, slug: Slug, params: Query[TreeQuery]) -> Any:
    """The cycle's objectives as a tree (alignment), with their key results and stored
    progress; with ``root``, the subtree below one objective. Objectives you may not see are
    locked nodes: their numbers, nothing else."""
    actor = org_actor(request, slug)
    cycle = reference(access_cycle, actor, params.cycle, "cycle")
    roots = queries.alignment_tree(actor, cycle, root=params.root)
    # Written straight to JSON (orjson writes the nodes, dataclasses named as `TreeOut`
    # names them; a test holds it to the schema): validating thousands of nodes on the way
    # out was most of the time of a large tree.
    with cyclic_gc_paused():  # 9 MB of text for a whole organization, no reference cycles
        body = dumps({"cycle": cycle.pk, "roots": roots})
    return HttpResponse(body, content_type="application/json")


@router.get(f"{ORG}/schedule", response=responses({200: ScheduleOut}))
def roadmap_schedule(request: HttpRequest, slug: Slug, params: Query[CycleQuery]) -> Any:
    """The computed schedule (critical path): earliest/latest dates, slack, critical items."""
    actor = org_actor(request, slug)
    cycle = reference(access_cycle, actor, params.cycle, "cycle")
    schedule = queries.roadmap_schedule(actor, cycle, as_of=_as_of(params.as_of))
    # Written straight to JSON (orjson writes the dataclasses in `ScheduleOut`'s shape; a test
    # holds it to the schema): validating 110,000 items on the way out took seconds.
    return HttpResponse(dumps(schedule), content_type="application/json")


@router.get(f"{ORG}/findings", response=responses({200: FindingsOut}))
def plan_findings(request: HttpRequest, slug: Slug, params: Query[CycleQuery]) -> Any:
    """Where the OKRs and the roadmap disagree, errors first."""
    actor = org_actor(request, slug)
    cycle = reference(access_cycle, actor, params.cycle, "cycle")
    findings = queries.plan_findings(actor, cycle, as_of=_as_of(params.as_of))
    return {
        "items": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "message": f.message,
                "objects": list(f.objects),
            }
            for f in findings
        ]
    }


@router.get(f"{ORG}/priorities", response=responses({200: PrioritiesOut}))
def priority_ranking(request: HttpRequest, slug: Slug, params: Query[CycleQuery]) -> Any:
    """Initiatives ranked by the outcomes they serve, each score explained term by term."""
    actor = org_actor(request, slug)
    cycle = reference(access_cycle, actor, params.cycle, "cycle")
    ranked = queries.priority_ranking(actor, cycle, as_of=_as_of(params.as_of))
    return {
        "items": [{**dataclasses.asdict(r), "explanation": r.explanation.as_dict()} for r in ranked]
    }
