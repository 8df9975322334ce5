"""REST: a key result's data source, read-only (configuring it is done in the web app).

The inbound side — a script pushing a value — is ``POST /api/v1/key-results/{id}/check-ins``
(`milepost.okrs.api.push_checkin`, the same service as the organization's check-in endpoint)
with a token scoped to that key result (see docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from milepost.api.auth import org_actor
from milepost.api.common import PathId, Slug, responses
from milepost.integrations.access import access_data_source

router = Router(tags=["data sources"])


class DataSourceStatusOut(Schema):
    configured: bool
    kind: str | None = None
    target: str | None = None
    schedule: str | None = None
    enabled: bool | None = None
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_value: Decimal | None = None
    consecutive_failures: int | None = None


@router.get(
    "/orgs/{slug}/key-results/{key_result_id}/data-source",
    response=responses({200: DataSourceStatusOut}),
)
def get_key_result_data_source(request: HttpRequest, slug: Slug, key_result_id: PathId) -> Any:
    """Whether the key result reads its value from a data source, and how its last run went
    (``last_status``: never, ok or failed; ``last_error`` says why a run gave no value)."""
    actor = org_actor(request, slug, key_result_id=key_result_id)
    _kr, source = access_data_source(actor, key_result_id)
    if source is None:
        return DataSourceStatusOut(configured=False)
    return DataSourceStatusOut(
        configured=True,
        kind=source.kind,
        target=source.target,
        schedule=source.schedule,
        enabled=source.enabled,
        next_run_at=source.next_run_at,
        last_run_at=source.last_run_at,
        last_status=source.last_status,
        last_error=source.last_error,
        last_value=source.last_value,
        consecutive_failures=source.consecutive_failures,
    )
