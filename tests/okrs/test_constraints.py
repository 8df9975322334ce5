"""Every named database constraint of okrs/models.py: the database itself refuses bad rows,
and the services refuse the same input first with `InvalidInput` carrying the constraint's
message on the field a user would correct, writing nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from milepost.errors import InvalidInput
from milepost.okrs import services
from milepost.okrs.models import (
    Alignment,
    CheckIn,
    Cycle,
    KeyResult,
    Objective,
    Retrospective,
)
from milepost.okrs.validation import CONSTRAINT_FIELDS, validate
from milepost.organizations.access import Actor
from tests import factories

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]

MODELS = (Cycle, Objective, Alignment, KeyResult, CheckIn, Retrospective)


def message_of(name: str) -> str:
    for model in MODELS:
        for constraint in model._meta.constraints:
            if constraint.name == name:
                return str(constraint.violation_error_message)
    raise AssertionError(f"no constraint {name}")


def test_every_constraint_has_a_field_and_a_message() -> None:
    names = {c.name for model in MODELS for c in model._meta.constraints}
    assert names == set(CONSTRAINT_FIELDS)
    for name in names:
        assert not message_of(name).startswith("Constraint “")  # a real sentence


def refused(counts: Counts, name: str, call: Callable[[], Any]) -> InvalidInput:
    """Run a service call that must be refused for constraint ``name``; nothing is written."""
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert counts() == before
    field = CONSTRAINT_FIELDS[name]
    assert message_of(name) in caught.value.errors.get(field, []), caught.value.errors
    assert caught.value.detail.startswith(f"{field}: ")
    return caught.value


def db_refuses(make: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


# --- cycles ----------------------------------------------------------------------------------


def test_cycle_key_unique_in_org(admin: Actor, cycle: Cycle, counts: Counts) -> None:
    refused(
        counts,
        "cycle_key_unique_in_org",
        lambda: services.create_cycle(
            actor=admin,
            key="q",
            name="Again",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 2, 1),
        ),
    )
    db_refuses(lambda: factories.make_cycle(cycle.organization, "q"))


def test_cycle_end_after_start(admin: Actor, cycle: Cycle, counts: Counts) -> None:
    refused(
        counts,
        "cycle_end_after_start",
        lambda: services.create_cycle(
            actor=admin,
            key="back",
            name="Back",
            start_date=date(2026, 3, 1),
            end_date=date(2026, 2, 1),
        ),
    )
    refused(
        counts,
        "cycle_end_after_start",
        lambda: services.update_cycle(
            actor=admin, cycle=cycle, changes={"end_date": cycle.start_date - timedelta(days=1)}
        ),
    )
    db_refuses(
        lambda: factories.make_cycle(
            cycle.organization, "x", start_date=date(2026, 3, 1), end_date=date(2026, 2, 1)
        )
    )


# --- objectives ------------------------------------------------------------------------------


def test_objective_key_unique_in_org(admin: Actor, objective: Objective, counts: Counts) -> None:
    refused(
        counts,
        "objective_key_unique_in_org",
        lambda: services.create_objective(
            actor=admin, cycle=objective.cycle, key="grow", title="Again"
        ),
    )
    db_refuses(lambda: factories.make_objective(objective.cycle, "grow"))


def test_objective_weight_non_negative(admin: Actor, objective: Objective, counts: Counts) -> None:
    refused(
        counts,
        "objective_weight_non_negative",
        lambda: services.create_objective(
            actor=admin, cycle=objective.cycle, key="neg", title="Neg", weight=Decimal(-1)
        ),
    )
    refused(
        counts,
        "objective_weight_non_negative",
        lambda: services.update_objective(
            actor=admin, objective=objective, changes={"weight": Decimal("-0.5")}
        ),
    )
    db_refuses(lambda: factories.make_objective(objective.cycle, "neg", weight=Decimal(-1)))


# --- alignment -------------------------------------------------------------------------------


def test_alignment_exactly_one_parent(
    admin: Actor, objective: Objective, cycle: Cycle, counts: Counts
) -> None:
    parent = factories.make_objective(cycle, "company")
    parent_kr = factories.make_key_result(parent, "kr")
    refused(
        counts,
        "alignment_exactly_one_parent",
        lambda: services.align_objective(actor=admin, child=objective),
    )
    refused(
        counts,
        "alignment_exactly_one_parent",
        lambda: services.align_objective(
            actor=admin, child=objective, parent_objective=parent, parent_key_result=parent_kr
        ),
    )
    db_refuses(lambda: Alignment.objects.create(organization=cycle.organization, child=objective))


def test_alignment_no_self_link(admin: Actor, objective: Objective, counts: Counts) -> None:
    refused(
        counts,
        "alignment_no_self_link",
        lambda: services.align_objective(actor=admin, child=objective, parent_objective=objective),
    )
    db_refuses(
        lambda: Alignment.objects.create(
            organization_id=objective.organization_id, child=objective, parent_objective=objective
        )
    )


def test_alignment_weight_non_negative(
    admin: Actor, objective: Objective, cycle: Cycle, counts: Counts
) -> None:
    parent = factories.make_objective(cycle, "company")
    refused(
        counts,
        "alignment_weight_non_negative",
        lambda: services.align_objective(
            actor=admin, child=objective, parent_objective=parent, weight=Decimal(-1)
        ),
    )
    db_refuses(
        lambda: Alignment.objects.create(
            organization_id=objective.organization_id,
            child=objective,
            parent_objective=parent,
            weight=Decimal(-1),
        )
    )


def test_alignment_unique_objective_parent(
    admin: Actor, objective: Objective, cycle: Cycle, counts: Counts
) -> None:
    parent = factories.make_objective(cycle, "company")
    services.align_objective(actor=admin, child=objective, parent_objective=parent)
    refused(
        counts,
        "alignment_unique_objective_parent",
        lambda: services.align_objective(actor=admin, child=objective, parent_objective=parent),
    )
    db_refuses(
        lambda: Alignment.objects.create(
            organization_id=objective.organization_id, child=objective, parent_objective=parent
        )
    )


def test_alignment_unique_kr_parent(
    admin: Actor, objective: Objective, cycle: Cycle, counts: Counts
) -> None:
    parent_kr = factories.make_key_result(factories.make_objective(cycle, "company"), "kr")
    services.align_objective(actor=admin, child=objective, parent_key_result=parent_kr)
    refused(
        counts,
        "alignment_unique_kr_parent",
        lambda: services.align_objective(actor=admin, child=objective, parent_key_result=parent_kr),
    )
    db_refuses(
        lambda: Alignment.objects.create(
            organization_id=objective.organization_id, child=objective, parent_key_result=parent_kr
        )
    )


# --- key results -----------------------------------------------------------------------------


def create_kr(admin: Actor, objective: Objective, **extra: Any) -> Callable[[], KeyResult]:
    values: dict[str, Any] = {
        "key": "k",
        "title": "K",
        "kind": "increase",
        "start_value": Decimal(0),
        "target_value": Decimal(10),
    }
    values.update(extra)
    return lambda: services.create_key_result(actor=admin, objective=objective, **values)


def test_kr_key_unique_in_objective(
    admin: Actor, objective: Objective, key_result: KeyResult, counts: Counts
) -> None:
    refused(counts, "kr_key_unique_in_objective", create_kr(admin, objective, key="signups"))
    db_refuses(lambda: factories.make_key_result(objective, "signups"))


def test_kr_weight_non_negative(
    admin: Actor, objective: Objective, key_result: KeyResult, counts: Counts
) -> None:
    refused(counts, "kr_weight_non_negative", create_kr(admin, objective, weight=Decimal(-2)))
    refused(
        counts,
        "kr_weight_non_negative",
        lambda: services.update_key_result(
            actor=admin, key_result=key_result, changes={"weight": Decimal(-1)}
        ),
    )
    db_refuses(lambda: factories.make_key_result(objective, "neg", weight=Decimal(-1)))


def test_kr_increase_target_above_start(
    admin: Actor, objective: Objective, key_result: KeyResult, counts: Counts
) -> None:
    refused(
        counts,
        "kr_increase_target_above_start",
        create_kr(admin, objective, start_value=Decimal(5), target_value=Decimal(5)),
    )
    refused(
        counts,
        "kr_increase_target_above_start",
        lambda: services.update_key_result(
            actor=admin, key_result=key_result, changes={"start_value": Decimal(500)}
        ),
    )
    db_refuses(
        lambda: factories.make_key_result(
            objective, "bad", kind="increase", start_value=Decimal(5), target_value=Decimal(1)
        )
    )


def test_kr_decrease_target_below_start(
    admin: Actor, objective: Objective, key_result: KeyResult, counts: Counts
) -> None:
    refused(
        counts,
        "kr_decrease_target_below_start",
        create_kr(
            admin, objective, kind="decrease", start_value=Decimal(5), target_value=Decimal(8)
        ),
    )
    refused(
        counts,
        "kr_decrease_target_below_start",
        lambda: services.update_key_result(
            actor=admin, key_result=key_result, changes={"kind": "decrease"}
        ),
    )
    db_refuses(
        lambda: factories.make_key_result(
            objective, "bad", kind="decrease", start_value=Decimal(5), target_value=Decimal(8)
        )
    )


def test_kr_confidence_0_10(key_result: KeyResult) -> None:
    # The stored confidence is engine output (no service sets it): model validation and the
    # database both refuse an impossible one.
    key_result.confidence = 11
    with pytest.raises(InvalidInput) as caught:
        validate(key_result)
    assert caught.value.errors["confidence"] == [message_of("kr_confidence_0_10")]
    db_refuses(lambda: KeyResult.objects.filter(pk=key_result.pk).update(confidence=11))


# --- check-ins -------------------------------------------------------------------------------


def test_checkin_confidence_0_10(admin: Actor, key_result: KeyResult, counts: Counts) -> None:
    refused(
        counts,
        "checkin_confidence_0_10",
        lambda: services.record_checkin(
            actor=admin, key_result=key_result, value=Decimal(120), confidence=11
        ),
    )
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(120))
    refused(
        counts,
        "checkin_confidence_0_10",
        lambda: services.correct_checkin(
            actor=admin, checkin=checkin, value=Decimal(121), confidence=12
        ),
    )
    db_refuses(lambda: CheckIn.objects.filter(pk=checkin.pk).update(confidence=11))


def new_checkin(key_result: KeyResult, **extra: Any) -> CheckIn:
    return CheckIn(
        organization_id=key_result.organization_id,
        key_result=key_result,
        value=Decimal(1),
        recorded_at=timezone.now(),
        effective_date=date(2026, 1, 1),
        **extra,
    )


def test_checkin_idempotency_key_unique(admin: Actor, key_result: KeyResult) -> None:
    # Through the service a repeated key is not an error: it answers with the first check-in
    # (see test_checkins). Model validation and the database refuse a second row.
    first = services.record_checkin(
        actor=admin, key_result=key_result, value=Decimal(120), idempotency_key="abc"
    )
    second = new_checkin(key_result, idempotency_key="abc")
    with pytest.raises(InvalidInput) as caught:
        validate(second)
    assert caught.value.errors["idempotency_key"] == [message_of("checkin_idempotency_key_unique")]
    db_refuses(second.save)
    assert CheckIn.objects.filter(idempotency_key="abc").get() == first


def test_checkin_not_self_correction(admin: Actor, key_result: KeyResult) -> None:
    checkin = services.record_checkin(actor=admin, key_result=key_result, value=Decimal(120))
    checkin.corrects = checkin
    with pytest.raises(InvalidInput) as caught:
        validate(checkin)
    assert caught.value.errors["corrects"] == [message_of("checkin_not_self_correction")]
    db_refuses(lambda: CheckIn.objects.filter(pk=checkin.pk).update(corrects=checkin.pk))


# --- retrospectives (their services come with cycle closing; the rules hold already) --------


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("retro_exactly_one_subject", lambda o, k: {}),
        ("retro_exactly_one_subject", lambda o, k: {"objective": o, "key_result": k}),
        ("retro_score_0_1", lambda o, k: {"key_result": k, "score": Decimal("1.5")}),
        ("retro_override_needs_reason", lambda o, k: {"key_result": k, "grade_override": "missed"}),
    ],
)
def test_retrospective_constraints(
    objective: Objective, key_result: KeyResult, name: str, build: Callable[..., dict[str, Any]]
) -> None:
    retro = Retrospective(
        organization_id=objective.organization_id,
        cycle=objective.cycle,
        **build(objective, key_result),
    )
    with pytest.raises(InvalidInput) as caught:
        validate(retro)
    assert message_of(name) in caught.value.errors[CONSTRAINT_FIELDS[name]]
    db_refuses(retro.save)


@pytest.mark.parametrize("subject", ["objective", "key_result"])
def test_retrospective_one_per_subject(
    objective: Objective, key_result: KeyResult, subject: str
) -> None:
    target = {"objective": objective, "key_result": key_result}[subject]
    name = f"retro_one_per_{subject}"

    def make() -> Retrospective:
        return Retrospective(
            organization_id=objective.organization_id, cycle=objective.cycle, **{subject: target}
        )

    make().save()
    second = make()
    with pytest.raises(InvalidInput) as caught:
        validate(second)
    assert message_of(name) in caught.value.errors[CONSTRAINT_FIELDS[name]]
    db_refuses(second.save)
