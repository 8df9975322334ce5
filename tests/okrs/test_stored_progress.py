"""The stored progress columns are a cache of the engine: after any sequence of check-ins and
corrections they equal a full recompute, the recompute after one check-in touches only the key
result and the objectives above it, in a fixed number of queries, and concurrent check-ins
under one objective cannot lose each other's roll-up."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milepost.engine.okr import evaluate_key_result
from milepost.engine.results import OkrReport
from milepost.okrs import engine_io, services
from milepost.okrs.engine_io import (
    KR_STORED_FIELDS,
    OBJECTIVE_STORED_FIELDS,
    Recomputed,
    evaluate_cycle,
    recompute_key_result_and_ancestors,
    recompute_organization,
)
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.roadmap.models import Milestone
from tests import factories

pytestmark = pytest.mark.django_db


@dataclass
class Tree:
    """A year with a quarter inside; objectives aligned company → departments → teams (one
    team under two parents, one through a parent key result, one cancelled, one alone)."""

    year: Cycle
    quarter: Cycle
    objectives: dict[str, Objective]
    key_results: list[KeyResult]


def link(child: Objective, parent: Objective | KeyResult, weight: int = 1) -> None:
    extra: dict[str, Any] = (
        {"parent_objective": parent}
        if isinstance(parent, Objective)
        else {"parent_key_result": parent}
    )
    Alignment.objects.create(
        organization_id=child.organization_id, child=child, weight=Decimal(weight), **extra
    )


def build_tree(org: Organization, today: date) -> Tree:
    year = factories.make_cycle(
        org, "y", start_date=today - timedelta(days=100), end_date=today + timedelta(days=200)
    )
    quarter = factories.make_cycle(
        org,
        "q",
        start_date=today - timedelta(days=40),
        end_date=today + timedelta(days=50),
        parent=year,
    )
    o = {
        "company": factories.make_objective(year, "company"),
        "dept-a": factories.make_objective(quarter, "dept-a"),
        "dept-b": factories.make_objective(quarter, "dept-b", weight=Decimal(2)),
        "team-1": factories.make_objective(quarter, "team-1"),
        "team-2": factories.make_objective(quarter, "team-2"),
        "cancelled": factories.make_objective(quarter, "cancelled", state="cancelled"),
        "lone": factories.make_objective(quarter, "lone"),
    }
    kr = factories.make_key_result
    d = Decimal
    krs = [
        revenue := kr(o["company"], "revenue", start_value=d(0), target_value=d(100)),
        kr(o["company"], "churn", kind="decrease", start_value=d(10), target_value=d(5)),
        kr(o["dept-a"], "nps", kind="maintain", start_value=d(25), target_value=d(30)),
        kr(o["dept-a"], "launch", kind="binary", start_value=d(0), target_value=d(1)),
        plan := kr(o["dept-b"], "plan", kind="milestones", start_value=d(0), target_value=d(1)),
        stepped := kr(o["dept-b"], "stepped", curve="stepped", weight=d(2)),
        kr(o["team-1"], "signups", curve="back_loaded", due_date=today + timedelta(days=20)),
        kr(o["team-1"], "cost", kind="decrease", start_value=d(100), target_value=d(50)),
        kr(o["team-1"], "ignored", weight=d(0)),
        kr(o["team-2"], "a", start_value=d(-50), target_value=d(50)),
        kr(o["team-2"], "b", kind="maintain", maintain_direction="at_most", target_value=d(80)),
        kr(o["cancelled"], "x"),
        kr(o["lone"], "y"),
    ]
    link(o["dept-a"], o["company"], 2)
    link(o["dept-b"], revenue)
    link(o["team-1"], o["dept-a"])
    link(o["team-2"], o["dept-a"])
    link(o["team-2"], o["dept-b"], 3)
    link(o["cancelled"], o["dept-b"])
    for i, (target, done) in enumerate([(plan, True), (plan, False), (stepped, False)]):
        Milestone.objects.create(
            organization=org,
            key=f"m{i}",
            name=f"M{i}",
            key_result=target,
            date=today - timedelta(days=10 - 15 * i),
            done_on=today - timedelta(days=12) if done else None,
        )
    return Tree(year, quarter, o, krs)


def stored(org: Organization) -> dict[str, tuple[Any, ...]]:
    rows: dict[str, tuple[Any, ...]] = {}
    for kr in KeyResult.objects.filter(organization=org).select_related("objective"):
        rows[f"kr:{kr.objective.key}/{kr.key}"] = tuple(getattr(kr, f) for f in KR_STORED_FIELDS)
    for o in Objective.objects.filter(organization=org):
        rows[f"objective:{o.key}"] = tuple(getattr(o, f) for f in OBJECTIVE_STORED_FIELDS)
    return rows


def assert_matches_report(org: Organization, report: OkrReport) -> None:
    """The stored columns are exactly what the live engine shows."""
    for key, r in report.key_results.items():
        objective_key, kr_key = key.split("/")
        kr = KeyResult.objects.get(organization=org, objective__key=objective_key, key=kr_key)
        assert (kr.progress, kr.progress_raw, kr.expected, kr.status, kr.confidence) == (
            r.progress,
            r.progress_raw,
            r.expected,
            r.status.value,
            r.confidence,
        ), key
        assert kr.current_value == r.current, key
    for key, ro in report.objectives.items():
        o = Objective.objects.get(organization=org, key=key)
        assert (o.progress, o.expected, o.status) == (ro.progress, ro.expected, ro.status.value), (
            key
        )


@st.composite
def operations(draw: st.DrawFn, size: int) -> list[tuple[str, int, int, int | None, int]]:
    """(record|correct, key-result index, value, confidence, days back)."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["record", "record", "correct"]),
                st.integers(0, size - 1),
                st.integers(-20, 230),
                st.none() | st.integers(0, 10),
                st.integers(0, 40),  # the quarter started 40 days ago: no earlier check-in
            ),
            min_size=1,
            max_size=8,
        )
    )


