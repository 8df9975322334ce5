"""``finding.raised``: announce plan-health findings that were not there before.

Comparing the findings before and after every check-in would cost a whole-plan evaluation per
write, so findings are compared on a schedule instead: `raise_new_findings(organization)`
evaluates the plan of each active cycle, fingerprints every finding (cycle, code and the
objects involved — not the wording, which can carry numbers that move), emits
``finding.raised`` for each fingerprint not stored yet, stores the new ones and forgets those
that went away (so a finding that comes back is announced again). The worker runs it at most
once every `SCAN_INTERVAL` per organization, and only for organizations with an active
subscription to ``finding.raised`` (see `milepost.integrations.tasks.run_due_work`).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from milepost.engine.results import Finding
from milepost.integrations.models import (
    FindingFingerprint,
    FindingScan,
    SubscriptionState,
    WebhookSubscription,
)
from milepost.integrations.webhooks import emit_event
from milepost.okrs.models import Cycle
from milepost.organizations.models import Organization

SCAN_INTERVAL = dt.timedelta(hours=24)


def fingerprint(cycle_key: str, finding: Finding) -> str:
    """A stable id for a finding in a cycle: its code and the objects it names."""
    text = "\x1f".join([cycle_key, finding.code, *sorted(finding.objects)])
    return hashlib.sha256(text.encode()).hexdigest()


def raise_new_findings(organization: Organization, *, now: dt.datetime | None = None) -> int:
    """Emit ``finding.raised`` for every finding of the organization's active cycles not
    announced before; return how many were raised."""
    from milepost.roadmap.engine_io import evaluate

    now = now or timezone.now()
    current: dict[str, tuple[Cycle, Finding]] = {}
    cycles = Cycle.objects.filter(
        organization=organization, state="active", archived_at__isnull=True
    ).order_by("start_date", "key")
    for cycle in cycles:
        _okr, roadmap = evaluate(organization, cycle=cycle)
        for finding in roadmap.findings:
            current.setdefault(fingerprint(cycle.key, finding), (cycle, finding))
    with transaction.atomic():
        known = set(
            FindingFingerprint.objects.filter(organization=organization).values_list(
                "fingerprint", flat=True
            )
        )
        new = [fp for fp in current if fp not in known]
        FindingFingerprint.objects.filter(organization=organization).exclude(
            fingerprint__in=list(current)
        ).delete()
        FindingFingerprint.objects.bulk_create(
            [
                FindingFingerprint(
                    organization=organization,
                    fingerprint=fp,
                    code=current[fp][1].code,
                    first_seen_at=now,
                )
                for fp in new
            ],
            ignore_conflicts=True,
        )
        FindingScan.objects.update_or_create(
            organization=organization, defaults={"scanned_at": now}
        )
        for fp in new:
            cycle, finding = current[fp]
            emit_event(
                organization,
                "finding.raised",
                {
                    "finding": {
                        "fingerprint": fp,
                        "code": finding.code,
                        "severity": finding.severity.value,
                        "message": finding.message,
                        "objects": list(finding.objects),
                    },
                    "cycle": {"id": cycle.pk, "key": cycle.key, "name": cycle.name},
                },
            )
    return len(new)


def organizations_to_scan(now: dt.datetime) -> QuerySet[Organization]:
    """Live organizations with an active ``finding.raised`` subscription whose findings
    were not compared in the last `SCAN_INTERVAL`."""
    subscribed = [
        s.organization_id
        for s in WebhookSubscription.objects.filter(
            state=SubscriptionState.ACTIVE, archived_at__isnull=True
        ).only("organization_id", "events")
        if "finding.raised" in (s.events or [])
    ]
    recent = FindingScan.objects.filter(scanned_at__gt=now - SCAN_INTERVAL).values(
        "organization_id"
    )
    return (
        Organization.objects.active()
        .filter(pk__in=set(subscribed))
        .exclude(pk__in=recent)
        .order_by("pk")
    )
