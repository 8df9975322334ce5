"""Explanations: how an engine number was computed, from which inputs.

Every result the engine returns carries an `Explanation` so the web app can answer
"why 47%?", the API can return it, and the CLI can print it. It is plain data: a rule name,
a one-line summary a manager understands, and the terms that went into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Term:
    """One input of a computation: what it is, its value, and (optionally) its weight/effect."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: str  # stable identifier of the rule applied, e.g. "progress.increase"
    summary: str  # one sentence, e.g. "(1400 − 1200) / (2500 − 1200) = 0.1538"
    terms: tuple[Term, ...] = ()
    notes: tuple[str, ...] = field(default=())  # clamps, fallbacks, caveats

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "summary": self.summary,
            "terms": [
                {"label": t.label, "value": t.value, "detail": t.detail} for t in self.terms
            ],
            "notes": list(self.notes),
        }

    def as_text(self) -> str:
        lines = [self.summary]
        lines += [f"  - {t.label}: {t.value}" + (f" ({t.detail})" if t.detail else "")
                  for t in self.terms]
        lines += [f"  * {n}" for n in self.notes]
        return "\n".join(lines)
