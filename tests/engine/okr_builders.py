"""Small builders for the OKR engine tests (plain engine inputs, no Django)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from milepost.engine.model import (
    CheckInPoint,
    Curve,
    KeyResultInput,
    KeyResultKind,
    MaintainDirection,
    MilestoneRef,
)

WINDOW_START = date(2026, 7, 1)
DUE = date(2026, 9, 30)  # 91 days after WINDOW_START


def day(n: int) -> date:
    """The date ``n`` days after the window start."""
    return WINDOW_START + timedelta(days=n)


def ck(on: int | date, value: str | int | Decimal, confidence: int | None = None) -> CheckInPoint:
    when = day(on) if isinstance(on, int) else on
    return CheckInPoint(when, Decimal(value), confidence)


def ms(
    key: str, on: int | date, weight: str | int = 1, done_on: int | date | None = None
) -> MilestoneRef:
    when = day(on) if isinstance(on, int) else on
    done = day(done_on) if isinstance(done_on, int) else done_on
    return MilestoneRef(key, when, Decimal(weight), done)


def kr(
    key: str = "o/k",
    *,
    kind: KeyResultKind = KeyResultKind.INCREASE,
    start: str | int | Decimal = 0,
    target: str | int | Decimal = 100,
    checkins: tuple[CheckInPoint, ...] = (),
    milestones: tuple[MilestoneRef, ...] = (),
    weight: str | int | Decimal = 1,
    curve: Curve = Curve.LINEAR,
    direction: MaintainDirection = MaintainDirection.AT_LEAST,
    window_start: date = WINDOW_START,
    due: date = DUE,
    objective: str | None = None,
) -> KeyResultInput:
    return KeyResultInput(
        key=key,
        objective_key=objective if objective is not None else key.rpartition("/")[0],
        title=key,
        kind=kind,
        start=Decimal(start),
        target=Decimal(target),
        window_start=window_start,
        due=due,
        weight=Decimal(weight),
        curve=curve,
        maintain_direction=direction,
        checkins=checkins,
        milestones=milestones,
    )
