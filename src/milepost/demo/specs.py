"""The shapes the demo content is written in: plain frozen dataclasses, no Django.

Days are offsets from the *current* cycle's start (negative: before it), so the whole demo
moves with the date it is loaded on. A key result's ``story`` decides the shape of its
check-in history (see `milepost.demo.story`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Story(StrEnum):
    """How a key result's weekly check-ins unfold in the active cycle."""

    ON_TRACK = "on_track"  # close to the expected curve
    AHEAD = "ahead"  # a little ahead of it
    AT_RISK = "at_risk"  # 15-20 points behind
    OFF_TRACK = "off_track"  # 30-40 points behind
    RECOVERING = "recovering"  # dipped mid-cycle, then climbed back on track
    STALE = "stale"  # nobody has checked in for more than three weeks
    FLAT = "flat"  # the metric has not moved at all
    DONE = "done"  # target reached early
    HOLDING = "holding"  # maintain: stays on the right side of the threshold
    BREACHED = "breached"  # maintain: crossed the threshold in the last weeks
    PENDING = "pending"  # binary: not done yet
    MILESTONES = "milestones"  # progress comes from milestones; check-ins carry confidence


@dataclass(frozen=True, slots=True)
class PersonSpec:
    first: str
    last: str
    job_title: str
    role: str  # owner, admin, member, viewer
    hourly_rate: int  # euros, for the cost of logged time

    @property
    def email_local(self) -> str:
        return self.first.lower()


@dataclass(frozen=True, slots=True)
class TeamSpec:
    key: str
    name: str
    parent: str | None
    capacity: str  # person-days per week, a Decimal string
    lead: str  # first name of the lead
    members: tuple[str, ...]  # first names (the lead included)


@dataclass(frozen=True, slots=True)
class KRSpec:
    key: str
    title: str
    kind: str  # increase, decrease, maintain, binary, milestones
    start: str  # Decimal strings
    target: str
    owner: str  # first name
    story: Story = Story.ON_TRACK
    unit: str = ""
    decimals: int = 0
    curve: str = "linear"
    weight: str = "1"
    due: int | None = None  # offset from the cycle start; None = the cycle's end
    direction: str = "at_least"
    confidence: int | None = None  # the latest confidence, when it should disagree
    final: float | None = None  # closed cycle: the progress reached at the end
    carried_from: str | None = None  # "objective/kr" in the previous cycle
    note: str = ""  # the latest check-in's note
    description: str = ""
    target_was: str | None = None  # created with this target, changed since (audited)


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    key: str
    title: str
    owner: str  # first name
    team: str | None  # team key; None = company level
    parents: tuple[tuple[str, str], ...] = ()  # (objective key or "objective/kr", link weight)
    krs: tuple[KRSpec, ...] = ()
    visibility: str = "organization"
    state: str = "active"
    description: str = ""
    weight: str = "1"
    title_was: str = ""  # created with this title, re-worded since (audited)
    # Reflection at close (closed cycle only).
    went_well: str = ""
    went_badly: str = ""
    change_next: str = ""


@dataclass(frozen=True, slots=True)
class RetroSpec:
    """A key result's retrospective beyond its computed score: override and lessons."""

    kr: str  # "objective/kr"
    lessons: str
    grade_override: str = ""
    reason_code: str = ""


@dataclass(frozen=True, slots=True)
class InitiativeSpec:
    key: str
    title: str
    team: str
    owner: str
    status: str
    start: int
    end: int
    effort: str  # person-days
    links: tuple[tuple[str, str], ...] = ()  # ("objective/kr", weight)
    work: str = "eng"  # which bank of task titles
    budget: str | None = None
    description: str = ""
    hypothesis: str = ""
    estimated_cost: str | None = None
    estimated_effort: str | None = None
    delivered: str = ""
    outcome: str = ""
    hours_factor: float = 1.0  # logged hours relative to the estimates
    external_cost: str = "0"  # spend beyond logged time (agencies, licences)
    expected_impacts: tuple[str, ...] = ()  # one per link, same order
    end_was: int | None = None  # planned to end on this day at first, moved since (audited)


@dataclass(frozen=True, slots=True)
class MilestoneSpec:
    key: str
    name: str
    day: int
    initiative: str | None = None
    kr: str | None = None  # "objective/kr" of a milestones key result
    weight: str = "1"
    done: int | None = None  # day it was done


@dataclass(frozen=True, slots=True)
class DependencySpec:
    predecessor: str  # initiative or milestone key
    successor: str
    type: str = "FS"
    lag: int = 0
