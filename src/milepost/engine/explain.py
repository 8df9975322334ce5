"""Explanations: how an engine number was computed, from which inputs.

Every result the engine returns carries an `Explanation` so the web app can answer
"why 47%?", the API can return it, and the CLI can print it. It is plain data: a rule name,
a one-line summary a manager understands, and the terms that went into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVarTuple

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class Term:
    """One input of a computation: what it is, its value, and (optionally) its weight/effect."""

    label: str
    value: str
    detail: str = ""

    # The generated __init__ of a frozen dataclass sets each field through
    # object.__setattr__; explanations build tens of thousands of terms, so the slots are set
    # directly (same parameters, same result).
    def __init__(self, label: str, value: str, detail: str = "") -> None:
        _set_term_label(self, label)
        _set_term_value(self, value)
        _set_term_detail(self, detail)


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: str  # stable identifier of the rule applied, e.g. "progress.increase"
    summary: str  # one sentence, e.g. "(1400 - 1200) / (2500 - 1200) = 0.1538"
    terms: tuple[Term, ...] = ()
    notes: tuple[str, ...] = field(default=())  # clamps, fallbacks, caveats

    def __init__(
        self, rule: str, summary: str, terms: tuple[Term, ...] = (), notes: tuple[str, ...] = ()
    ) -> None:
        # As Term: the slots set directly (same parameters, same result).
        _set_rule(self, rule)
        _set_summary(self, summary)
        _set_terms(self, terms)
        _set_notes(self, notes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "summary": self.summary,
            "terms": [{"label": t.label, "value": t.value, "detail": t.detail} for t in self.terms],
            "notes": list(self.notes),
        }

    def as_text(self) -> str:
        lines = [self.summary]
        lines += [
            f"  - {t.label}: {t.value}" + (f" ({t.detail})" if t.detail else "") for t in self.terms
        ]
        lines += [f"  * {n}" for n in self.notes]
        return "\n".join(lines)


_set_term_label = Term.__dict__["label"].__set__
_set_term_value = Term.__dict__["value"].__set__
_set_term_detail = Term.__dict__["detail"].__set__
_set_rule = Explanation.__dict__["rule"].__set__
_set_summary = Explanation.__dict__["summary"].__set__
_set_terms = Explanation.__dict__["terms"].__set__
_set_notes = Explanation.__dict__["notes"].__set__


class LazyExplanation(Explanation):
    """An `Explanation` whose text is built on first use, by ``factory(*args)``.

    The engine returns an explanation with every number; building the strings for tens of
    thousands of key results up front costs more than computing the numbers, and most of them
    are never shown. A lazy explanation keeps the factory and its arguments (one tuple, rather
    than a closure, to keep allocations low) and behaves exactly like the `Explanation` it
    builds: same attributes, equal to it, same hash, and it pickles as the plain `Explanation`.
    """

    __slots__ = ("_args", "_state")
    _state: Callable[..., Explanation] | Explanation
    _args: tuple[object, ...]

    def __init__(self, factory: Callable[[*Ts], Explanation], *args: *Ts) -> None:
        _set_state(self, factory)
        _set_args(self, args)

    def resolve(self) -> Explanation:
        """The plain `Explanation` (built once, then kept)."""
        state = self._state
        if isinstance(state, Explanation):
            return state
        built = state(*self._args)
        while isinstance(built, LazyExplanation):
            built = built.resolve()
        _set_state(self, built)
        _set_args(self, ())
        return built

    @property
    def rule(self) -> str:
        return self.resolve().rule

    @property
    def summary(self) -> str:
        return self.resolve().summary

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.resolve().terms

    @property
    def notes(self) -> tuple[str, ...]:
        return self.resolve().notes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyExplanation):
            other = other.resolve()
        return self.resolve() == other

    def __hash__(self) -> int:
        return hash(self.resolve())

    def __repr__(self) -> str:
        return repr(self.resolve())

    def __reduce__(self) -> tuple[Any, ...]:
        e = self.resolve()
        return (Explanation, (e.rule, e.summary, e.terms, e.notes))


# The slots of LazyExplanation, set directly (the frozen dataclass forbids plain assignment).
_slot: dict[str, Any] = dict(LazyExplanation.__dict__)
_set_state = _slot["_state"].__set__
_set_args = _slot["_args"].__set__
_new = object.__new__


def lazy_explanation[*Us](factory: Callable[[*Us], Explanation], *args: *Us) -> LazyExplanation:
    """``LazyExplanation(factory, *args)``, built without the constructor call's overhead.

    For the engine's hot loops, which build one explanation per key result and objective.
    """
    explanation: LazyExplanation = _new(LazyExplanation)
    _set_state(explanation, factory)
    _set_args(explanation, args)
    return explanation
