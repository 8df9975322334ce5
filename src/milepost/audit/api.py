"""REST endpoint for the audit log: read-only, admins and owners."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from milepost.api.auth import org_actor
from milepost.api.common import Slug, responses
from milepost.api.pagination import page_of, paginate
from milepost.audit.schemas import AuditEventOut, AuditQuery
from milepost.errors import InvalidInput
from milepost.organizations.models import Membership
from milepost.reports.queries import AuditFilters, audit_log

router = Router(tags=["audit"])


@router.get("/orgs/{slug}/audit-events", response=responses({200: page_of(AuditEventOut)}))
def list_audit_events(
    request: HttpRequest, slug: Slug, response: HttpResponse, params: Query[AuditQuery]
) -> Any:
    """Every change in the organization, newest first, with actor, before and after
    (admins and owners). Events cannot be changed or deleted through any interface."""
    actor = org_actor(request, slug)
    if (
        params.actor is not None
        and not Membership.objects.filter(
            organization_id=actor.organization_id, user_id=params.actor
        ).exists()
    ):  # current and former members; anyone else is not found
        raise InvalidInput.field("actor", "not found in this organization")
    filters = AuditFilters(
        action=params.action,
        target_type=params.target_type,
        target_id=params.target_id,
        actor_id=params.actor,
        since=params.since,
        until=params.until,
    )
    qs = audit_log(actor, filters)
    return paginate(request, response, qs, page=params, ordering=params.ordering)
