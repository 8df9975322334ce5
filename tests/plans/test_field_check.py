"""`FieldCheck`: the quick yes of `clean_fields` for many rows, and Django's messages otherwise."""

from __future__ import annotations

from decimal import Decimal

from milepost.engine.model import Status
from milepost.okrs.models import KeyResult, Objective, Visibility
from milepost.plans.field_check import FieldCheck

KR_CHECK = FieldCheck(KeyResult, ("organization", "objective", "owner", "carried_from"))


def _key_result(**values: object) -> KeyResult:
    fields = {"key": "signups", "title": "Reach 10k sign-ups", "target_value": Decimal(10_000)}
    return KeyResult(**{**fields, **values})


def test_a_valid_row_with_its_choice_defaults_is_accepted_without_django() -> None:
    # The model's defaults are enum members (str subclasses): the quick check takes them,
    # instead of handing every key result and objective of an import to `clean_fields`.
    row = _key_result()
    assert row.status is Status.NOT_STARTED
    assert KR_CHECK.accepts(row)
    assert KR_CHECK.errors(row) is None
    objective = Objective(key="grow", title="Grow", visibility=Visibility.TEAM)
    check = FieldCheck(
        Objective, ("organization", "cycle", "owner_team", "owner_user", "carried_from")
    )
    assert check.accepts(objective)


def test_a_row_it_cannot_accept_gets_djangos_messages() -> None:
    too_long = _key_result(title="x" * 301)
    assert not KR_CHECK.accepts(too_long)
    error = KR_CHECK.errors(too_long)
    assert error is not None
    assert error.message_dict["title"] == [
        "Ensure this value has at most 300 characters (it has 301)."
    ]
    not_a_choice = _key_result(status="great")
    assert not KR_CHECK.accepts(not_a_choice)
    error = KR_CHECK.errors(not_a_choice)
    assert error is not None
    assert "status" in error.message_dict
    too_precise = _key_result(weight=Decimal("1.0001"))
    assert not KR_CHECK.accepts(too_precise)
    error = KR_CHECK.errors(too_precise)
    assert error is not None
    assert "weight" in error.message_dict