def apply(
    actor: Actor, tree: Tree, ops: list[tuple[str, int, int, int | None, int]], today: date
) -> None:
    for op, index, value, confidence, days_back in ops:
        kr = tree.key_results[index]
        number = Decimal(value % 2) if kr.kind == "binary" else Decimal(value)
        latest = (
            CheckIn.objects.filter(key_result=kr, corrected_by__isnull=True).order_by("-id").first()
        )
        if op == "correct" and latest is not None:
            services.correct_checkin(
                actor=actor, checkin=latest, value=number, confidence=confidence
            )
        else:
            services.record_checkin(
                actor=actor,
                key_result=kr,
                value=number,
                confidence=confidence,
                effective_date=today - timedelta(days=days_back),
            )


SETTINGS = [
    pytest.param({"rollup_mode": "key_results"}, id="key-results"),
    pytest.param({"rollup_mode": "children", "objective_status_mode": "gap"}, id="children-gap"),
    pytest.param(
        {
            "rollup_mode": "both",
            "allow_over_achievement": True,
            "over_achievement_cap": Decimal("1.2"),
        },
        id="both-over",
    ),
]


@pytest.mark.parametrize("org_settings", SETTINGS)
def test_stored_progress_always_equals_a_full_recompute(
    org: Organization, admin: Actor, today: date, org_settings: dict[str, Any]
) -> None:
    for name, value in org_settings.items():
        setattr(org, name, value)
    org.save()
    tree = build_tree(org, today)
    recompute_organization(org)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(ops=operations(len(tree.key_results)))
    def check(ops: list[tuple[str, int, int, int | None, int]]) -> None:
        with transaction.atomic():
            apply(admin, tree, ops, today)
            incremental = stored(org)
            assert recompute_organization(org) == Recomputed(0, 0)
            assert stored(org) == incremental
            for cycle in (tree.year, tree.quarter):
                assert_matches_report(org, evaluate_cycle(org, cycle))
            transaction.set_rollback(True)  # the next example starts from the same tree

    check()


def test_a_stale_cache_is_detected_and_repaired(org: Organization, today: date) -> None:
    # The property above is only worth something if a wrong stored value shows up.
    tree = build_tree(org, today)
    recompute_organization(org)
    Objective.objects.filter(pk=tree.objectives["team-1"].pk).update(progress=Decimal("0.9"))
    assert recompute_organization(org) == Recomputed(0, 1)
    assert recompute_organization(org) == Recomputed(0, 0)


def test_one_checkin_recomputes_only_the_key_result_and_its_ancestors(
    org: Organization, admin: Actor, today: date
) -> None:
    org.rollup_mode = "both"
    org.save()
    tree = build_tree(org, today)
    recompute_organization(org)
    signups = next(k for k in tree.key_results if k.key == "signups")
    sentinel = (Decimal("0.4321"), Decimal("0.1234"), "at_risk")
    Objective.objects.filter(organization=org).update(
        progress=sentinel[0], expected=sentinel[1], status=sentinel[2]
    )
    KeyResult.objects.filter(organization=org).update(progress_raw=Decimal(7))
    services.record_checkin(actor=admin, key_result=signups, value=Decimal(60))

    def values(key: str) -> tuple[Any, ...]:
        o = Objective.objects.get(organization=org, key=key)
        return (o.progress, o.expected, o.status)

    for key in ("dept-b", "team-2", "cancelled", "lone"):  # not above: never rewritten
        assert values(key) == sentinel, key
    for key in ("team-1", "dept-a", "company"):  # the path up: rolled up again
        assert values(key) != sentinel, key
    unchanged = KeyResult.objects.filter(organization=org, progress_raw=Decimal(7))
    assert set(unchanged.values_list("key", flat=True)) == {k.key for k in tree.key_results} - {
        "signups"
    }
    # team-1's inputs are all its own key results, so it equals the live engine's value.
    live = evaluate_cycle(org, tree.quarter).objectives["team-1"]
    assert values("team-1") == (live.progress, live.expected, live.status.value)


