"""The weekly digest for team leads.

On the lead's check-in day (their own, else the organization's default; from the same hour as
reminders), each lead of one or more live teams gets one digest per ISO week covering the key
results of the teams' open objectives in active cycles (those the lead may see):

* **status changes** since the lead's previous digest: each digest stores a snapshot of the
  statuses it reported (in its `NotificationLog` row) and the next one compares with it. The
  first digest, having no snapshot, compares with the status before the first check-in of the
  last seven days (from the audit log);
* **new findings**: plan-health findings (engine, every active cycle) that involve the teams,
  their objectives, key results or initiatives and were not in the previous digest (the first
  digest lists them all);
* **stale key results**: the engine's ``kr-stale`` findings on them (every week, while stale);
* the count of key results by status.

A lead with nothing to report (no key results, no findings) gets no digest that week.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.urls import reverse

from milepost.audit.models import AuditEvent
from milepost.engine.results import Finding
from milepost.integrations.findings import fingerprint
from milepost.integrations.models import NotificationKind, NotificationLog, NotificationState
from milepost.integrations.notifications import Message
from milepost.integrations.reminders import (
    OPEN_OBJECTIVE,
    Recipient,
    absolute_url,
    claim_or_record_failure,
    markdown_escape,
    organization_zone,
    preferences_url,
    recipients_due,
    status_label,
    week_end,
    week_key,
)
from milepost.okrs.models import Cycle, KeyResult
from milepost.organizations.models import Organization, Team
from milepost.reports.queries import finding_hidden, hidden_objective_keys
from milepost.roadmap.models import Initiative
from milepost.web.format import STATUS_ORDER, percent

if TYPE_CHECKING:
    from milepost.integrations.reminders import NotificationSummary

STALE_CODE = "kr-stale"
AUDIT_LOOKBACK = dt.timedelta(days=7)


@dataclass
class _CycleFindings:
    """Every finding of the organization's active cycles, with its fingerprint (evaluated
    once per organization and pass, only when a digest needs it)."""

    organization: Organization
    loaded: list[tuple[str, Finding]] | None = None

    def all(self) -> list[tuple[str, Finding]]:
        if self.loaded is None:
            from milepost.roadmap.engine_io import evaluate

            found: dict[str, Finding] = {}
            cycles = Cycle.objects.filter(
                organization=self.organization, state="active", archived_at__isnull=True
            ).order_by("start_date", "key")
            for cycle in cycles:
                _okr, roadmap = evaluate(self.organization, cycle=cycle)
                for finding in roadmap.findings:
                    found.setdefault(fingerprint(cycle.key, finding), finding)
            self.loaded = list(found.items())
        return self.loaded


@dataclass
class Digest:
    """What one lead's digest says (before rendering)."""

    teams: list[Team]
    key_results: list[KeyResult]
    changes: list[tuple[KeyResult, str, str]]  # (key result, from status, to status)
    new_findings: list[Finding]
    stale: list[tuple[KeyResult | None, Finding]]
    snapshot: dict[str, Any]
    since: str  # "since your digest of 2026-W46" / "in the last 7 days"
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.key_results and not self.new_findings and not self.stale


def _previous_snapshot(
    organization: Organization, user_id: int, period: str
) -> NotificationLog | None:
    return (
        NotificationLog.objects.filter(
            organization=organization,
            user_id=user_id,
            kind=NotificationKind.DIGEST,
            state=NotificationState.SENT,
            snapshot__isnull=False,
        )
        .exclude(period_key=period)
        .order_by("-created_at", "-pk")
        .first()
    )


def _statuses_a_week_ago(
    organization: Organization, key_results: list[KeyResult], now: dt.datetime
) -> dict[int, str]:
    """Each key result's status before its first check-in of the last seven days."""
    ids = {kr.pk for kr in key_results}
    before: dict[int, str] = {}
    if not ids:
        return before
    events = AuditEvent.objects.filter(
        organization=organization,
        action="checkin.record",
        created_at__gte=now - AUDIT_LOOKBACK,
        created_at__lte=now,
        after__key_result_id__in=sorted(ids),
    ).order_by("created_at", "id")
    for event_before, event_after in events.values_list("before", "after"):
        kr_id = (event_after or {}).get("key_result_id")
        status = (event_before or {}).get("status")
        if kr_id in ids and kr_id not in before and isinstance(status, str):
            before[kr_id] = status
    return before


