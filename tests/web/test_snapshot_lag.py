"""The kept whole-plan evaluation under a stream of writes: it may lag other people's changes
by ``MILEPOST_LIVE_LAG_SECONDS`` but never the asking person's own, and requests that need a
new one at the same moment share one computation."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from milepost.okrs.key_results import record_checkin
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.reports import snapshot as snapshots
from milepost.web.middleware import WROTE_AT_COOKIE
from tests.web.builders import Plan
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


def _someone_checks_in(admin: Actor, plan: Plan, value: int) -> None:
    record_checkin(actor=admin, key_result=plan.key_result, value=Decimal(value), confidence=5)


def test_without_lag_every_change_is_evaluated_again(
    settings: Any, plan: Plan, admin: Actor
) -> None:
    settings.MILEPOST_LIVE_LAG_SECONDS = 0
    first = snapshots.snapshot(plan.org, plan.cycle)
    assert snapshots.snapshot(plan.org, plan.cycle) is first  # nothing changed
    _someone_checks_in(admin, plan, 40)
    assert snapshots.snapshot(plan.org, plan.cycle) is not first


def test_other_peoples_changes_may_lag_but_ones_own_never(
    settings: Any, plan: Plan, admin: Actor
) -> None:
    settings.MILEPOST_LIVE_LAG_SECONDS = 5
    first = snapshots.snapshot(plan.org, plan.cycle)
    _someone_checks_in(admin, plan, 40)
    # Someone else's change, within the lag: the kept evaluation still serves.
    assert snapshots.snapshot(plan.org, plan.cycle) is first
    # The asking person wrote after it was computed: evaluated again.
    mine = snapshots.snapshot(plan.org, plan.cycle, fresh_after=time.time())
    assert mine is not first
    kr_key = next(k for k, pk in mine.key_result_ids.items() if pk == plan.key_result.pk)
    assert mine.okr.key_results[kr_key].current == Decimal(40)


def test_requests_at_the_same_moment_share_one_computation(
    settings: Any, monkeypatch: pytest.MonkeyPatch, org: Organization
) -> None:
    settings.MILEPOST_LIVE_LAG_SECONDS = 0
    calls = []
    release = threading.Event()

    def slow_load(
        organization: Organization, cycle: Any, as_of: dt.date, previous: object = None
    ) -> object:
        calls.append(as_of)
        release.wait(5)
        return snapshots.Snapshot(
            as_of,
            None,
            None,
            None,
            {},
            {},
            {},
            {},
            computed_at=time.time(),  # type: ignore[arg-type]
        )

    monkeypatch.setattr(snapshots, "_load", slow_load)
    day = dt.date(2026, 12, 1)
    results: list[object] = []

    def ask() -> None:
        results.append(snapshots.snapshot(org, None, as_of=day, token=(7, "t")))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert len(results) == 4
    assert all(r is results[0] for r in results)


def test_an_evaluation_older_than_the_lag_is_served_while_it_is_computed_anew(
    settings: Any, monkeypatch: pytest.MonkeyPatch, org: Organization
) -> None:
    settings.MILEPOST_LIVE_LAG_SECONDS = 1
    loads: list[float] = []

    def load(
        organization: Organization, cycle: Any, as_of: dt.date, previous: object = None
    ) -> object:
        loads.append(time.time())
        return snapshots.Snapshot(
            as_of,
            None,
            None,
            None,
            {},
            {},
            {},
            {},
            computed_at=time.time(),  # type: ignore[arg-type]
        )

    monkeypatch.setattr(snapshots, "_load", load)
    day = dt.date(2026, 12, 1)
    first = snapshots.snapshot(org, None, as_of=day, token=(1, "a"))
    # A change, within the lag: the same evaluation, nothing computed.
    assert snapshots.snapshot(org, None, as_of=day, token=(2, "b")) is first
    assert len(loads) == 1
    # Older than the lag: still served at once, and computed anew in the background.
    time.sleep(1.1)
    assert snapshots.snapshot(org, None, as_of=day, token=(2, "b")) is first
    for _ in range(50):
        if len(loads) == 2 and not snapshots._in_flight:
            break
        time.sleep(0.05)
    assert len(loads) == 2
    fresh = snapshots.snapshot(org, None, as_of=day, token=(2, "b"))
    assert fresh is not first
    assert fresh.computed_at >= loads[1]


def test_a_costly_evaluation_is_renewed_in_the_background_less_often(
    settings: Any, monkeypatch: pytest.MonkeyPatch, org: Organization
) -> None:
    """An evaluation that took 0.2 s is renewed at most every 2 s (a tenth of the time), even
    with a lag of 0.5 s; the asking person's own write still gets a fresh one at once."""
    settings.MILEPOST_LIVE_LAG_SECONDS = 0.5
    loads: list[float] = []

    def load(
        organization: Organization, cycle: Any, as_of: dt.date, previous: object = None
    ) -> object:
        loads.append(time.time())
        return snapshots.Snapshot(
            as_of,
            None,
            None,
            None,
            {},
            {},
            {},
            {},
            computed_at=time.time(),  # type: ignore[arg-type]
            cost_seconds=0.2,
        )

    monkeypatch.setattr(snapshots, "_load", load)
    day = dt.date(2026, 12, 1)
    first = snapshots.snapshot(org, None, as_of=day, token=(1, "a"))
    time.sleep(0.6)  # older than the lag, younger than ten times its cost
    assert snapshots.snapshot(org, None, as_of=day, token=(2, "b")) is first
    time.sleep(0.2)
    assert not snapshots._in_flight
    assert len(loads) == 1
    own = snapshots.snapshot(org, None, as_of=day, token=(2, "b"), fresh_after=time.time())
    assert own is not first
    assert len(loads) == 2


