"""The roadmap half of the engine in one call: schedule, plan-health findings, priorities."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from milepost.engine.errors import DependencyCycleError
from milepost.engine.health import find_issues
from milepost.engine.model import Plan, Severity
from milepost.engine.priority import rank_initiatives
from milepost.engine.results import Finding, OkrReport, PriorityResult, Schedule
from milepost.engine.schedule import compute_schedule


@dataclass(frozen=True, slots=True)
class RoadmapReport:
    """Everything the roadmap engine says about a plan as of a date."""

    schedule: Schedule | None  # None when dependencies loop (see schedule_error)
    findings: tuple[Finding, ...]  # sorted: errors first, then code, then objects
    priorities: tuple[PriorityResult, ...]  # by rank
    schedule_error: str | None  # why there is no schedule, e.g. "dependency loop: a -> b -> a"

    @property
    def has_errors(self) -> bool:
        """True when any finding has severity error (``milepost plan check`` exits 1)."""
        return any(f.severity == Severity.ERROR for f in self.findings)


def evaluate_roadmap(
    plan: Plan,
    as_of: date,
    okr: OkrReport,
    *,
    same_but_checkins: RoadmapReport | None = None,
    changed: Collection[str] | None = None,
) -> RoadmapReport:
    """Schedule, findings and priorities of ``plan`` as of ``as_of``.

    ``okr`` is the plan's OKR evaluation at the same date (`milepost.engine.okr.evaluate_okrs`).
    A dependency loop does not raise: the report has no schedule, says why in
    ``schedule_error`` and carries a ``dependency-cycle`` finding for every loop. Items
    without any date are scheduled from the project start, or from ``as_of`` when the plan
    has no date at all.

    ``same_but_checkins``: the report, as of the same date, of a plan that differs from
    ``plan`` in check-ins only. The schedule reads no check-in, so its schedule is reused (a
    third of the evaluation of a 10,000-initiative roadmap), and so are the findings of the
    checks that read none; ``changed``, the keys of the key results whose check-ins differ,
    when known, narrows the findings and the priorities computed again to those key results
    (`milepost.engine.health.find_issues`, `milepost.engine.priority.rank_initiatives`).
    """
    schedule: Schedule | None
    if same_but_checkins is not None:
        schedule, error = same_but_checkins.schedule, same_but_checkins.schedule_error
    else:
        try:
            schedule = compute_schedule(plan, anchor=as_of)
            error = None
        except DependencyCycleError as exc:
            schedule, error = None, str(exc)
    return RoadmapReport(
        schedule=schedule,
        findings=tuple(
            find_issues(
                plan,
                as_of,
                okr,
                schedule,
                same_but_checkins=same_but_checkins.findings if same_but_checkins else None,
                changed=changed,
            )
        ),
        priorities=tuple(
            rank_initiatives(
                plan,
                as_of,
                okr,
                same_but_checkins=same_but_checkins.priorities if same_but_checkins else None,
                changed=changed,
            )
        ),
        schedule_error=error,
    )
