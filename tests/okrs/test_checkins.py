"""Check-ins: the current value, dates in the organization's time zone, idempotency,
corrections, who may check in, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from milepost.okrs import key_results as checkin_module
from milepost.okrs import services
from milepost.okrs.engine_io import checkin_history
from milepost.okrs.models import CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests import factories

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]


def history(kr: KeyResult) -> list[tuple[date, Decimal]]:
    return [(c.effective_date, c.value) for c in checkin_history(kr.checkins.all())]


def test_checkin_sets_the_current_value_progress_and_version(
    admin: Actor, key_result: KeyResult, today: date
) -> None:
    checkin = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), confidence=7, note="good week"
    )
    assert checkin.effective_date == today
    assert checkin.author_id == admin.user_id
    assert checkin.source == "manual"
    # The caller's instance shows what was written, and so does the database.
    for kr in (key_result, KeyResult.objects.get(pk=key_result.pk)):
        assert kr.current_value == Decimal(150)
        assert kr.progress == Decimal("0.5")
        assert kr.progress_raw == Decimal("0.5")
        assert kr.confidence == 7
        assert kr.version == 2
        assert kr.last_checkin_at == checkin.recorded_at
    objective = Objective.objects.get(pk=key_result.objective_id)
    assert objective.progress == Decimal("0.5")


def test_checkin_writes_an_audit_event_with_before_and_after(
    admin: Actor, key_result: KeyResult
) -> None:
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(150))
    event = AuditEvent.objects.get(action="checkin.record")
    assert event.target_id == checkin.pk
    assert event.before == {
        "current_value": "100.000000",
        "progress": "0.0000",
        "status": "not_started",
    }
    assert event.after is not None
    assert event.after["value"] == "150"
    assert event.after["current_value"] == "150.000000"
    assert event.after["progress"] == "0.5000"


def test_current_value_is_the_latest_by_effective_date(
    admin: Actor, key_result: KeyResult, today: date
) -> None:
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(140))
    services.record_checkin(
        actor=admin,
        key_result=key_result,
        value=Decimal(120),
        effective_date=today - timedelta(days=7),
    )
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal(140)
    assert history(key_result) == [
        (today - timedelta(days=7), Decimal(120)),
        (today, Decimal(140)),
    ]
    # Two on the same day: the one recorded last counts.
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(145))
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal(145)


def test_effective_date_is_today_in_the_organizations_time_zone(
    admin: Actor, org: Organization, key_result: KeyResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from django.utils import timezone

    # 23:30 UTC on 3 March is already 4 March in Tokyo and still 3 March in New York.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 3, 23, 30, tzinfo=UTC))
    # A cycle under way on that day (a check-in cannot be dated before its cycle's start).
    Cycle.objects.filter(pk=key_result.objective.cycle_id).update(start_date=date(2026, 1, 1))
    org.timezone = "Asia/Tokyo"
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(110))
    assert checkin.effective_date == date(2026, 3, 4)
    org.timezone = "America/New_York"
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(111))
    assert checkin.effective_date == date(2026, 3, 3)
    with pytest.raises(InvalidInput) as caught:
        services.record_checkin(
            actor=admin, key_result=key_result, value=Decimal(1), effective_date=date(2026, 3, 4)
        )
    assert "today 2026-03-03 (America/New_York)" in caught.value.errors["effective_date"][0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": "a lot"}, "value"),
        ({"value": Decimal("NaN")}, "value"),
        ({"value": Decimal("1.1234567")}, "value"),
        ({"value": Decimal(1), "confidence": -1}, "confidence"),
        ({"value": Decimal(1), "confidence": 2.5}, "confidence"),
        ({"value": Decimal(1), "source": "telepathy"}, "source"),
        ({"value": Decimal(1), "effective_date": "yesterday-ish"}, "effective_date"),
    ],
)
def test_bad_checkins_are_refused_and_write_nothing(
    admin: Actor, key_result: KeyResult, counts: Counts, kwargs: dict[str, Any], field: str
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        services.record_checkin(actor=admin, key_result=key_result, **kwargs)
    assert field in caught.value.errors
    assert counts() == before
    key_result.refresh_from_db()
    assert (key_result.current_value, key_result.version) == (Decimal(100), 1)


def test_future_checkin_is_refused(admin: Actor, key_result: KeyResult, today: date) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.record_checkin(
            actor=admin,
            key_result=key_result,
            value=Decimal(1),
            effective_date=today + timedelta(days=1),
        )
    assert list(caught.value.errors) == ["effective_date"]


def test_binary_key_result_takes_zero_or_one(admin: Actor, objective: Objective) -> None:
    kr = factories.make_key_result(
        objective, "launch", kind="binary", start_value=Decimal(0), target_value=Decimal(1)
    )
    with pytest.raises(InvalidInput) as caught:
        services.record_checkin(actor=admin, key_result=kr, value=Decimal(2))
    assert list(caught.value.errors) == ["value"]
    services.record_checkin(actor=admin, key_result=kr, value=Decimal(1))
    kr.refresh_from_db()
    assert (kr.progress, kr.status) == (Decimal(1), "done")


# --- idempotency -----------------------------------------------------------------------------


def test_same_idempotency_key_returns_the_first_checkin_and_writes_nothing(
    admin: Actor, key_result: KeyResult, counts: Counts
) -> None:
    first = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), idempotency_key="req-1"
    )
    before = counts()
    again = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), idempotency_key="req-1"
    )
    assert again == first
    assert counts() == before
    assert KeyResult.objects.get(pk=key_result.pk).version == 2


def test_idempotency_key_of_another_key_result_is_a_conflict(
    admin: Actor, key_result: KeyResult, objective: Objective
) -> None:
    services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), idempotency_key="req-1"
    )
    other = factories.make_key_result(objective, "other")
    with pytest.raises(Conflict):
        services.record_checkin(
            actor=admin, key_result=other, value=Decimal(5), idempotency_key="req-1"
        )


def test_idempotency_keys_are_per_organization(
    admin: Actor, key_result: KeyResult, outsider: Actor, other_org: Organization
) -> None:
    theirs = factories.make_key_result(factories.make_objective(factories.make_cycle(other_org)))
    services.record_checkin(
        actor=outsider, key_result=theirs, value=Decimal(5), idempotency_key="k"
    )
    mine = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), idempotency_key="k"
    )
    assert mine.key_result_id == key_result.pk


def test_idempotency_race_answers_with_the_winner(
    admin: Actor, key_result: KeyResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other request committed between our look-up and our insert: the unique constraint
    # refuses the insert, and the service answers with the other request's check-in.
    winner = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), idempotency_key="race"
    )
    real_replay = checkin_module._replay
    calls: list[int] = []

    def late_replay(*args: Any) -> CheckIn | None:
        calls.append(1)
        return None if len(calls) == 1 else real_replay(*args)

    monkeypatch.setattr(checkin_module, "_replay", late_replay)
    again = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(150), idempotency_key="race"
    )
    assert again == winner
    assert len(calls) == 2
    assert CheckIn.objects.count() == 1
    assert AuditEvent.objects.filter(action="checkin.record").count() == 1


# --- corrections -----------------------------------------------------------------------------


def test_correction_replaces_the_checkin_in_the_history(
    admin: Actor, key_result: KeyResult, today: date
) -> None:
    wrong = services.record_checkin(
        actor=admin,
        key_result=key_result,
        value=Decimal(190),
        confidence=8,
        note="typo",
        effective_date=today - timedelta(days=3),
    )
    fixed = services.correct_checkin(actor=admin, checkin=wrong, value=Decimal(150))
    assert fixed.corrects == wrong
    assert fixed.effective_date == wrong.effective_date
    assert (fixed.confidence, fixed.note) == (8, "typo")  # kept from the original
    assert history(key_result) == [(today - timedelta(days=3), Decimal(150))]
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal(150)
    assert key_result.progress == Decimal("0.5")
    assert key_result.version == 3
    # The original is kept, untouched.
    wrong.refresh_from_db()
    assert wrong.value == Decimal(190)
    event = AuditEvent.objects.get(action="checkin.correct")
    assert event.before is not None
    assert event.before["value"] == "190.000000"
    assert event.after is not None
    assert event.after["value"] == "150"
    assert event.after["corrects_id"] == wrong.pk


def test_correction_keeps_the_place_of_the_corrected_checkin(
    admin: Actor, key_result: KeyResult
) -> None:
    morning = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(110))
    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(160))
    services.correct_checkin(actor=admin, checkin=morning, value=Decimal(115))
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal(160)


def test_a_checkin_is_corrected_once(admin: Actor, key_result: KeyResult) -> None:
    original = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(190))
    first = services.correct_checkin(actor=admin, checkin=original, value=Decimal(150))
    with pytest.raises(Conflict) as caught:
        services.correct_checkin(actor=admin, checkin=original, value=Decimal(160))
    assert str(first.pk) in caught.value.detail
    second = services.correct_checkin(actor=admin, checkin=first, value=Decimal(160))
    assert [c.value for c in checkin_history(key_result.checkins.all())] == [second.value]


# --- who may check in ------------------------------------------------------------------------


def test_who_may_check_in(
    org: Organization,
    admin: Actor,
    viewer: Actor,
    member: Actor,
    team_member: Actor,
    key_result: KeyResult,
) -> None:
    from tests.okrs.conftest import member_of

    services.record_checkin(actor=admin, key_result=key_result, value=Decimal(101))
    services.record_checkin(actor=team_member, key_result=key_result, value=Decimal(102))
    owner = member_of(org, None, "kr-owner@acme.test")
    key_result.owner = owner.user
    key_result.save()
    services.record_checkin(actor=owner, key_result=key_result, value=Decimal(103))
    for refused in (viewer, member):
        with pytest.raises(PermissionDenied):
            services.record_checkin(actor=refused, key_result=key_result, value=Decimal(1))
    checkin = key_result.checkins.first()
    assert checkin is not None
    with pytest.raises(PermissionDenied):
        services.correct_checkin(actor=member, checkin=checkin, value=Decimal(1))


def test_no_checkin_on_an_archived_key_result(admin: Actor, key_result: KeyResult) -> None:
    services.archive_key_result(actor=admin, key_result=key_result)
    with pytest.raises(Conflict):
        services.record_checkin(actor=admin, key_result=key_result, value=Decimal(150))


def test_another_organizations_checkin_is_not_found(
    admin: Actor, outsider: Actor, key_result: KeyResult
) -> None:
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(150))
    with pytest.raises(NotFound):
        services.correct_checkin(actor=outsider, checkin=checkin, value=Decimal(1))