def test_a_successful_post_marks_the_writer(plan: Plan, member: Actor) -> None:
    client = client_for(member)
    url = reverse("web:checkin-create", args=[plan.key_result.pk])
    refused = client.post(url, {"value": "not a number"})
    assert refused.status_code == 422
    assert WROTE_AT_COOKIE not in refused.cookies
    assert WROTE_AT_COOKIE not in client.get(reverse("web:dashboard")).cookies
    saved = client.post(url, {"value": "42"})
    assert saved.status_code in (200, 302)
    cookie = saved.cookies[WROTE_AT_COOKIE]
    assert abs(float(cookie.value) - time.time()) < 60
    assert cookie["httponly"]


def _objective_progress(client: Client, plan: Plan) -> str:
    """The progress the dashboard shows for the plan's objective ("Progress 35%, …")."""
    html = client.get(reverse("web:dashboard") + f"?cycle={plan.cycle.pk}").content.decode()
    after = html[html.index(f'href="/objectives/{plan.objective.pk}/"') :]
    return after[after.index('aria-label="Progress') :].split('"')[1]


def test_ones_own_check_in_shows_on_the_dashboard_at_once_others_may_lag(
    settings: Any, plan: Plan, member: Actor, admin: Actor
) -> None:
    settings.MILEPOST_LIVE_LAG_SECONDS = 3600
    writer, onlooker = client_for(member), client_for(admin)
    before = _objective_progress(writer, plan)
    assert _objective_progress(onlooker, plan) == before
    response = writer.post(
        reverse("web:checkin-create", args=[plan.key_result.pk]), {"value": "95"}
    )
    assert response.status_code in (200, 302)
    assert _objective_progress(writer, plan) != before  # the writer sees it at once
    # The evaluation computed for the writer serves everyone from now on.
    assert _objective_progress(onlooker, plan) == _objective_progress(writer, plan)


def _fresh(plan: Plan) -> snapshots.Snapshot:
    """The evaluation read from scratch, as a new process would."""
    snapshots.clear()
    return snapshots.snapshot(plan.org, plan.cycle)


def test_after_check_ins_only_the_kept_plan_is_patched_and_equals_a_fresh_read(
    settings: Any, monkeypatch: pytest.MonkeyPatch, plan: Plan, admin: Actor
) -> None:
    """A stream of check-ins re-reads only the histories they touched (two queries, not the
    whole plan), and the evaluation is the one a fresh read gives — corrections included."""
    from milepost.okrs.key_results import correct_checkin

    settings.MILEPOST_LIVE_LAG_SECONDS = 0
    # The plan was made a moment ago; in a test nothing commits late.
    monkeypatch.setattr(snapshots, "CHANGE_MARGIN_SECONDS", 0.0)
    kept = snapshots.snapshot(plan.org, plan.cycle)
    first = record_checkin(actor=admin, key_result=plan.key_result, value=Decimal(30), confidence=4)
    correct_checkin(actor=admin, checkin=first, value=Decimal(35))
    _someone_checks_in(admin, plan, 50)
    reads: list[object] = []
    real = snapshots.load_plan_with_ids
    monkeypatch.setattr(
        snapshots, "load_plan_with_ids", lambda *a, **k: reads.append(1) or real(*a, **k)
    )
    patched = snapshots.snapshot(plan.org, plan.cycle)
    assert reads == []  # patched, not read again
    fresh = _fresh(plan)
    assert reads == [1]
    assert patched.plan == fresh.plan
    assert patched.okr == fresh.okr
    assert patched.roadmap == fresh.roadmap
    assert patched.roadmap.schedule is kept.roadmap.schedule  # check-ins move no date
    kr_key = next(k for k, pk in patched.key_result_ids.items() if pk == plan.key_result.pk)
    assert patched.okr.key_results[kr_key].current == Decimal(50)


