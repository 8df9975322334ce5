"""Background work for integrations, on Django's tasks framework.

`run_due_work(now)` is the one entry point a worker loop calls every few seconds (the
``milepost worker`` command): it runs the data sources that are due, makes the webhook
delivery attempts that are due, and compares plan-health findings for ``finding.raised``
(each subscribed organization at most once a day). Each item is claimed before it is worked
on, so several workers can run side by side without doing anything twice; one failing item
never stops the others.

The same work is also available as tasks (`run_due_work_task`, `run_data_source_task`,
`deliver_webhook_task`, `raise_new_findings_task`) for ``enqueue()`` on the configured
backend (the database backend by default; Redis/RQ at scale).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.tasks import task
from django.utils import timezone

from milepost.integrations import datasources, findings, webhooks
from milepost.integrations.models import (
    DataSource,
    DataSourceRun,
    DeliveryStatus,
    WebhookDelivery,
)
from milepost.organizations.models import Organization

log = logging.getLogger(__name__)

DATA_SOURCES_PER_PASS = 50
DELIVERIES_PER_PASS = 200
FINDING_SCANS_PER_PASS = 20
# History kept: data-source runs 90 days, finished webhook deliveries 30 days (checked at most
# once an hour per worker process).
RUNS_KEPT = dt.timedelta(days=90)
DELIVERIES_KEPT = dt.timedelta(days=30)
PRUNE_EVERY = dt.timedelta(hours=1)
_last_pruned: dt.datetime | None = None


@dataclass
class WorkSummary:
    """What one pass of `run_due_work` did."""

    data_sources_run: int = 0
    data_sources_failed: int = 0
    deliveries_attempted: int = 0
    deliveries_delivered: int = 0
    findings_scanned: int = 0
    findings_raised: int = 0
    pruned: int = 0  # old runs and deliveries deleted
    errors: int = 0  # unexpected exceptions (logged), not ordinary failures

    @property
    def did_anything(self) -> bool:
        return any(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in asdict(self).items() if v)


def _run_sources(now: dt.datetime, summary: WorkSummary) -> None:
    for source in list(datasources.due_data_sources(now)[:DATA_SOURCES_PER_PASS]):
        if not datasources.claim(source, now):
            continue
        try:
            run = datasources.run_data_source(source, now=now)
        except Exception:
            summary.errors += 1
            log.exception("data source %s crashed", source.pk)
            continue
        summary.data_sources_run += 1
        if not run.ok:
            summary.data_sources_failed += 1


def _send_deliveries(now: dt.datetime, summary: WorkSummary) -> None:
    for delivery in list(webhooks.due_deliveries(now)[:DELIVERIES_PER_PASS]):
        if not webhooks.claim(delivery, now):
            continue
        try:
            delivered = webhooks.deliver(delivery, now=now)
        except Exception:
            summary.errors += 1
            log.exception("webhook delivery %s crashed", delivery.pk)
            continue
        summary.deliveries_attempted += 1
        summary.deliveries_delivered += int(delivered)


def _scan_findings(now: dt.datetime, summary: WorkSummary) -> None:
    for organization in list(findings.organizations_to_scan(now)[:FINDING_SCANS_PER_PASS]):
        try:
            summary.findings_raised += findings.raise_new_findings(organization, now=now)
        except Exception:
            summary.errors += 1
            log.exception("finding scan of organization %s crashed", organization.pk)
            continue
        summary.findings_scanned += 1


def prune_history(now: dt.datetime) -> int:
    """Delete data-source runs older than `RUNS_KEPT` and finished webhook deliveries older
    than `DELIVERIES_KEPT`; how many rows went."""
    runs, _ = DataSourceRun.objects.filter(started_at__lt=now - RUNS_KEPT).delete()
    deliveries, _ = (
        WebhookDelivery.objects.filter(created_at__lt=now - DELIVERIES_KEPT)
        .exclude(status=DeliveryStatus.PENDING)
        .delete()
    )
    return runs + deliveries


def _prune(now: dt.datetime, summary: WorkSummary) -> None:
    global _last_pruned
    if _last_pruned is not None and now - _last_pruned < PRUNE_EVERY:
        return
    _last_pruned = now
    try:
        summary.pruned = prune_history(now)
    except Exception:
        summary.errors += 1
        log.exception("pruning integration history failed")


def run_due_work(now: dt.datetime | None = None) -> WorkSummary:
    """Run what is due at `now` (default: the current time): data sources, webhook
    deliveries, the daily ``finding.raised`` comparison, and (hourly) pruning of old history.
    Deliveries of events emitted by this pass's check-ins go out on the next pass."""
    now = now or timezone.now()
    summary = WorkSummary()
    _run_sources(now, summary)
    _scan_findings(now, summary)
    _send_deliveries(now, summary)
    _prune(now, summary)
    return summary


@task()
def run_due_work_task() -> dict[str, int]:
    """`run_due_work` as a task (for a scheduler that enqueues it periodically)."""
    return run_due_work().as_dict()


@task()
def run_data_source_task(data_source_id: int) -> dict[str, Any]:
    """Run one data source now (if it still exists and is enabled)."""
    source = (
        DataSource.objects.filter(pk=data_source_id, archived_at__isnull=True, enabled=True)
        .select_related("key_result__organization", "connection")
        .first()
    )
    if source is None:
        return {"ran": False}
    run = datasources.run_data_source(source)
    return {"ran": True, "ok": run.ok, "error": run.error}


@task()
def deliver_webhook_task(delivery_id: int) -> bool:
    """Make one attempt of a pending delivery now."""
    delivery = (
        WebhookDelivery.objects.filter(pk=delivery_id, status="pending")
        .select_related("subscription", "organization")
        .first()
    )
    if delivery is None or not delivery.subscription.is_active:
        return False
    return webhooks.deliver(delivery)


@task()
def raise_new_findings_task(organization_id: int) -> int:
    """`findings.raise_new_findings` for one organization (the nightly comparison)."""
    organization = Organization.objects.active().filter(pk=organization_id).first()
    if organization is None:
        return 0
    return findings.raise_new_findings(organization)