def build_digest(
    recipient: Recipient,
    teams: list[Team],
    findings: _CycleFindings,
    *,
    period: str,
    now: dt.datetime,
) -> Digest:
    """The digest of `teams` for their lead `recipient` at `now`."""
    actor = recipient.actor
    organization = actor.organization
    key_results = list(
        KeyResult.objects.visible_to(actor)
        .filter(
            objective__owner_team__in=teams,
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__state__in=OPEN_OBJECTIVE,
            objective__cycle__archived_at__isnull=True,
            objective__cycle__state="active",
        )
        .select_related("objective__owner_team", "objective__cycle")
        .order_by("objective__owner_team__name", "objective__key", "key", "pk")
    )
    previous = _previous_snapshot(organization, actor.user_id or 0, period)
    old_statuses: dict[int, str]
    old_findings: set[str] | None
    if previous is not None and isinstance(previous.snapshot, dict):
        raw = previous.snapshot.get("statuses") or {}
        old_statuses = {int(k): str(v) for k, v in raw.items()}
        old_findings = {str(f) for f in previous.snapshot.get("findings") or []}
        since = f"since your digest of {previous.period_key}"
    else:
        old_statuses = _statuses_a_week_ago(organization, key_results, now)
        old_findings = None
        since = "in the last 7 days"
    changes = [
        (kr, old_statuses[kr.pk], kr.status)
        for kr in key_results
        if kr.pk in old_statuses and old_statuses[kr.pk] != kr.status
    ]
    rank = {s: n for n, s in enumerate(STATUS_ORDER)}
    changes.sort(key=lambda c: (rank.get(c[2], 9), c[0].title))

    by_path = {f"kr:{kr.objective.key}/{kr.key}": kr for kr in key_results}
    team_ids = [t.pk for t in teams]
    relevant = set(by_path)
    relevant |= {f"objective:{kr.objective.key}" for kr in key_results}
    relevant |= {f"team:{t.key}" for t in teams}
    relevant |= {
        f"initiative:{key}"
        for key in Initiative.objects.filter(
            organization=organization, team_id__in=team_ids, archived_at__isnull=True
        ).values_list("key", flat=True)
    }
    hidden = hidden_objective_keys(actor)
    mine = [
        (fp, f)
        for fp, f in findings.all()
        if relevant.intersection(f.objects) and not finding_hidden(f, hidden)
    ]
    stale = [
        (next((by_path[o] for o in f.objects if o in by_path), None), f)
        for _fp, f in mine
        if f.code == STALE_CODE
    ]
    new_findings = [
        f
        for fp, f in mine
        if f.code != STALE_CODE and (old_findings is None or fp not in old_findings)
    ]
    counts: dict[str, int] = defaultdict(int)
    for kr in key_results:
        counts[kr.status] += 1
    return Digest(
        teams=teams,
        key_results=key_results,
        changes=changes,
        new_findings=new_findings,
        stale=stale,
        snapshot={
            "statuses": {str(kr.pk): kr.status for kr in key_results},
            "findings": sorted(fp for fp, _f in mine),
        },
        since=since,
        counts={s: counts[s] for s in STATUS_ORDER if counts.get(s)},
    )


def _kr_url(kr: KeyResult) -> str:
    return absolute_url(reverse("web:key-result-detail", args=[kr.pk]))