def test_any_other_change_reads_the_plan_anew(
    settings: Any, monkeypatch: pytest.MonkeyPatch, plan: Plan, admin: Actor
) -> None:
    from milepost.okrs.services import update_objective

    settings.MILEPOST_LIVE_LAG_SECONDS = 0
    monkeypatch.setattr(snapshots, "CHANGE_MARGIN_SECONDS", 0.0)
    snapshots.snapshot(plan.org, plan.cycle)
    _someone_checks_in(admin, plan, 20)
    update_objective(
        actor=admin, objective=plan.objective, changes={"title": "Renamed after the read"}
    )
    reads: list[object] = []
    real = snapshots.load_plan_with_ids
    monkeypatch.setattr(
        snapshots, "load_plan_with_ids", lambda *a, **k: reads.append(1) or real(*a, **k)
    )
    again = snapshots.snapshot(plan.org, plan.cycle)
    assert reads == [1]
    assert any(o.title == "Renamed after the read" for o in again.plan.objectives)
    assert again.plan == _fresh(plan).plan


@pytest.mark.parametrize("backdated_days", [None, 30])
def test_the_dashboard_after_check_ins_matches_a_fresh_evaluation(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    plan: Plan,
    admin: Actor,
    backdated_days: int | None,
) -> None:
    """After check-ins only, the dashboard reuses the trend points dated before the earliest
    changed check-in and the investment figures; what it shows equals a fresh evaluation."""
    from milepost.reports import dashboard as dashboard_reports

    settings.MILEPOST_LIVE_LAG_SECONDS = 0
    monkeypatch.setattr(snapshots, "CHANGE_MARGIN_SECONDS", 0.0)
    client = client_for(admin)
    url = reverse("web:dashboard") + f"?cycle={plan.cycle.pk}"
    assert client.get(url).status_code == 200
    day = snapshots.snapshot(plan.org, plan.cycle).as_of
    effective = day - dt.timedelta(days=backdated_days) if backdated_days else None
    record_checkin(
        actor=admin,
        key_result=plan.key_result,
        value=Decimal(70),
        confidence=5,
        effective_date=effective,
    )
    evaluations: list[dt.date] = []
    real = dashboard_reports.evaluate_okrs
    monkeypatch.setattr(
        dashboard_reports,
        "evaluate_okrs",
        lambda p, on, **k: evaluations.append(on) or real(p, on, **k),
    )
    assert client.get(url).status_code == 200
    patched = snapshots.snapshot(plan.org, plan.cycle)
    assert patched.carried  # patched from the kept evaluation
    # Only the dates from the changed check-in on were evaluated again, and today's point
    # reads the page's own evaluation.
    assert all(on >= (effective or day) for on in evaluations)
    assert day not in evaluations
    assert bool(evaluations) == bool(backdated_days)
    snapshots.clear()
    assert client.get(url).status_code == 200
    fresh = snapshots.snapshot(plan.org, plan.cycle)
    assert not fresh.carried
    trend_keys = [k for k in fresh.extras if isinstance(k, tuple) and k[0] == "trend"]
    assert trend_keys
    for key in trend_keys:
        assert patched.extras[key] == fresh.extras[key]
        assert any(p.progress for p in fresh.extras[key])
    assert patched.extras["investment"] == fresh.extras["investment"]


def test_the_dashboard_keeps_its_figures_with_the_evaluation(
    settings: Any, monkeypatch: pytest.MonkeyPatch, plan: Plan, admin: Actor
) -> None:
    """Views of one evaluation share its key-result figures and findings; a new evaluation
    (after a check-in) computes them again and the page shows the new numbers."""
    from milepost.web.views import dashboard as dashboard_view

    settings.MILEPOST_LIVE_LAG_SECONDS = 0
    computed: list[int] = []
    real = dashboard_view._key_result_figures

    def counting(snap: Any, in_scope: set[str]) -> tuple[Any, ...]:
        computed.append(len(in_scope))
        return real(snap, in_scope)

    monkeypatch.setattr(dashboard_view, "_key_result_figures", counting)
    client = client_for(admin)
    url = reverse("web:dashboard") + f"?cycle={plan.cycle.pk}"
    first = client.get(url)
    second = client.get(url)
    assert len(computed) == 1
    assert first.context["status_shares"] == second.context["status_shares"]
    assert first.context["finding_counts"] == second.context["finding_counts"]

    _someone_checks_in(admin, plan, 100)
    third = client.get(url)
    assert len(computed) == 2
    assert third.context["overall_progress"] > first.context["overall_progress"]


def test_an_evaluation_keeps_the_latest_few_of_each_kind(plan: Plan) -> None:
    snap = snapshots.snapshot(plan.org, plan.cycle)
    computed: list[int] = []

    def value(n: int) -> int:
        computed.append(n)
        return n * 10

    assert [snap.kept("k", n, lambda n=n: value(n), limit=2) for n in (1, 2, 1)] == [10, 20, 10]
    assert computed == [1, 2]  # the second 1 was kept
    snap.kept("k", 3, lambda: value(3), limit=2)  # 2 is the least recently used: it goes
    assert snap.kept("k", 1, lambda: value(1), limit=2) == 10
    assert snap.kept("k", 2, lambda: value(2), limit=2) == 20
    assert computed == [1, 2, 3, 2]
    assert snap.kept("other", 1, lambda: -1, limit=2) == -1  # each kind on its own
