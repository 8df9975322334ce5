"""Priority: which initiatives serve the outcomes that need help most, per day of effort.

An initiative's score is::

    score = sum over its key-result links of (weight x gap x risk x urgency) / effort

* ``weight``: the link's weight (the initiative's expected contribution to the key result).
* ``gap``: what is left to achieve, ``1 - progress`` with progress clamped to [0, 1].
* ``risk``: from the key result's status, times a confidence factor::

      off_track 1.0   at_risk 0.7   not_started 0.5   on_track 0.4   done 0

      confidence factor = 1.5 - confidence / 10   (0 -> 1.5, 5 -> 1.0, 10 -> 0.5; 1 if none)

* ``urgency``: from the days left until the key result is due (as of the date),
  ``30 / (30 + days left)``: 1 when due today or overdue, 0.5 a month ahead, 0.25 three
  months ahead.
* ``effort``: the initiative's effort in person-days; an effort of 0 (not estimated) counts
  as 1 day, so unestimated work is not ranked infinitely high.

Links to a key result whose objective is closed or cancelled add 0. The ranking puts open,
aligned initiatives first (highest score first, then by key), then open initiatives linked
to no key result (``aligned`` false: work that serves no outcome ranks last), then done and
cancelled initiatives, which have nothing left to prioritise (score 0). Every result explains
its score term by term.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from decimal import Decimal

from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.explain import Explanation, LazyExplanation, Term
from milepost.engine.model import InitiativeInput, InitiativeStatus, ObjectiveState, Plan, Status
from milepost.engine.results import KeyResultResult, OkrReport, PriorityResult

RISK_BY_STATUS: dict[Status, Decimal] = {
    Status.OFF_TRACK: Decimal("1.0"),
    Status.AT_RISK: Decimal("0.7"),
    Status.NOT_STARTED: Decimal("0.5"),
    Status.ON_TRACK: Decimal("0.4"),
    Status.DONE: Decimal(0),
}

#: Days ahead at which urgency has halved.
URGENCY_HALF_DAYS = 30

_SCORE = Decimal("0.000001")
_SHOW = Decimal("0.0001")
_ONE = Decimal(1)
_ZERO = Decimal(0)
_ONE_AND_A_HALF = Decimal("1.5")


def risk_factor(status: Status, confidence: int | None) -> tuple[Decimal, Decimal]:
    """(base risk from the status, confidence factor); risk is their product."""
    base = RISK_BY_STATUS[status]
    factor = _ONE if confidence is None else _ONE_AND_A_HALF - Decimal(confidence) / 10
    return base, factor


def urgency(days_left: int) -> Decimal:
    """``30 / (30 + days left)``, 1 when due today or overdue."""
    return Decimal(URGENCY_HALF_DAYS) / (URGENCY_HALF_DAYS + max(0, days_left))


def _fmt(value: Decimal) -> str:
    return str(value.quantize(_SHOW))


_UNALIGNED = Explanation(
    rule="priority.unaligned",
    summary="Linked to no key result: it serves no outcome, so it ranks last.",
)
_CLOSED = {
    status: Explanation(
        rule="priority.closed",
        summary=f"{status.value.capitalize()}: nothing left to prioritise, so it ranks after "
        "open work.",
    )
    for status in (InitiativeStatus.DONE, InitiativeStatus.CANCELLED)
}

# One scored link, kept as plain values until someone reads the explanation:
# (kr key, kr title, weight, progress, gap, status, confidence, base risk, confidence factor,
#  urgency, days left, due, part); just the kr key for a key result of a closed objective.
_Link = tuple[
    str,
    str,
    Decimal,
    Decimal,
    Decimal,
    Status,
    int | None,
    Decimal,
    Decimal,
    Decimal,
    int,
    date,
    Decimal,
]


def _explain_score(
    links: tuple[_Link | str, ...],
    notes: tuple[str, ...],
    divisor: Decimal,
    score: Decimal,
) -> Explanation:
    terms: list[Term] = []
    parts: list[str] = []
    for link in links:
        if isinstance(link, str):
            terms.append(Term(link, "0", "its objective is closed, cancelled or missing"))
            continue
        (
            key,
            title,
            weight,
            progress,
            gap,
            status,
            confidence,
            base,
            factor,
            urgent,
            days_left,
            due,
            part,
        ) = link
        parts.append(_fmt(part))
        trust = f", confidence {confidence} -> x{_fmt(factor)}" if confidence is not None else ""
        when = f"{days_left} days left" if days_left > 0 else "due now or overdue"
        terms.append(
            Term(
                key,
                _fmt(part),
                f"weight {_fmt(weight)} x gap {_fmt(gap)} (progress {_fmt(progress)}) "
                f"x risk {_fmt(base * factor)} ({status.value}{trust}) "
                f"x urgency {_fmt(urgent)} ({when}; due {due.isoformat()}) "
                f'- "{title}"',
            )
        )
    terms.append(Term("effort", f"{_fmt(divisor)} person-days"))
    shown = " + ".join(parts) or "0"
    return Explanation(
        rule="priority.score",
        summary=f"sum(weight x gap x risk x urgency) / effort = ({shown}) / {_fmt(divisor)} "
        f"= {score}",
        terms=tuple(terms),
        notes=notes,
    )


# What one key result brings to every link to it (computed once per key result):
# (progress, gap, status, confidence, base risk, confidence factor, urgency, days left).
_KrTerms = tuple[Decimal, Decimal, Status, int | None, Decimal, Decimal, Decimal, int]


def _kr_terms(result: KeyResultResult, due: date, as_of: date) -> _KrTerms:
    progress = min(_ONE, max(_ZERO, result.progress))
    base, factor = risk_factor(result.status, result.confidence)
    days_left = (due - as_of).days
    return (
        progress,
        _ONE - progress,
        result.status,
        result.confidence,
        base,
        factor,
        urgency(days_left),
        days_left,
    )


def _group(initiative: InitiativeInput, aligned: bool) -> int:
    """What orders the ranking before the score: open initiatives that serve a key result
    (0), then open ones that serve none (1), then closed ones (2)."""
    if initiative.status in _CLOSED:
        return 2
    return 0 if aligned else 1


def _score(
    initiative: InitiativeInput,
    as_of: date,
    okr: OkrReport,
    key_results: dict[str, tuple[str, date, bool]],
    terms: dict[str, _KrTerms],
) -> tuple[Decimal, bool, Explanation]:
    """(score, aligned, explanation) of one initiative.

    ``terms`` caches `_kr_terms` by key result across the initiatives of one ranking.
    """
    links = [link for link in initiative.key_results if link.key_result in key_results]
    if initiative.status in _CLOSED:
        return _ZERO, bool(links), _CLOSED[initiative.status]
    if not links:
        return _ZERO, False, _UNALIGNED
    rows: list[_Link | str] = []
    notes: list[str] = []
    total = _ZERO
    for link in links:
        kr_key = link.key_result
        title, due, open_objective = key_results[kr_key]
        if not open_objective:
            rows.append(kr_key)
            continue
        known = terms.get(kr_key)
        if known is None:
            result = okr.key_results.get(kr_key)
            if result is None:
                notes.append(f"{kr_key} was not evaluated, so it adds 0")
                continue
            known = terms[kr_key] = _kr_terms(result, due, as_of)
        progress, gap, status, confidence, base, factor, urgent, days_left = known
        # The same order of operations as the formula reads (Decimal rounds each step).
        part = link.weight * gap * base * factor * urgent
        total += part
        rows.append(
            (
                kr_key,
                title,
                link.weight,
                progress,
                gap,
                status,
                confidence,
                base,
                factor,
                urgent,
                days_left,
                due,
                part,
            )
        )
    effort = initiative.effort_days
    divisor = effort if effort > 0 else _ONE
    if effort <= 0:
        notes.append("effort not estimated: counted as 1 person-day")
    score = (total / divisor).quantize(_SCORE)
    explanation = LazyExplanation(_explain_score, tuple(rows), tuple(notes), divisor, score)
    return score, True, explanation


def rank_initiatives(
    plan: Plan,
    as_of: date,
    okr: OkrReport,
    *,
    same_but_checkins: Iterable[PriorityResult] | None = None,
    changed: Collection[str] | None = None,
) -> list[PriorityResult]:
    """Every initiative of the plan, ranked (rank 1 first) by the rule in the module docstring.

    ``okr`` is the plan's OKR evaluation at ``as_of``; its key results' progress, status and
    confidence feed the score. Ties keep key order, so the ranking is deterministic.

    ``same_but_checkins`` and ``changed``: the ranking, as of the same date, of a plan that
    differs from ``plan`` only in the check-ins of the key results ``changed`` (keys). Only
    the initiatives linked to one of those are scored again; the others keep their scores
    and everything is ranked anew.
    """
    with cyclic_gc_paused():  # a result and an explanation per initiative, no cycles
        kept = (
            {p.key: p for p in same_but_checkins}
            if same_but_checkins is not None and changed is not None
            else None
        )
        return _rank_initiatives(plan, as_of, okr, kept, changed or ())


def _rank_initiatives(
    plan: Plan,
    as_of: date,
    okr: OkrReport,
    kept: dict[str, PriorityResult] | None,
    changed: Collection[str],
) -> list[PriorityResult]:
    objectives = {o.key: o.state for o in plan.objectives}
    open_states = (ObjectiveState.DRAFT, ObjectiveState.ACTIVE)
    key_results = {
        kr.key: (kr.title, kr.due, objectives.get(kr.objective_key) in open_states)
        for kr in plan.key_results
    }
    terms: dict[str, _KrTerms] = {}
    scored: list[tuple[int, Decimal, str, bool, Explanation]] = []
    for initiative in plan.initiatives:
        prior = kept.get(initiative.key) if kept is not None else None
        if prior is not None and not any(
            link.key_result in changed for link in initiative.key_results
        ):
            # The same links, statuses and numbers: the same score.
            score, aligned, explanation = prior.score, prior.aligned, prior.explanation
        else:
            score, aligned, explanation = _score(initiative, as_of, okr, key_results, terms)
        scored.append((_group(initiative, aligned), score, initiative.key, aligned, explanation))
    scored.sort(key=lambda item: (item[0], -item[1], item[2]))
    return [
        PriorityResult(key=key, rank=rank, score=score, aligned=aligned, explanation=explanation)
        for rank, (_, score, key, aligned, explanation) in enumerate(scored, start=1)
    ]
