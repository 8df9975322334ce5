"""`milepost.bulk_update.update_columns`: the named columns of many rows written as
``save()`` would write them, nothing else touched, on both back-ends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from milepost.bulk_update import MAX_ROWS_PER_STATEMENT, update_columns
from milepost.okrs.models import KeyResult
from tests.factories import make_cycle, make_key_result, make_member, make_objective, make_org

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=dt.UTC)


def _key_results(count: int) -> list[KeyResult]:
    objective = make_objective(make_cycle(make_org()))
    return [make_key_result(objective, key=f"kr-{i}", title=f"KR {i}") for i in range(count)]


def test_writes_decimals_text_times_nulls_and_foreign_keys_as_saved() -> None:
    first, second, third = _key_results(3)
    owner = make_member(first.organization)
    first.progress, first.status, first.confidence = Decimal("0.1234"), "at_risk", 7
    first.last_checkin_at, first.owner_id = WHEN, owner.pk
    second.progress, second.status, second.confidence = Decimal("-2.5"), "on_track", None
    second.last_checkin_at, second.owner_id = None, None
    fields = ("progress", "status", "confidence", "last_checkin_at", "owner")

    assert update_columns(KeyResult, [first, second], fields) == 2

    stored = {kr.pk: kr for kr in KeyResult.objects.filter(pk__in=[first.pk, second.pk])}
    assert stored[first.pk].progress == Decimal("0.1234")
    assert stored[first.pk].status == "at_risk"
    assert stored[first.pk].confidence == 7
    assert stored[first.pk].last_checkin_at == WHEN
    assert stored[first.pk].owner_id == owner.pk
    assert stored[second.pk].progress == Decimal("-2.5")
    assert stored[second.pk].confidence is None
    assert stored[second.pk].last_checkin_at is None
    assert stored[second.pk].owner_id is None
    # A row not given is untouched.
    third.refresh_from_db()
    assert third.progress == Decimal(0)
    assert third.status == "not_started"


def test_only_the_named_columns_change() -> None:
    (kr,) = _key_results(1)
    kr.progress = Decimal("0.5")
    kr.title = "changed on the instance only"
    update_columns(KeyResult, [kr], ["progress"])
    kr.refresh_from_db()
    assert kr.progress == Decimal("0.5")
    assert kr.title == "KR 0"


def test_many_rows_go_in_statements_of_a_bounded_size() -> None:
    rows = _key_results(MAX_ROWS_PER_STATEMENT + 5)
    for i, kr in enumerate(rows):
        kr.progress = Decimal(i) / 1000
    with CaptureQueriesContext(connection) as queries:
        assert update_columns(KeyResult, rows, ["progress"]) == len(rows)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH", "WITH"]
    stored = dict(
        KeyResult.objects.filter(pk__in=[kr.pk for kr in rows]).values_list("pk", "progress")
    )
    assert stored == {kr.pk: Decimal(i) / 1000 for i, kr in enumerate(rows)}


def test_nothing_to_write_sends_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert update_columns(KeyResult, [], ["progress"]) == 0
    assert queries.captured_queries == []
