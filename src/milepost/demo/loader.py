"""The demo organization: Northwind Labs, a 40-person software company mid-quarter.

`ensure_demo` loads it into an empty database (what ``milepost demo`` calls); `load_demo`
always builds it (tests, benchmarks). Everything is deterministic for a given ``today``: the
content is fixed (`milepost.demo.content`, `milepost.demo.roadmap_content`), the numbers come
from RNGs seeded per object, and every date is relative to ``today`` (the active cycle is 55
of its 91 days old, about 60%).

Sign-ins (all with `DEMO_PASSWORD`):

- ``ada@demo.milepost.test``: Ada Okafor, CEO, the organization's owner (and a Django admin
  superuser, for /admin/);
- ``jonas@demo.milepost.test``: an admin (VP Product & Engineering);
- ``maya@demo.milepost.test``: Maya Chen, a plain member of the Growth team who owns key
  results (one of them stale, waiting for her check-in);
- ``victor@demo.milepost.test``: Victor Lindqvist, a board observer with the viewer role.

Rows are written with the ORM in bulk for speed (well under 10 seconds on SQLite and
PostgreSQL), then the stored progress columns are filled by the engine
(`milepost.okrs.engine_io.recompute_organization`), and a ``demo.load`` audit event records it.
"""

from __future__ import annotations

import functools
import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import get_hasher, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from milepost.accounts.models import User
from milepost.audit.services import record_event
from milepost.demo import content, roadmap_content
from milepost.demo.specs import InitiativeSpec, KRSpec, ObjectiveSpec
from milepost.demo.story import MilestonePlan, Point, active_series, closed_series
from milepost.engine.okr import evaluate_okrs
from milepost.engine.score import score
from milepost.okrs.cycles import build_baseline
from milepost.okrs.engine_io import load_okr_plan, recompute_organization
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective, Retrospective
from milepost.okrs.services import update_key_result, update_objective
from milepost.organizations.access import Actor, actor_for, system_actor
from milepost.organizations.models import Membership, Organization, Team, TeamMember
from milepost.organizations.services import create_organization
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.roadmap.services import update_initiative
from milepost.work.models import Task, TimeEntry

DEMO_SLUG = "demo"
DEMO_LOGIN = f"ada@{content.EMAIL_DOMAIN}"
DEMO_ADMIN_LOGIN = f"jonas@{content.EMAIL_DOMAIN}"
DEMO_MEMBER_LOGIN = f"maya@{content.EMAIL_DOMAIN}"
DEMO_VIEWER_LOGIN = f"victor@{content.EMAIL_DOMAIN}"
# A published, demo-only password (it passes Django's validators for every demo user).
DEMO_PASSWORD = "northwind-demo"  # noqa: S105
SEED = "northwind-2024"

CYCLE_DAYS = 91  # the active cycle ends CYCLE_DAYS after it starts
ELAPSED_DAYS = 55  # days of the active cycle behind us on `today` (about 60%)
HOURS_PER_DAY = 6  # focused hours in a person-day, for planned hours

Progress = Callable[[str], None]


def demo_today() -> date:
    """Today's date in the demo organization's time zone (the default ``today``)."""
    return timezone.localdate(timezone=ZoneInfo(content.TIMEZONE))


def ensure_demo(progress: Progress | None = None, *, today: date | None = None) -> bool:
    """Load the demo organization if the database has no organization at all.

    Returns True when it loaded it, False when the database already had an organization (then
    nothing is written). ``progress`` receives a short line per step.
    """
    if Organization.objects.exists():
        return False
    load_demo(today, progress=progress)
    return True