def chain(org: Organization, cycle: Cycle, depth: int) -> KeyResult:
    """``depth`` objectives each aligned to the next (plus a sibling at every level, aligned
    through a key result), with a key result at the bottom."""
    objectives = [factories.make_objective(cycle, f"level-{i}") for i in range(depth)]
    for i, (child, parent) in enumerate(itertools.pairwise(objectives)):
        parent_kr = factories.make_key_result(parent, "kr")
        link(child, parent)
        sibling = factories.make_objective(cycle, f"sibling-{i}")
        factories.make_key_result(sibling, "kr")
        link(sibling, parent_kr)
    return factories.make_key_result(objectives[0], "bottom")


@pytest.mark.parametrize("mode", ["key_results", "children", "both"])
@pytest.mark.parametrize("depth", [2, 25])
def test_recompute_after_a_checkin_takes_a_fixed_number_of_queries(
    org: Organization,
    admin: Actor,
    cycle: Cycle,
    mode: str,
    depth: int,
    django_assert_max_num_queries: Any,
) -> None:
    org.rollup_mode = mode
    org.save()
    bottom = chain(org, cycle, depth)
    recompute_organization(org)
    CheckIn.objects.create(
        organization=org,
        key_result=bottom,
        value=Decimal(50),
        recorded_at=bottom.created_at,
        effective_date=cycle.start_date,
    )
    # 10: the ancestors come from one recursive query, then only the links into them are
    # read (not the whole organization's alignment; issue 9).
    with django_assert_max_num_queries(10):
        changed = recompute_key_result_and_ancestors(bottom)
    assert changed.key_results == 1
    assert changed.objectives == (1 if mode == "key_results" else depth)
    assert recompute_organization(org) == Recomputed(0, 0)
    with django_assert_max_num_queries(21):  # 20 before issue 9 (see above)
        services.record_checkin(actor=admin, key_result=bottom, value=Decimal(70))


@pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL (row locks and concurrent connections)",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkins_under_one_objective_do_not_lose_a_rollup(
    org: Organization, admin: Actor, cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    objective = factories.make_objective(cycle, "shared")
    first = factories.make_key_result(objective, "first")
    second = factories.make_key_result(objective, "second")
    recompute_organization(org)
    # Both transactions evaluate their key result before either rolls up the objective, so
    # without the objective's row lock each would average in the other's old value.
    barrier = threading.Barrier(2, timeout=20)
    real = evaluate_key_result

    def evaluate_together(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_io, "evaluate_key_result", evaluate_together)  # used there
    errors: list[BaseException] = []

    def check_in(kr: KeyResult, value: int) -> None:
        try:
            services.record_checkin(actor=admin, key_result=kr, value=Decimal(value))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=check_in, args=(first, 100)),
        threading.Thread(target=check_in, args=(second, 50)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    objective.refresh_from_db()
    assert objective.progress == Decimal("0.75")
    assert recompute_organization(org) == Recomputed(0, 0)


def test_load_okr_plan_builds_the_engine_inputs(
    org: Organization, admin: Actor, today: date
) -> None:
    tree = build_tree(org, today)
    signups = next(k for k in tree.key_results if k.key == "signups")
    wrong = services.record_checkin(
        actor=admin,
        key_result=signups,
        value=Decimal(90),
        confidence=4,
        effective_date=today - timedelta(days=5),
    )
    services.correct_checkin(actor=admin, checkin=wrong, value=Decimal(30))
    services.archive_objective(actor=admin, objective=tree.objectives["lone"])

    plan = engine_io.load_okr_plan(org)
    krs = {k.key: k for k in plan.key_results}
    assert "lone/y" not in krs  # archived objectives are left out, with their key results
    kr = krs["team-1/signups"]
    assert (kr.objective_key, kr.window_start, kr.due) == (
        "team-1",
        tree.quarter.start_date,
        today + timedelta(days=20),
    )
    assert [(c.on, c.value, c.confidence) for c in kr.checkins] == [
        (today - timedelta(days=5), Decimal(30), 4)
    ]
    assert krs["company/revenue"].due == tree.year.end_date
    assert [m.key for m in krs["dept-b/plan"].milestones] == ["m0", "m1"]
    objectives = {o.key: o for o in plan.objectives}
    assert {(a.parent_objective, a.parent_key_result) for a in objectives["team-2"].aligns_to} == {
        ("dept-a", None),
        ("dept-b", None),
    }
    assert objectives["dept-b"].aligns_to[0].parent_key_result == "company/revenue"

    # A cycle's plan brings the objectives aligned below it from other cycles; its report
    # keeps only the cycle's own.
    year_plan = engine_io.load_okr_plan(org, cycle=tree.year)
    assert {o.key for o in year_plan.objectives} == {
        "company",
        "dept-a",
        "dept-b",
        "team-1",
        "team-2",
        "cancelled",
    }
    report = evaluate_cycle(org, tree.year, as_of=today)
    assert set(report.objectives) == {"company"}
    assert set(report.key_results) == {"company/revenue", "company/churn"}
    assert report.as_of == today
    assert report.key_results["company/revenue"].explanation.summary
