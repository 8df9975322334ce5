"""export → import into an empty organization → export gives byte-identical text.

Over generated organizations (written straight to the database, as the app could have left
them: archived rows, corrected check-ins, tasks without keys, explicit due dates, numbers with
trailing zeros), and over the demo organization.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.okrs.engine_io import recompute_organization
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.models import Organization, Role, Team
from milepost.plans.document import format_path
from milepost.plans.exporter import export_text
from milepost.plans.importer import import_plan_text
from milepost.plans.planfile import parse_plan_text
from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
from milepost.work.models import Task
from tests import factories

_slugs = itertools.count(1)
BASE = date(2025, 1, 6)

texts = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
notes = st.one_of(st.just(""), texts, st.sampled_from(["=SUM(A1)", "yes", "null", "1.50", "- x"]))


def dec(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False
    )


# Milepost stores weights of 0 (the engine then counts the inputs equally): so may a plan file.
weights = st.one_of(st.just(Decimal(0)), dec(3, 0, 5))


@dataclass
class World:
    """Choices drawn for one organization."""

    draw: Any
    org: Organization

    def pick(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options)) if options else None

    def maybe(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.draw(st.one_of(st.none(), strategy))


def _build(draw: Any, org: Organization) -> None:
    w = World(draw, org)
    people = [None] + [
        factories.make_member(org, Role.MEMBER, f"p{next(_slugs)}@rt.test")
        for _ in range(draw(st.integers(0, 2)))
    ]
    teams: list[Team] = []
    for i in range(draw(st.integers(0, 3))):
        teams.append(
            Team.objects.create(
                organization=org,
                key=f"team-{i}",
                name=draw(texts),
                parent=w.pick([None, *teams]),
                capacity_days_per_week=draw(dec(2, 0, 50)),
            )
        )
    cycles = []
    for i in range(draw(st.integers(1, 2))):
        start = BASE + timedelta(days=draw(st.integers(0, 200)))
        cycles.append(
            Cycle.objects.create(
                organization=org,
                key=f"c{i}",
                name=draw(texts),
                start_date=start,
                end_date=start + timedelta(days=draw(st.integers(20, 120))),
                state=draw(st.sampled_from(["planning", "active", "closed"])),
            )
        )
    objectives: list[Objective] = []
    key_results: list[KeyResult] = []
    milestone_krs: list[KeyResult] = []
    for i in range(draw(st.integers(1, 4))):
        cycle = w.pick(cycles)
        objective = Objective.objects.create(
            organization=org,
            cycle=cycle,
            key=f"o{i}",
            title=draw(texts),
            description=draw(notes),
            owner_team=w.pick([None, *teams]),
            owner_user=w.pick(people),
            state=draw(st.sampled_from(["draft", "active", "closed", "cancelled"])),
            weight=draw(weights),
        )
        parent_options = [("o", o) for o in objectives] + [("k", k) for k in key_results]
        if parent_options and draw(st.booleans()):
            kind, parent = w.pick(parent_options)
            Alignment.objects.create(
                organization=org,
                child=objective,
                parent_objective=parent if kind == "o" else None,
                parent_key_result=parent if kind == "k" else None,
                weight=draw(weights),
            )
        objectives.append(objective)
        for j in range(draw(st.integers(0, 3))):
            kind = draw(
                st.sampled_from(["increase", "decrease", "maintain", "binary", "milestones"])
            )
            low: Decimal = draw(dec(6, -1000, 1000))
            high: Decimal = draw(dec(6, -1000, 1000))
            if kind in ("binary", "milestones"):
                low, high = Decimal(0), Decimal(1)
            elif kind == "increase" and high <= low:
                low, high = min(low, high), max(low, high) + 1
            elif kind == "decrease" and high >= low:
                low, high = max(low, high) + 1, min(low, high)
            last = min(cycle.end_date, timezone.localdate())
            kr = KeyResult.objects.create(
                organization=org,
                objective=objective,
                key=f"kr{j}",
                title=draw(texts),
                description=draw(notes),
                kind=kind,
                unit=draw(st.sampled_from(["", "%", "EUR", "ms"])),
                start_value=low,
                target_value=high,
                current_value=low,
                weight=draw(weights),
                owner=w.pick(people),
                due_date=w.maybe(st.sampled_from([cycle.end_date, last, cycle.start_date])),
                maintain_direction=draw(st.sampled_from(["at_least", "at_most"])),
                curve=draw(st.sampled_from(["linear", "back_loaded", "stepped"])),
            )
            key_results.append(kr)
            # A milestones key result or a stepped curve may have no milestone yet.
            if (kind == "milestones" or kr.curve == "stepped") and draw(st.booleans()):
                milestone_krs.append(kr)
            previous: CheckIn | None = None
            for _ in range(draw(st.integers(0, 3))):
                value = (
                    draw(st.sampled_from([Decimal(0), Decimal(1)]))
                    if kind in ("binary", "milestones")
                    else draw(dec(6, -1000, 1000))
                )
                day = cycle.start_date + timedelta(
                    days=draw(st.integers(0, (last - cycle.start_date).days))
                )
                corrects = previous if previous is not None and draw(st.booleans()) else None
                previous = CheckIn.objects.create(
                    organization=org,
                    key_result=kr,
                    value=value,
                    confidence=w.maybe(st.integers(0, 10)),
                    note=draw(notes),
                    recorded_at=timezone.now(),
                    effective_date=corrects.effective_date if corrects else day,
                    corrects=corrects,
                )
    initiatives: list[Initiative] = []
    for i in range(draw(st.integers(0, 3))):
        start = w.maybe(st.just(BASE + timedelta(days=draw(st.integers(0, 150)))))
        end = (
            (start or BASE) + timedelta(days=draw(st.integers(0, 90)))
            if draw(st.booleans())
            else None
        )
        initiative = Initiative.objects.create(
            organization=org,
            key=f"i{i}",
            title=draw(texts),
            description=draw(notes),
            team=w.pick([None, *teams]),
            owner=w.pick(people),
            status=draw(
                st.sampled_from(
                    ["proposed", "planned", "in_progress", "done", "cancelled", "on_hold"]
                )
            ),
            start_date=start,
            end_date=end,
            effort_days=draw(dec(2, 0, 100)),
            budget=w.maybe(dec(2, 0, 10000)),
            actual_cost=draw(dec(2, 0, 10000)),
            planned_hours=w.maybe(dec(2, 0, 500)),
        )
        initiatives.append(initiative)
        for kr in (
            draw(st.lists(st.sampled_from(key_results), unique=True, max_size=2))
            if key_results
            else []
        ):
            InitiativeKeyResult.objects.create(
                organization=org, initiative=initiative, key_result=kr, weight=draw(weights)
            )
        for t in range(draw(st.integers(0, 3))):
            Task.objects.create(
                organization=org,
                initiative=initiative,
                key=draw(st.sampled_from(["", f"t{t}"])),
                title=draw(texts),
                status=draw(st.sampled_from(["todo", "in_progress", "done", "cancelled"])),
                estimate_hours=w.maybe(dec(2, 0, 40)),
                assignee=w.pick(people),
                due_date=w.maybe(st.just(BASE + timedelta(days=draw(st.integers(0, 300))))),
            )
    milestones: list[Milestone] = []
    for i in range(draw(st.integers(0, 2)) + len(milestone_krs)):
        counts_toward = milestone_krs[i] if i < len(milestone_krs) else None
        on = BASE + timedelta(days=draw(st.integers(0, 300)))
        milestones.append(
            Milestone.objects.create(
                organization=org,
                key=f"m{i}",
                name=draw(texts),
                date=on,
                initiative=w.pick([None, *initiatives]),
                key_result=counts_toward,
                weight=draw(weights),
                done_on=w.maybe(st.just(on)),
            )
        )
    items: list[Initiative | Milestone] = [*initiatives, *milestones]
    pairs = {(a, b) for a in range(len(items)) for b in range(a + 1, len(items))}
    for a, b in (
        draw(st.lists(st.sampled_from(sorted(pairs)), unique=True, max_size=3)) if pairs else []
    ):
        ends = {}
        for role, item in (("predecessor", items[a]), ("successor", items[b])):
            kind = "initiative" if isinstance(item, Initiative) else "milestone"
            ends[f"{role}_{kind}"] = item
        Dependency.objects.create(
            organization=org,
            type=draw(st.sampled_from(["FS", "SS", "FF", "SF"])),
            lag_days=draw(st.integers(-30, 30)),
            **ends,
        )
    if draw(st.booleans()):  # archived rows are not part of the plan
        Objective.objects.create(
            organization=org, cycle=cycles[0], key="gone", title="Gone", archived_at=timezone.now()
        )
        Initiative.objects.create(
            organization=org,
            key="gone-i",
            title="Gone",
            status="planned",
            archived_at=timezone.now(),
        )
    recompute_organization(org)


def assert_round_trip(org: Organization) -> str:
    first = export_text(org)
    parse_plan_text(first)  # a valid plan file
    copy = f"copy-{next(_slugs)}"
    result = import_plan_text(actor_or_none=None, text=first, organization_slug=copy)
    assert result.applied, [f"{format_path(i.path)}: {i.message}" for i in result.errors]
    second = export_text(Organization.objects.get(slug=copy))
    assert second == first
    assert export_text(org, fmt="json") == export_text(
        Organization.objects.get(slug=copy), fmt="json"
    )
    return first


@pytest.mark.django_db
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_export_import_export_is_byte_identical(data: st.DataObject) -> None:
    org = factories.make_org("Round trip", f"rt-{next(_slugs)}", timezone="Europe/Berlin")
    _build(data.draw, org)
    assert_round_trip(org)


@pytest.mark.django_db
def test_the_demo_organization_round_trips(settings: Any) -> None:
    from milepost.demo.loader import load_demo

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org = load_demo(date(2026, 11, 20))
    text = assert_round_trip(org)
    assert text.count("\n") > 3000  # the whole demo: objectives, check-ins, tasks
