"""What a plan file holds once read: the engine's `Plan` plus the text the engine does not use.

A `PlanDocument` is the full-fidelity result of reading a plan file. Its `plan` feeds the
engine (`milepost.engine`); the other fields keep what a plan file may say that the engine
never reads (descriptions, check-in notes, task details) so that importing a file into the
database and exporting it again loses nothing. Pure Python: no Django, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from milepost.engine.model import Plan

# A path to a value inside a plan file: mapping keys and list indexes, outermost first.
IssuePath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TaskStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task listed under an initiative in a plan file."""

    key: str  # unique within its initiative
    title: str
    status: TaskStatus = TaskStatus.TODO
    estimate_hours: Decimal | None = None
    assignee: str | None = None
    due: date | None = None


def task_counts(tasks: tuple[TaskSpec, ...]) -> tuple[int, int]:
    """(total, done) for an initiative's tasks; cancelled tasks count in neither.

    This is how a plan file's `tasks` list fills `InitiativeInput.tasks_total/tasks_done`;
    code that builds a `PlanDocument` from elsewhere should use it too so the two agree.
    """
    total = sum(1 for t in tasks if t.status is not TaskStatus.CANCELLED)
    done = sum(1 for t in tasks if t.status is TaskStatus.DONE)
    return total, done


@dataclass(frozen=True, slots=True)
class PlanDocument:
    """A parsed plan file: the engine's plan and the text around it.

    - ``descriptions``: ``"objective:<key>"``, ``"kr:<objective>/<kr>"`` or
      ``"initiative:<key>"`` → description (only non-empty ones).
    - ``checkin_notes``: key-result key → one note per check-in, in the order of
      ``KeyResultInput.checkins`` (``""`` where a check-in has none); only key results with at
      least one note appear.
    - ``tasks``: initiative key → its tasks, for initiatives whose file lists them (an
      initiative may instead give bare ``tasks_total``/``tasks_done`` counts).
    - ``notes``: things the file says that are allowed but probably not what its author
      meant (a stepped curve with no milestone yet, a milestone counted by two key results);
      ``milepost plan check`` prints them as warnings. They never make a file invalid.
    """

    plan: Plan
    descriptions: dict[str, str] = field(default_factory=dict)
    checkin_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tasks: dict[str, tuple[TaskSpec, ...]] = field(default_factory=dict)
    # Derived from the rest (what a check says of it): not part of what the document is.
    notes: tuple[PlanIssue, ...] = field(default=(), compare=False)


def format_path(path: IssuePath) -> str:
    """A path as a reader writes it: ``objectives[2].key_results[0].target``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.match(part):
            out.append(f".{part}" if out else part)
        else:  # a key a reader could not otherwise tell apart ("foo bar", "a.b")
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out) or "(top level)"


@dataclass(frozen=True, slots=True)
class PlanIssue:
    """One thing wrong in a plan file, at a path inside it."""

    path: IssuePath
    message: str

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


class PlanFileError(Exception):
    """Base of the errors raised while reading a plan file."""


class PlanReadError(PlanFileError):
    """The input is not a plan file at all: missing, unreadable, not YAML/JSON, not a mapping."""


class PlanValidationError(PlanFileError):
    """The file is YAML/JSON but breaks the format; `issues` lists every problem found."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        head = f"{count} error{'s' if count != 1 else ''} in the plan file"
        super().__init__("\n".join([head, *(str(i) for i in self.issues)]))
