"""A check-in's date lies in its window: from the cycle's start to today in the organization's
time zone. The one service (web, API, CSV, data sources) and the plan import apply the same
rule, and the key result's chart draws time from the cycle's start."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from milepost.engine.model import CheckInPoint, EngineSettings, KeyResultInput, KeyResultKind
from milepost.engine.okr import evaluate_key_result
from milepost.errors import InvalidInput
from milepost.okrs import services
from milepost.okrs.models import CheckIn, Cycle, KeyResult
from milepost.organizations.access import Actor
from milepost.plans.document import format_path
from milepost.plans.importer import import_plan_text
from milepost.reports.charts import MARGIN_LEFT, key_result_chart
from tests.plans.plan_texts import SMALL_PLAN

pytestmark = pytest.mark.django_db


def _state(kr: KeyResult) -> tuple[Any, ...]:
    kr.refresh_from_db()
    return (CheckIn.objects.count(), kr.current_value, kr.version)


def test_a_checkin_dated_before_the_cycle_start_is_refused_and_changes_nothing(
    admin: Actor, key_result: KeyResult, cycle: Cycle, today: dt.date
) -> None:
    before = _state(key_result)
    for day in (cycle.start_date - dt.timedelta(days=1), dt.date(1900, 1, 1)):
        with pytest.raises(InvalidInput) as caught:
            services.record_checkin(
                actor=admin, key_result=key_result, value=Decimal(120), effective_date=day
            )
        message = caught.value.errors["effective_date"][0]
        assert "before the cycle's start" in message
        assert str(cycle.start_date) in message
        assert str(today) in message
    assert _state(key_result) == before


def test_the_window_includes_the_cycle_start_and_today_but_not_tomorrow(
    admin: Actor, key_result: KeyResult, cycle: Cycle, today: dt.date
) -> None:
    first = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(110), effective_date=cycle.start_date
    )
    last = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(120), effective_date=today
    )
    assert (first.effective_date, last.effective_date) == (cycle.start_date, today)
    with pytest.raises(InvalidInput) as caught:
        services.record_checkin(
            actor=admin,
            key_result=key_result,
            value=Decimal(130),
            effective_date=today + dt.timedelta(days=1),
        )
    message = caught.value.errors["effective_date"][0]
    assert "in the future" in message
    assert str(cycle.start_date) in message


def test_the_plan_import_refuses_a_checkin_before_its_cycle_start_at_its_path() -> None:
    early = SMALL_PLAN.replace("2025-03-31, value: 1100000", "2024-12-15, value: 1100000")
    assert early != SMALL_PLAN

    result = import_plan_text(text=early, organization_slug="initech", actor_or_none=None)

    assert not result.applied
    found = [f"{format_path(i.path)}: {i.message}" for i in result.errors]
    assert any(
        ".checkins[0].date" in e and "before the cycle's start" in e and "2025-01-01" in e
        for e in found
    ), found


def test_the_key_result_chart_starts_at_the_cycle_start_not_the_earliest_checkin() -> None:
    start, due = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    kr = KeyResultInput(
        key="o/k",
        objective_key="o",
        title="Signups",
        kind=KeyResultKind.INCREASE,
        start=Decimal(100),
        target=Decimal(300),
        window_start=start,
        due=due,
        checkins=(
            # Recorded before the window rule existed: two months before the cycle.
            CheckInPoint(dt.date(2025, 11, 1), Decimal(90), 5),
            CheckInPoint(dt.date(2026, 1, 20), Decimal(140), 6),
            CheckInPoint(dt.date(2026, 2, 10), Decimal(180), 6),
        ),
    )
    today = dt.date(2026, 2, 15)
    result = evaluate_key_result(kr, today, EngineSettings())

    svg = str(key_result_chart(kr, result, today, EngineSettings()))

    expected_line = svg.split('class="expected-line" points="')[1].split('"')[0]
    first_x = float(expected_line.split()[0].split(",")[0])
    assert first_x == pytest.approx(MARGIN_LEFT)
    xs = [float(part.split('"')[0]) for part in svg.split('class="actual-point" cx="')[1:]]
    assert len(xs) == 2
    assert all(x >= MARGIN_LEFT for x in xs)