def digest_message(recipient: Recipient, digest: Digest, period: str) -> Message:
    """The digest as an email (text and HTML) and a chat post."""
    organization = recipient.actor.organization
    user = recipient.membership.user
    team_names = ", ".join(t.name for t in digest.teams)
    context: dict[str, Any] = {
        "name": user.full_name or user.email,
        "organization": organization.name,
        "teams": team_names,
        "period": period,
        "since": digest.since,
        "total": len(digest.key_results),
        "counts": [(status_label(s), n) for s, n in digest.counts.items()],
        "changes": [
            {
                "title": kr.title,
                "team": kr.objective.owner_team.name if kr.objective.owner_team else "",
                "from": status_label(old),
                "to": status_label(new),
                "progress": percent(kr.progress),
                "url": _kr_url(kr),
            }
            for kr, old, new in digest.changes
        ],
        "findings": [
            {"severity": f.severity.value, "message": f.message} for f in digest.new_findings
        ],
        "stale": [
            {"message": f.message, "url": _kr_url(kr) if kr is not None else ""}
            for kr, f in digest.stale
        ],
        "health_url": absolute_url(reverse("web:plan-health")),
        "preferences_url": preferences_url(),
    }
    parts = []
    if digest.changes:
        parts.append(
            f"{len(digest.changes)} status change{'s' if len(digest.changes) != 1 else ''}"
        )
    if digest.new_findings:
        n = len(digest.new_findings)
        parts.append(f"{n} new finding{'s' if n != 1 else ''}")
    if digest.stale:
        parts.append(f"{len(digest.stale)} stale")
    subject = f"Weekly digest for {team_names} ({period})" + (
        f": {', '.join(parts)}" if parts else ""
    )
    lines = [f"**Weekly digest for {markdown_escape(team_names)}** ({period})", ""]
    if context["counts"]:
        lines.append(
            f"{context['total']} key results: "
            + ", ".join(f"{n} {label.lower()}" for label, n in context["counts"])
        )
    lines += ["", f"**Status changes** {digest.since}:"]
    lines += [
        f"- [{markdown_escape(c['title'])}]({c['url']}): {c['from'].lower()} → "
        f"{c['to'].lower()} ({c['progress']})"
        for c in context["changes"]
    ] or ["- none"]
    lines += ["", "**New findings:**"]
    lines += [
        f"- {markdown_escape(f['severity'])}: {markdown_escape(f['message'])}"
        for f in context["findings"]
    ] or ["- none"]
    lines += ["", "**Stale key results:**"]
    lines += [
        f"- {markdown_escape(s['message'])}" + (f" [Open]({s['url']})" if s["url"] else "")
        for s in context["stale"]
    ] or ["- none"]
    lines += ["", f"[Plan health]({context['health_url']})"]
    return Message(
        subject=subject,
        text=render_to_string("integrations/email/digest.txt", context),
        html=render_to_string("integrations/email/digest.html", context),
        chat="\n".join(lines),
    )


def claim_digests(
    organization: Organization,
    local: dt.datetime,
    now: dt.datetime,
    summary: NotificationSummary,
) -> None:
    """Claim (render and log) the digests due today in `organization`."""
    led: dict[int, list[Team]] = defaultdict(list)
    for team in Team.objects.filter(
        organization=organization, archived_at__isnull=True, lead__isnull=False
    ).order_by("name", "pk"):
        if team.lead_id is not None:
            led[team.lead_id].append(team)
    if not led:
        return
    day = local.date()
    period = week_key(day)
    until = week_end(day, organization_zone(organization))
    findings = _CycleFindings(organization)
    for recipient in recipients_due(
        organization,
        kind=NotificationKind.DIGEST,
        weekday=day.weekday(),
        period_key=period,
        only_users=list(led),
    ):

        def prepare(recipient: Recipient = recipient) -> tuple[Message | None, int, Any]:
            teams = led[recipient.membership.user_id]
            digest = build_digest(recipient, teams, findings, period=period, now=now)
            if digest.empty:
                return None, 0, None
            message = digest_message(recipient, digest, period)
            return message, len(digest.key_results), digest.snapshot

        claim_or_record_failure(
            recipient,
            kind=NotificationKind.DIGEST,
            period=period,
            until=until,
            now=now,
            prepare=prepare,
            summary=summary,
        )