def load_demo(today: date | None = None, *, progress: Progress | None = None) -> Organization:
    """Build the demo organization (slug `DEMO_SLUG`) in one transaction and return it.

    Deterministic for a given ``today`` (default: today in Europe/Berlin). People who already
    exist (same e-mail) are reused; a second demo organization in the same database fails on
    the slug.
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    with transaction.atomic():
        organization = _Builder(today or demo_today(), say).build()
    say(f"done in {time.perf_counter() - started:.1f} s")
    return organization


def _password_hash() -> str:
    # Hashing is deliberately slow (about a second with Argon2): once per process and hasher,
    # shared by every demo person (a published demo password gains nothing from distinct
    # salts). Keyed by the hasher in use: a hash made under other settings may not verify.
    return _hash_with(get_hasher().algorithm)


@functools.cache
def _hash_with(algorithm: str) -> str:
    return make_password(DEMO_PASSWORD, hasher=algorithm)


def _rng(*parts: object) -> random.Random:
    # A generator per object keeps each object's numbers stable when content elsewhere changes.
    # Not for security: a fixed seed is the point.
    return random.Random(":".join([SEED, *map(str, parts)]))  # noqa: S311


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def cycle_name(start: date) -> str:
    """The calendar quarter holding most of a 91-day cycle that starts on `start`: its
    midpoint's quarter, e.g. '2026 Q4' for 28 Sep to 28 Dec 2026."""
    middle = start + timedelta(days=CYCLE_DAYS // 2)
    return f"{middle.year} Q{(middle.month - 1) // 3 + 1}"


class _Builder:
    """Holds the rows built so far, keyed the way the content refers to them."""

    def __init__(self, today: date, say: Progress) -> None:
        self.today = today
        self.say = say
        self.zone = ZoneInfo(content.TIMEZONE)
        self.start = today - timedelta(days=ELAPSED_DAYS)
        self.end = self.start + timedelta(days=CYCLE_DAYS)
        self.previous_end = self.start - timedelta(days=1)
        self.previous_start = self.start - timedelta(days=CYCLE_DAYS)
        self.users: dict[str, User] = {}
        self.rates: dict[int, Decimal] = {}
        self.teams: dict[str, Team] = {}
        self.objectives: dict[str, Objective] = {}
        self.key_results: dict[str, KeyResult] = {}
        self.kr_specs: dict[str, KRSpec] = {}
        self.initiatives: dict[str, Initiative] = {}
        self.milestones: dict[str, Milestone] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.now = timezone.now()
        self.real_today = demo_today()

    # -- helpers ------------------------------------------------------------------------------

    def day(self, offset: int) -> date:
        return self.start + timedelta(days=offset)

    def at(self, on: date, hour: int = 17, minute: int = 0) -> datetime:
        return datetime.combine(on, clock(hour, minute), tzinfo=self.zone)

    def user(self, first: str) -> User:
        return self.users[first]

    # -- the steps ----------------------------------------------------------------------------

    def build(self) -> Organization:
        self.say("people and teams")
        organization = self.people_and_teams()
        self.say("cycles, objectives and key results")
        self.okrs(organization)
        self.say("roadmap: initiatives, milestones, dependencies")
        self.roadmap(organization)
        self.say("weekly check-ins")
        self.checkins(organization)
        self.say("tasks and time entries")
        self.work(organization)
        self.say("the active cycle's baseline (the plan as agreed at activation)")
        self.baseline()
        self.say("a few edits through the services (the history of changes)")
        self.edits(organization)
        self.say("progress and status from the engine")
        recompute_organization(organization, as_of=self.today)
        self.say("retrospectives of last quarter")
        self.retrospectives(organization)
        record_event(
            actor=system_actor(organization, "demo loader"),
            action="demo.load",
            target=organization,
            after={"today": self.today.isoformat(), **dict(sorted(self.counts.items()))},
        )
        return organization

    def people_and_teams(self) -> Organization:
        password = _password_hash()
        emails = {p.first: f"{slugify(p.first)}@{content.EMAIL_DOMAIN}" for p in content.PEOPLE}
        existing = {u.email: u for u in User.objects.filter(email__in=emails.values())}
        new_users = []
        for person in content.PEOPLE:
            email = emails[person.first]
            user = existing.get(email)
            if user is None:
                user = User(
                    email=email,
                    full_name=f"{person.first} {person.last}",
                    password=password,
                    is_staff=person.role == "owner",
                    is_superuser=person.role == "owner",
                )
                new_users.append(user)
            self.users[person.first] = user
        User.objects.bulk_create(new_users)
        if any(u.pk is None for u in self.users.values()):  # back-ends that return no ids
            by_email = User.objects.in_bulk(list(emails.values()), field_name="email")
            self.users = {first: by_email[email] for first, email in emails.items()}
        self.rates = {self.users[p.first].pk: Decimal(p.hourly_rate) for p in content.PEOPLE}
        owner = next(p for p in content.PEOPLE if p.role == "owner")
        organization = create_organization(
            owner=self.user(owner.first),
            name=content.ORGANIZATION_NAME,
            slug=DEMO_SLUG,
            timezone=content.TIMEZONE,
        )
        Membership.objects.bulk_create(
            Membership(organization=organization, user=self.user(p.first), role=p.role)
            for p in content.PEOPLE
            if p.role != "owner"
        )
        self.counts["people"] = len(content.PEOPLE)
        for parents_pass in (True, False):  # departments first: teams point at them
            batch = [
                Team(
                    organization=organization,
                    key=spec.key,
                    name=spec.name,
                    parent=self.teams[spec.parent] if spec.parent else None,
                    capacity_days_per_week=Decimal(spec.capacity),
                    lead=self.user(spec.lead),
                )
                for spec in content.TEAMS
                if (spec.parent is None) == parents_pass
            ]
            for team in Team.objects.bulk_create(batch):
                self.teams[team.key] = team
        TeamMember.objects.bulk_create(
            TeamMember(organization=organization, team=self.teams[spec.key], user=self.user(m))
            for spec in content.TEAMS
            for m in spec.members
        )
        self.counts["teams"] = len(content.TEAMS)
        return organization

    def okrs(self, organization: Organization) -> None:
        previous_cycle, current_cycle = Cycle.objects.bulk_create(
            [
                Cycle(
                    organization=organization,
                    key=slugify(cycle_name(self.previous_start)),
                    name=cycle_name(self.previous_start),
                    start_date=self.previous_start,
                    end_date=self.previous_end,
                    state="closed",
                    activated_at=self.at(self.previous_start, 9),
                    closed_at=self.at(self.start, 10),
                ),
                Cycle(
                    organization=organization,
                    key=self._current_cycle_key(),
                    name=self._current_cycle_name(),
                    start_date=self.start,
                    end_date=self.end,
                    state="active",
                    activated_at=self.at(self.start, 9),
                ),
            ]
        )
        self.previous_cycle, self.current_cycle = previous_cycle, current_cycle
        specs = [(previous_cycle, s) for s in content.PREVIOUS_OBJECTIVES] + [
            (current_cycle, s) for s in content.CURRENT_OBJECTIVES
        ]
        rows = Objective.objects.bulk_create(
            self._objective(organization, cycle, spec) for cycle, spec in specs
        )
        self.objectives = {o.key: o for o in rows}
        kr_rows: list[KeyResult] = []
        for cycle, spec in specs:  # previous first: carried-over key results point back
            batch = [self._key_result(organization, cycle, spec, kr) for kr in spec.krs]
            if cycle is previous_cycle:
                for row in KeyResult.objects.bulk_create(batch):
                    self.key_results[f"{spec.key}/{row.key}"] = row
            else:
                kr_rows.extend(batch)
        for row in KeyResult.objects.bulk_create(kr_rows):
            self.key_results[f"{row.objective.key}/{row.key}"] = row
        for _cycle, spec in specs:
            for kr in spec.krs:
                self.kr_specs[f"{spec.key}/{kr.key}"] = kr
        Alignment.objects.bulk_create(
            Alignment(
                organization=organization,
                child=self.objectives[spec.key],
                parent_objective=None if "/" in parent else self.objectives[parent],
                parent_key_result=self.key_results[parent] if "/" in parent else None,
                weight=Decimal(weight),
            )
            for _cycle, spec in specs
            for parent, weight in spec.parents
        )
        self.counts["objectives"] = len(rows)
        self.counts["key_results"] = len(self.key_results)

    def _current_cycle_name(self) -> str:
        name = cycle_name(self.start)
        if name == cycle_name(self.previous_start):
            # Both start in one 92-day quarter (its first and last day): the later one is
            # really the next quarter.
            name = cycle_name(self.start + timedelta(days=1))
        return name

    def _current_cycle_key(self) -> str:
        return slugify(self._current_cycle_name())

    def _objective(
        self, organization: Organization, cycle: Cycle, spec: ObjectiveSpec
    ) -> Objective:
        return Objective(
            organization=organization,
            cycle=cycle,
            key=spec.key,
            title=spec.title_was or spec.title,
            description=spec.description,
            owner_team=self.teams[spec.team] if spec.team else None,
            owner_user=self.user(spec.owner),
            visibility=spec.visibility,
            state=spec.state,
            weight=Decimal(spec.weight),
        )

    def _key_result(
        self, organization: Organization, cycle: Cycle, objective: ObjectiveSpec, spec: KRSpec
    ) -> KeyResult:
        start = Decimal(spec.start)
        return KeyResult(
            organization=organization,
            objective=self.objectives[objective.key],
            key=spec.key,
            title=spec.title,
            description=spec.description,
            kind=spec.kind,
            unit=spec.unit,
            start_value=start,
            target_value=Decimal(spec.target_was or spec.target),
            current_value=start,
            weight=Decimal(spec.weight),
            owner=self.user(spec.owner),
            due_date=self.day(spec.due) if spec.due is not None else None,
            curve=spec.curve,
            maintain_direction=spec.direction,
            carried_from=self.key_results[spec.carried_from] if spec.carried_from else None,
        )

    def roadmap(self, organization: Organization) -> None:
        specs = roadmap_content.INITIATIVES
        rows = Initiative.objects.bulk_create(
            self._initiative(organization, spec) for spec in specs
        )
        self.initiatives = {i.key: i for i in rows}
        InitiativeKeyResult.objects.bulk_create(
            InitiativeKeyResult(
                organization=organization,
                initiative=self.initiatives[spec.key],
                key_result=self.key_results[kr],
                weight=Decimal(weight),
                expected_impact=spec.expected_impacts[i] if i < len(spec.expected_impacts) else "",
            )
            for spec in specs
            for i, (kr, weight) in enumerate(spec.links)
        )
        milestone_rows = Milestone.objects.bulk_create(
            Milestone(
                organization=organization,
                key=m.key,
                name=m.name,
                date=self.day(m.day),
                initiative=self.initiatives[m.initiative] if m.initiative else None,
                key_result=self.key_results[m.kr] if m.kr else None,
                weight=Decimal(m.weight),
                done_on=self.day(m.done) if m.done is not None else None,
            )
            for m in roadmap_content.MILESTONES
        )
        self.milestones = {m.key: m for m in milestone_rows}

        def end(key: str, side: str) -> dict[str, Any]:
            if key in self.initiatives:
                return {f"{side}_initiative": self.initiatives[key]}
            return {f"{side}_milestone": self.milestones[key]}

        Dependency.objects.bulk_create(
            Dependency(
                organization=organization,
                type=d.type,
                lag_days=d.lag,
                **end(d.predecessor, "predecessor"),
                **end(d.successor, "successor"),
            )
            for d in roadmap_content.DEPENDENCIES
        )
        self.counts["initiatives"] = len(rows)
        self.counts["milestones"] = len(milestone_rows)
        self.counts["dependencies"] = len(roadmap_content.DEPENDENCIES)

    def _team_rate(self, team_key: str) -> Decimal:
        members = [self.rates[self.user(m).pk] for m in self._members(team_key)]
        return sum(members, Decimal(0)) / len(members)

    def _members(self, team_key: str) -> tuple[str, ...]:
        return next(t.members for t in content.TEAMS if t.key == team_key)

    def _initiative(self, organization: Organization, spec: InitiativeSpec) -> Initiative:
        effort = Decimal(spec.effort)
        planned_hours = effort * HOURS_PER_DAY
        budget = (
            Decimal(spec.budget)
            if spec.budget is not None
            else (planned_hours * self._team_rate(spec.team) * Decimal("1.2")).quantize(
                Decimal("1000"), rounding=ROUND_HALF_UP
            )
        )
        hypothesis = spec.hypothesis or " ".join(
            f"Should move “{self.key_results[kr].title}”"
            + (f" ({spec.expected_impacts[i]})." if i < len(spec.expected_impacts) else ".")
            for i, (kr, _w) in enumerate(spec.links)
        )
        proposed = spec.status == "proposed"
        closed = spec.status in {"done", "cancelled"}
        return Initiative(
            organization=organization,
            key=spec.key,
            title=spec.title,
            description=spec.description,
            team=self.teams[spec.team],
            owner=self.user(spec.owner),
            cycle=self.current_cycle,
            status=spec.status,
            start_date=self.day(spec.start),
            end_date=self.day(spec.end if spec.end_was is None else spec.end_was),
            effort_days=effort,
            budget=None if proposed else budget,
            planned_hours=None if proposed else planned_hours,
            hypothesis=hypothesis,
            estimated_cost=Decimal(spec.estimated_cost) if spec.estimated_cost else budget,
            estimated_effort_days=Decimal(spec.estimated_effort)
            if spec.estimated_effort
            else effort,
            delivered_summary=spec.delivered if closed else "",
            outcome_summary=spec.outcome if closed else "",
            closed_at=self.at(min(self.day(spec.end), self.today)) if closed else None,
        )

    def checkins(self, organization: Organization) -> None:
        plans: dict[str, list[MilestonePlan]] = defaultdict(list)
        for m in roadmap_content.MILESTONES:
            if m.kr:
                plans[m.kr].append(
                    MilestonePlan(
                        self.day(m.day),
                        Decimal(m.weight),
                        self.day(m.done) if m.done is not None else None,
                    )
                )
        leads = {t.key: t.lead for t in content.TEAMS}
        rows: list[CheckIn] = []
        for path, kr in self.key_results.items():
            spec = self.kr_specs[path]
            rng = _rng("checkins", path)
            objective = kr.objective
            if objective.cycle_id == self.current_cycle.pk:
                points = active_series(
                    spec,
                    start=self.start,
                    due=kr.due_date or self.end,
                    today=self.today,
                    rng=rng,
                    milestones=plans.get(path, ()),
                )
            else:
                points = closed_series(
                    spec, start=self.previous_start, end=self.previous_end, rng=rng
                )
            team = objective.owner_team
            lead = leads.get(team.key) if team is not None else None
            for point in points:
                # Now and then the team lead checks in for the owner.
                author = self.user(lead) if lead and rng.random() < 0.12 else kr.owner
                rows.append(self._checkin(organization, kr, point, author, rng, spec))
        CheckIn.objects.bulk_create(rows, batch_size=500)
        self.counts["checkins"] = len(rows)

    def _checkin(
        self,
        organization: Organization,
        kr: KeyResult,
        point: Point,
        author: User | None,
        rng: random.Random,
        spec: KRSpec,
    ) -> CheckIn:
        automated = spec.kind == "maintain" and spec.unit == "%" and "uptime" in spec.key
        return CheckIn(
            organization=organization,
            key_result=kr,
            value=point.value,
            confidence=point.confidence,
            note=point.note,
            author=author,
            source="data_source" if automated else "manual",
            recorded_at=self._recorded_at(point.on, rng),
            effective_date=point.on,
        )

    def _recorded_at(self, on: date, rng: random.Random) -> datetime:
        at = self.at(on, rng.randint(8, 17), rng.randint(0, 59))
        # A check-in made earlier today cannot be stamped later than now.
        return min(at, self.now) if on == self.real_today else at

    def work(self, organization: Organization) -> None:
        tasks: list[Task] = []
        plans: list[tuple[InitiativeSpec, list[Task]]] = []
        for spec in roadmap_content.INITIATIVES:
            initiative_tasks = self._tasks(organization, spec)
            tasks.extend(initiative_tasks)
            plans.append((spec, initiative_tasks))
        Task.objects.bulk_create(tasks, batch_size=500)
        entries: list[TimeEntry] = []
        for spec, initiative_tasks in plans:
            initiative = self.initiatives[spec.key]
            logged = self._time_entries(organization, spec, initiative, initiative_tasks)
            entries.extend(logged)
            # Spend that is not logged time (the engine adds the time entries' cost).
            initiative.actual_cost = _money(Decimal(spec.external_cost))
        TimeEntry.objects.bulk_create(entries, batch_size=1000)
        Initiative.objects.bulk_update(list(self.initiatives.values()), ["actual_cost"])
        self.counts["tasks"] = len(tasks)
        self.counts["time_entries"] = len(entries)

    def _elapsed(self, spec: InitiativeSpec) -> float:
        span = max(spec.end - spec.start, 1)
        return min(max((ELAPSED_DAYS - spec.start) / span, 0.0), 1.0)

    def _tasks(self, organization: Organization, spec: InitiativeSpec) -> list[Task]:
        rng = _rng("tasks", spec.key)
        bank = roadmap_content.TASK_TITLES[spec.work]
        n = rng.randint(5, min(15, len(bank)))
        initiative = self.initiatives[spec.key]
        members = [self.user(m) for m in self._members(spec.team)]
        planned = Decimal(spec.effort) * HOURS_PER_DAY
        status = spec.status
        if status == "done":
            # Some finish with a punch list: the last task still open.
            done = n - 1 if rng.random() < 0.4 else n
        elif status == "in_progress":
            done = int(n * self._elapsed(spec) * 0.9)
        elif status == "cancelled":
            done = max(1, n // 3)
        elif status == "on_hold":
            done = max(1, n // 4)
        else:
            done = 0
        span = spec.end - spec.start
        tasks = []
        for i, title in enumerate(bank[:n]):
            if i < done:
                state = "done"
            elif status == "in_progress" and i < done + rng.randint(1, 2):
                state = "in_progress"
            elif status == "cancelled":
                state = "cancelled"
            else:
                state = "todo"
            due = self.day(spec.start + round(span * (i + 1) / n))
            estimate = planned / n * Decimal(repr(rng.uniform(0.6, 1.4)))
            assignee = self.user(spec.owner) if i == 0 else rng.choice(members)
            tasks.append(
                Task(
                    organization=organization,
                    initiative=initiative,
                    key=f"{spec.key}-{i + 1}",
                    title=title,
                    assignee=assignee,
                    status=state,
                    estimate_hours=(estimate * 2).quantize(Decimal(1)) / 2,
                    due_date=due,
                    done_at=self.at(min(due, self.today - timedelta(days=1)), 16)
                    if state == "done"
                    else None,
                )
            )
        return tasks

    def _time_entries(
        self,
        organization: Organization,
        spec: InitiativeSpec,
        initiative: Initiative,
        tasks: list[Task],
    ) -> list[TimeEntry]:
        rng = _rng("time", spec.key)
        share = {
            "done": rng.uniform(0.85, 0.95),
            "in_progress": self._elapsed(spec) * rng.uniform(0.85, 0.95),
            "cancelled": 0.4,
            "on_hold": 0.15,
        }.get(spec.status, 0.0)
        hours_left = float(Decimal(spec.effort) * HOURS_PER_DAY) * share * spec.hours_factor
        worked = [t for t in tasks if t.status in {"done", "in_progress"}]
        first = max(self.day(spec.start), self.previous_start)
        last = min(self.day(spec.end), self.today - timedelta(days=1))
        days = [
            first + timedelta(days=i)
            for i in range((last - first).days + 1)
            if (first + timedelta(days=i)).weekday() < 5
        ]
        entries: list[TimeEntry] = []
        while hours_left >= 0.5 and worked and days:
            hours = min(rng.choice((1.5, 2, 3, 4, 4, 5, 6, 7.5)), hours_left)
            hours = round(hours * 2) / 2
            hours_left -= hours
            task = rng.choice(worked)
            user = task.assignee or self.user(spec.owner)
            amount = Decimal(repr(hours))
            entries.append(
                TimeEntry(
                    organization=organization,
                    task=task,
                    initiative=initiative,
                    user=user,
                    date=rng.choice(days),
                    hours=amount,
                    cost=_money(amount * self.rates[user.pk]),
                )
            )
        return entries

    def baseline(self) -> None:
        """The active cycle's plan as agreed when it started, before the edits below: those
        show as changes from the baseline."""
        cycle = self.current_cycle
        cycle.baseline = {
            **build_baseline(cycle),
            "recorded_at": self.at(self.start, 9).isoformat(),
        }
        cycle.save(update_fields=["baseline"])

    def edits(self, organization: Organization) -> None:
        """Re-wordings, a changed target and a slipped date, made by their owners through the
        services, so the history of edits (and the audit log) has something to show."""
        actors: dict[int, Actor] = {}

        def actor(user: User) -> Actor:
            if user.pk not in actors:
                actors[user.pk] = actor_for(user, organization)
            return actors[user.pk]

        for spec in content.CURRENT_OBJECTIVES:
            objective = self.objectives[spec.key]
            owner = self.user(spec.owner)
            if spec.title_was:
                update_objective(
                    actor=actor(owner),
                    objective=objective,
                    changes={"title": spec.title},
                )
            for kr_spec in spec.krs:
                if kr_spec.target_was is not None:
                    update_key_result(
                        actor=actor(owner),
                        key_result=self.key_results[f"{spec.key}/{kr_spec.key}"],
                        changes={"target_value": Decimal(kr_spec.target)},
                    )
        leads = {t.key: t.lead for t in content.TEAMS}
        for initiative_spec in roadmap_content.INITIATIVES:
            if initiative_spec.end_was is not None:
                update_initiative(
                    actor=actor(self.user(leads[initiative_spec.team])),
                    initiative=self.initiatives[initiative_spec.key],
                    changes={"end_date": self.day(initiative_spec.end)},
                )

    def retrospectives(self, organization: Organization) -> None:
        """Scores and grades of last quarter from the engine, as of the cycle's last day, plus
        the owners' overrides, lessons and reflections."""
        cycle = self.previous_cycle
        plan = load_okr_plan(organization, cycle=cycle)
        report = evaluate_okrs(plan, self.previous_end, with_forecast=False)
        extras = {r.kr: r for r in content.PREVIOUS_RETROSPECTIVES}
        rows: list[Retrospective] = []
        for spec in content.PREVIOUS_OBJECTIVES:
            objective = self.objectives[spec.key]
            result = score(report.objectives[spec.key].progress)
            rows.append(
                Retrospective(
                    organization=organization,
                    cycle=cycle,
                    objective=objective,
                    score=result.value,
                    grade=result.grade,
                    went_well=spec.went_well,
                    went_badly=spec.went_badly,
                    change_next=spec.change_next,
                    author=objective.owner_user,
                )
            )
            for kr_spec in spec.krs:
                path = f"{spec.key}/{kr_spec.key}"
                kr_score = score(report.key_results[path].progress)
                extra = extras.get(path)
                rows.append(
                    Retrospective(
                        organization=organization,
                        cycle=cycle,
                        key_result=self.key_results[path],
                        score=kr_score.value,
                        grade=kr_score.grade,
                        grade_override=extra.grade_override if extra else "",
                        reason_code=extra.reason_code if extra else "",
                        lessons=extra.lessons if extra else "",
                        author=self.key_results[path].owner,
                    )
                )
        Retrospective.objects.bulk_create(rows)
        self.counts["retrospectives"] = len(rows)


__all__ = [
    "DEMO_ADMIN_LOGIN",
    "DEMO_LOGIN",
    "DEMO_MEMBER_LOGIN",
    "DEMO_PASSWORD",
    "DEMO_SLUG",
    "DEMO_VIEWER_LOGIN",
    "ensure_demo",
    "load_demo",
]
