"""The cycle report: how a cycle ended (or is ending), for the web page, its printable version
and the API.

* **Scores**: every key result's score and grade. A closed cycle reports the scores recorded
  at close (its retrospectives); an active one the engine's score as of today. A grade
  overridden in a retrospective counts as the final grade (the override and its reason are
  shown beside the engine's grade).
* **Distribution** of the scores (0.0 to 1.0 by tenths) and **achieved / partial / missed** per
  team (the team that owns the key result's objective).
* **Confidence calibration** per owner and per team: `milepost.engine.calibration` over the
  cycle's check-ins (a Brier score, and whether people are habitually over- or
  under-confident). The outcome is the engine's score, never an override.
* **Planned vs actual investment** per objective: `milepost.engine.capacity.investment` over the
  cycle's plan (`milepost.roadmap.engine_io.load_plan`).
* **Lessons**: the retrospectives' lessons and reflections, searchable across cycles
  (`search_lessons`).

Objectives the actor may not see (and their key results) are left out of every part. Every
number comes from the engine; a fixed number of queries whatever the size of the cycle.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q

from milepost.accounts.models import User
from milepost.engine.calibration import Calibration, calibration_report, forecasts_from_plan
from milepost.engine.capacity import Spend, investment
from milepost.engine.model import CycleState, ObjectiveState
from milepost.engine.okr import evaluate_okrs
from milepost.engine.score import score
from milepost.okrs.models import Cycle, Grade, KeyResult, Objective, ReasonCode, Retrospective
from milepost.okrs.querysets import objective_visibility_q
from milepost.okrs.retrospectives import has_reflection, score_date
from milepost.organizations.access import Actor
from milepost.organizations.models import Team
from milepost.roadmap.engine_io import load_plan

GRADES = (Grade.ACHIEVED, Grade.PARTIAL, Grade.MISSED)
# The status colour each grade is drawn in (the app's status palette).
GRADE_CSS = {"achieved": "on_track", "partial": "at_risk", "missed": "off_track"}
SCORE_BUCKETS = tuple(Decimal(n) / 10 for n in range(11))
LESSONS_LIMIT = 200
NO_TEAM = "No team"


@dataclass
class KeyResultScore:
    id: int
    key: str  # "objective/kr"
    title: str
    objective_id: int
    objective_title: str
    team: str  # team name, or NO_TEAM
    owner: str  # display name, or ""
    score: Decimal
    grade: str  # the engine's
    final_grade: str  # the override when there is one
    reason_code: str = ""
    lessons: str = ""

    @property
    def overridden(self) -> bool:
        return self.final_grade != self.grade

    @property
    def reason_label(self) -> str:
        return ReasonCode(self.reason_code).label if self.reason_code else ""


@dataclass
class ObjectiveScore:
    id: int
    key: str
    title: str
    team: str
    state: str
    score: Decimal
    grade: str
    retrospective: str  # "reflection" | "skipped" | "missing" | "not needed"
    investment: Spend = field(default_factory=Spend)  # planned and actual


@dataclass
class Bucket:
    label: str
    count: int
    share: Decimal
    css: str = ""


@dataclass
class TeamTally:
    team: str
    achieved: int = 0
    partial: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.achieved + self.partial + self.missed

    @property
    def achieved_share(self) -> Decimal:
        return Decimal(self.achieved) / self.total if self.total else Decimal(0)


@dataclass
class CalibrationRow:
    name: str
    calibration: Calibration


@dataclass
class Lesson:
    retrospective_id: int
    cycle_id: int
    cycle_name: str
    subject: str  # "objective" | "key result"
    subject_id: int
    title: str
    grade: str
    score: Decimal | None
    reason: str
    lessons: str
    went_well: str
    went_badly: str
    change_next: str


@dataclass
class CycleReport:
    cycle: Cycle
    as_of: dt.date
    final: bool  # the cycle is closed: the scores are those recorded at close
    key_results: list[KeyResultScore]
    objectives: list[ObjectiveScore]
    distribution: list[Bucket]
    grades: list[Bucket]
    teams: list[TeamTally]
    calibration_overall: Calibration
    calibration_owners: list[CalibrationRow]
    calibration_teams: list[CalibrationRow]
    investment_total: Spend
    lessons: list[Lesson]

    @property
    def mean_score(self) -> Decimal | None:
        if not self.key_results:
            return None
        total = sum((k.score for k in self.key_results), Decimal(0))
        return (total / len(self.key_results)).quantize(Decimal("0.01"))


def _shares(rows: list[tuple[str, int, str]]) -> list[Bucket]:
    total = sum(n for _, n, _ in rows)
    return [
        Bucket(label, n, (Decimal(n) / total) if total else Decimal(0), css)
        for label, n, css in rows
    ]


def _final(retro: Retrospective | None, engine_grade: str) -> str:
    if retro is not None and retro.grade_override:
        return retro.grade_override
    return engine_grade


def cycle_report(actor: Actor, cycle: Cycle) -> CycleReport:
    """The report of ``cycle`` as the actor may see it (see the module docstring)."""
    organization = actor.organization
    as_of = score_date(cycle, organization)
    plan = load_plan(organization, cycle=cycle)
    okr = evaluate_okrs(plan, as_of, with_forecast=False)
    objectives = list(
        Objective.objects.filter(cycle=cycle, archived_at__isnull=True)
        .filter(objective_visibility_q(actor))
        .select_related("owner_team")
        .order_by("key", "pk")
    )
    by_key = {o.key: o for o in objectives}
    key_results = list(
        KeyResult.objects.filter(objective__in=[o.pk for o in objectives], archived_at__isnull=True)
        .select_related("owner")
        .order_by("key", "pk")
    )
    retros = list(
        Retrospective.objects.filter(
            Q(key_result__in=[k.pk for k in key_results]) | Q(objective__in=list(by_key.values()))
        )
    )
    kr_retro = {r.key_result_id: r for r in retros if r.key_result_id is not None}
    objective_retro = {r.objective_id: r for r in retros if r.objective_id is not None}
    final = cycle.state == CycleState.CLOSED
    objective_by_id = {o.pk: o for o in objectives}

    def team_name(o: Objective) -> str:
        return o.owner_team.name if o.owner_team is not None else NO_TEAM

    scores: list[KeyResultScore] = []
    for kr in key_results:
        objective = objective_by_id[kr.objective_id]
        result = okr.key_results.get(f"{objective.key}/{kr.key}")
        retro = kr_retro.get(kr.pk)
        if final and retro is not None and retro.score is not None:
            value, grade = retro.score, retro.grade
        elif result is not None:
            s = score(result.progress)
            value, grade = s.value, s.grade
        else:
            continue
        scores.append(
            KeyResultScore(
                id=kr.pk,
                key=f"{objective.key}/{kr.key}",
                title=kr.title,
                objective_id=objective.pk,
                objective_title=objective.title,
                team=team_name(objective),
                owner=kr.owner.display_name if kr.owner is not None else "",
                score=value,
                grade=grade,
                final_grade=_final(retro, grade),
                reason_code=retro.reason_code if retro is not None else "",
                lessons=retro.lessons if retro is not None else "",
            )
        )

    spend = investment(plan)
    objective_scores: list[ObjectiveScore] = []
    for o in objectives:
        objective_result = okr.objectives.get(o.key)
        retro = objective_retro.get(o.pk)
        if final and retro is not None and retro.score is not None:
            value, grade = retro.score, retro.grade
        else:
            s = score(objective_result.progress if objective_result else Decimal(0))
            value, grade = s.value, s.grade
        if retro is not None and retro.skipped:
            state = "skipped"
        elif retro is not None and has_reflection(retro):
            state = "reflection"
        elif o.state == ObjectiveState.CANCELLED:
            state = "not needed"
        else:
            state = "missing"
        objective_scores.append(
            ObjectiveScore(
                id=o.pk,
                key=o.key,
                title=o.title,
                team=team_name(o),
                state=o.state,
                score=value,
                grade=grade,
                retrospective=state,
                investment=spend.objectives.get(o.key, Spend()),
            )
        )

    buckets = Counter(k.score for k in scores)
    distribution = _shares(
        [
            (
                f"{b:.1f}",
                buckets.get(b, 0),
                GRADE_CSS[score(b).grade],
            )
            for b in SCORE_BUCKETS
        ]
    )
    grade_counts = Counter(k.final_grade for k in scores)
    grades = _shares([(g.label, grade_counts.get(g.value, 0), GRADE_CSS[g.value]) for g in GRADES])
    tallies: dict[str, TeamTally] = {}
    for k in scores:
        tally = tallies.setdefault(k.team, TeamTally(k.team))
        setattr(tally, k.final_grade, getattr(tally, k.final_grade) + 1)

    # Calibration over the key results the actor may see.
    visible_paths = {k.key for k in scores}
    forecasts = [f for f in forecasts_from_plan(plan, okr) if f.key_result in visible_paths]
    calibration = calibration_report(forecasts)
    emails = {f.owner for f in forecasts if f.owner}
    names = {u.email: u.display_name for u in User.objects.filter(email__in=sorted(emails))}
    team_names = dict(
        Team.objects.filter(organization_id=actor.organization_id).values_list("key", "name")
    )

    return CycleReport(
        cycle=cycle,
        as_of=as_of,
        final=final,
        key_results=sorted(scores, key=lambda k: (-k.score, k.key)),
        objectives=objective_scores,
        distribution=distribution,
        grades=grades,
        teams=sorted(tallies.values(), key=lambda t: (t.team == NO_TEAM, t.team)),
        calibration_overall=calibration.overall,
        calibration_owners=sorted(
            (CalibrationRow(names.get(k, k), c) for k, c in calibration.owners.items()),
            key=lambda r: r.name.lower(),
        ),
        calibration_teams=sorted(
            (CalibrationRow(team_names.get(k, k), c) for k, c in calibration.teams.items()),
            key=lambda r: r.name.lower(),
        ),
        investment_total=sum((o.investment for o in objective_scores), Spend()).rounded(),
        lessons=search_lessons(actor, cycle=cycle),
    )


def search_lessons(
    actor: Actor, *, text: str = "", cycle: Cycle | None = None, limit: int = LESSONS_LIMIT
) -> list[Lesson]:
    """Retrospectives that hold lessons or a reflection, across every cycle (or one), newest
    cycle first, as far as the actor may see their objective. ``text``: every word must
    appear (any case) in the lessons, the reflection or the title. One query."""
    qs = (
        Retrospective.objects.filter(organization_id=actor.organization_id)
        .filter(cycle__archived_at__isnull=True)
        .filter(
            (Q(objective__isnull=False) & objective_visibility_q(actor, "objective__"))
            | (
                Q(key_result__isnull=False)
                & objective_visibility_q(actor, "key_result__objective__")
            )
        )
        .exclude(lessons="", went_well="", went_badly="", change_next="")
        .select_related("cycle", "objective", "key_result")
    )
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    for word in text.split()[:8]:
        qs = qs.filter(
            Q(lessons__icontains=word)
            | Q(went_well__icontains=word)
            | Q(went_badly__icontains=word)
            | Q(change_next__icontains=word)
            | Q(objective__title__icontains=word)
            | Q(key_result__title__icontains=word)
        )
    rows = qs.order_by(
        "-cycle__start_date",
        "cycle_id",
        F("objective_id").asc(nulls_last=True),  # objectives' reflections first
        F("key_result_id").asc(nulls_last=True),
        "pk",
    )
    lessons: list[Lesson] = []
    for r in rows[:limit]:
        subject = r.objective if r.objective is not None else r.key_result
        assert subject is not None  # noqa: S101 - a database constraint: exactly one subject
        lessons.append(
            Lesson(
                retrospective_id=r.pk,
                cycle_id=r.cycle_id,
                cycle_name=r.cycle.name,
                subject="objective" if r.objective is not None else "key result",
                subject_id=subject.pk,
                title=subject.title,
                grade=r.final_grade,
                score=r.score,
                reason=ReasonCode(r.reason_code).label if r.reason_code else "",
                lessons=r.lessons,
                went_well=r.went_well,
                went_badly=r.went_badly,
                change_next=r.change_next,
            )
        )
    return lessons


def grouped_by_objective(scores: list[KeyResultScore]) -> dict[int, list[KeyResultScore]]:
    """Key-result scores by objective id (for pages listing them under their objective)."""
    grouped: dict[int, list[KeyResultScore]] = defaultdict(list)
    for s in scores:
        grouped[s.objective_id].append(s)
    return grouped


__all__ = [
    "Bucket",
    "CalibrationRow",
    "CycleReport",
    "KeyResultScore",
    "Lesson",
    "ObjectiveScore",
    "TeamTally",
    "cycle_report",
    "grouped_by_objective",
    "search_lessons",
]
