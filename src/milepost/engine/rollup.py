"""Objective roll-up: alignment order, ancestors, and objective progress and status.

Alignment: an objective contributes to parent objectives or parent key results, each link
with a weight. Seen as a graph of objectives (a link to a key result is an edge to that key
result's objective), it must be acyclic; a loop raises `AlignmentCycleError` naming every
objective in it, in the order "A aligns to B aligns to ... aligns to A".

Objective progress is a weighted mean (weights normalised over its inputs) of:

- ``key_results`` mode (the default): its key results' clamped progress, by key-result weight;
  alignment does not change progress.
- ``both`` mode: its key results, by key-result weight, plus the objectives aligned directly
  to it, by link weight. An objective aligned to one of its key results counts inside that key
  result's slot, not as a separate input: the slot's value is
  ``(kr progress * 1 + sum(link weight * child progress)) / (1 + sum(link weights))`` and the
  slot keeps the key result's weight. The key result's own progress is unchanged.
- ``children`` mode: the objectives aligned to it (directly or through any of its key
  results), by link weight; an objective with no aligned objectives uses its key results.

Cancelled objectives do not count in their parents' roll-up. Expected progress rolls up the
same way. Status is the worst status of the inputs (``worst`` setting) or comes from the
objective's own gap (``gap`` setting; ``not_started`` while every input is). An objective with
no inputs has progress 0 and status ``not_started``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from milepost.engine.errors import AlignmentCycleError
from milepost.engine.explain import Explanation, LazyExplanation, Term, lazy_explanation
from milepost.engine.model import (
    EngineSettings,
    KeyResultInput,
    ObjectiveInput,
    ObjectiveState,
    ObjectiveStatusMode,
    RollupMode,
    Status,
)
from milepost.engine.progress import ONE, P0, ZERO, q4
from milepost.engine.results import KeyResultResult, ObjectiveResult
from milepost.engine.status import (
    STATUS_SEVERITY,
    explain_status,
    status_from_gap,
    worst_status,
)

_Weighted = tuple[str, Decimal]  # (key, weight)


@dataclass(frozen=True, slots=True)
class AlignmentGraph:
    """The alignment of a set of objectives, indexed once (see `build_alignment`).

    Pass it to `rollup_objectives` and `ancestors` to avoid re-indexing on every call, for
    example when recomputing after each check-in.
    """

    order: tuple[str, ...]  # children first
    position: Mapping[str, int]  # index in `order`
    objectives: Mapping[str, ObjectiveInput]
    key_results_of: Mapping[str, tuple[_Weighted, ...]]  # objective -> (kr key, kr weight)
    parents: Mapping[str, tuple[str, ...]]  # objective -> distinct parent objectives
    children: Mapping[str, tuple[_Weighted, ...]]  # objective -> (child, link weight), direct
    kr_children: Mapping[str, tuple[_Weighted, ...]]  # kr key -> (child, link weight)


def _kr_owner(
    kr_key: str, kr_objective: Mapping[str, str] | None, objectives: Mapping[str, ObjectiveInput]
) -> str | None:
    if kr_objective is not None:
        return kr_objective.get(kr_key)
    # Without the key results, a key result's key is "<objective_key>/<kr_key>".
    owner = kr_key.rpartition("/")[0]
    return owner if owner in objectives else None


def build_alignment(
    objectives: Sequence[ObjectiveInput], key_results: Sequence[KeyResultInput] | None = None
) -> AlignmentGraph:
    """Index the alignment of ``objectives`` and order it children first.

    Links to objectives or key results that are not in the inputs are ignored. A link that
    names both a parent objective and a parent key result counts as a link to the key result.
    Without ``key_results``, a key-result link resolves to the objective named by the part of
    its key before the last ``/``. Raises `AlignmentCycleError` if alignment has a loop.
    """
    by_key = {o.key: o for o in objectives}
    kr_objective: dict[str, str] | None = None
    key_results_of: dict[str, list[_Weighted]] = {}
    if key_results is not None:
        listed = key_results_of.get
        for kr in key_results:
            owner = kr.objective_key
            found = listed(owner)
            if found is not None:
                found.append((kr.key, kr.weight))
            elif owner in by_key:
                key_results_of[owner] = [(kr.key, kr.weight)]
    parents: dict[str, list[str]] = {}
    children_all: dict[str, list[str]] = {}
    children: dict[str, list[_Weighted]] = {}
    kr_children: dict[str, list[_Weighted]] = {}
    for child in by_key.values():
        links = child.aligns_to
        if not links:
            continue
        ps: list[str] = []
        for link in links:
            if link.parent_key_result is not None:
                if kr_objective is None and key_results is not None:
                    # Only links to key results need to know each key result's objective.
                    kr_objective = {
                        kr.key: kr.objective_key for kr in key_results if kr.objective_key in by_key
                    }
                parent = _kr_owner(link.parent_key_result, kr_objective, by_key)
                if parent is None:
                    continue
                kr_children.setdefault(link.parent_key_result, []).append((child.key, link.weight))
            elif link.parent_objective is not None and link.parent_objective in by_key:
                parent = link.parent_objective
                children.setdefault(parent, []).append((child.key, link.weight))
            else:
                continue
            if parent not in ps:
                ps.append(parent)
                children_all.setdefault(parent, []).append(child.key)
        if ps:
            parents[child.key] = ps

    pending = {k: len(children_all.get(k, ())) for k in by_key}
    queue = deque(k for k, n in pending.items() if n == 0)
    order: list[str] = []
    while queue:
        key = queue.popleft()
        order.append(key)
        for parent in parents.get(key, ()):
            pending[parent] -= 1
            if pending[parent] == 0:
                queue.append(parent)
    if len(order) < len(by_key):
        raise AlignmentCycleError(_find_loop(pending, children_all))
    return AlignmentGraph(
        order=tuple(order),
        position={k: i for i, k in enumerate(order)},
        objectives=by_key,
        key_results_of={k: tuple(v) for k, v in key_results_of.items()},
        parents={k: tuple(v) for k, v in parents.items()},
        children={k: tuple(v) for k, v in children.items()},
        kr_children={k: tuple(v) for k, v in kr_children.items()},
    )


def _find_loop(pending: Mapping[str, int], children_all: Mapping[str, list[str]]) -> list[str]:
    """One loop among the objectives left unordered, as "each aligns to the next"."""
    # Every unordered objective still waits for an unordered child, so walking from child
    # to child among them must come back to an objective already on the path.
    stuck = [k for k, n in pending.items() if n > 0]
    left = set(stuck)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = stuck[0]
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(c for c in children_all[node] if c in left)
    loop = path[seen[node] :]
    loop.reverse()  # walked parent -> child; report child -> parent
    first = min(range(len(loop)), key=lambda i: stuck.index(loop[i]))
    return loop[first:] + loop[:first]


def alignment_order(
    objectives: Sequence[ObjectiveInput], key_results: Sequence[KeyResultInput]
) -> list[str]:
    """Objective keys in topological order, children before the objectives they align to.

    Raises `AlignmentCycleError` naming every objective of a loop.
    """
    return list(build_alignment(objectives, key_results).order)


def ancestors(
    objective_key: str,
    objectives: Sequence[ObjectiveInput] | AlignmentGraph,
    key_results: Sequence[KeyResultInput] | None = None,
) -> list[str]:
    """Every objective reachable upward from ``objective_key`` (not itself), children first.

    Upward means through alignment links, a link to a key result leading to that key
    result's objective. After a check-in, recompute the key result's objective and these.
    """
    graph = (
        objectives
        if isinstance(objectives, AlignmentGraph)
        else build_alignment(objectives, key_results)
    )
    found: set[str] = set()
    queue = deque(graph.parents.get(objective_key, ()))
    while queue:
        key = queue.popleft()
        if key not in found:
            found.add(key)
            queue.extend(graph.parents.get(key, ()))
    found.discard(objective_key)
    return sorted(found, key=graph.position.__getitem__)


# One input of an objective's roll-up, kept as a plain tuple (built tens of thousands of
# times per roll-up): (label, key, weight, progress, expected, status, contributions, via).
# ``contributions`` lists (child, link weight, child progress) blended into a key result's
# slot; ``via`` names the key result an aligned objective is linked through.
_Row = tuple[
    str, str, Decimal, Decimal, Decimal, Status, tuple[tuple[str, Decimal, Decimal], ...], str
]
_KR = "key result"
_OBJ = "objective"


def rollup_objectives(
    objectives: Sequence[ObjectiveInput],
    key_results: Sequence[KeyResultInput],
    kr_results: Mapping[str, KeyResultResult],
    settings: EngineSettings,
    as_of: date,
    only: set[str] | None = None,
    previous: Mapping[str, ObjectiveResult] | None = None,
    *,
    graph: AlignmentGraph | None = None,
) -> dict[str, ObjectiveResult]:
    """Progress, expected progress and status of objectives, children first.

    Without ``only``, every objective is computed. With ``only``, just those objectives are
    recomputed (children first) and the result is ``previous`` updated with them; an aligned
    objective missing from ``previous`` is computed on the way. ``kr_results`` must hold the
    result of every key result of each recomputed objective (a missing one is a ValueError).
    ``graph`` (from `build_alignment` on the same objectives and key results) skips indexing.
    Raises `AlignmentCycleError` if alignment has a loop.
    """
    g = graph if graph is not None else build_alignment(objectives, key_results)
    results: dict[str, ObjectiveResult]
    if only is None:
        results = {}
        targets: Iterable[str] = g.order
    else:
        results = dict(previous) if previous is not None else {}
        targets = sorted((k for k in only if k in g.position), key=g.position.__getitem__)
    mode = settings.rollup
    kr_of = g.key_results_of
    children_of = g.children
    kr_children = g.kr_children
    objectives_by_key = g.objectives
    cancelled = ObjectiveState.CANCELLED
    no_parts: tuple[tuple[str, Decimal, Decimal], ...] = ()

    def kr_result(kr_key: str) -> KeyResultResult:
        r = kr_results.get(kr_key)
        if r is None:
            raise ValueError(f"no key-result result for {kr_key}")
        return r

    def child_result(key: str) -> ObjectiveResult:
        found = results.get(key)
        if found is None:
            found = results[key] = compute(key)
        return found

    def contributions(kr_key: str) -> list[tuple[str, Decimal, ObjectiveResult]]:
        return [
            (c, w, child_result(c))
            for c, w in kr_children.get(kr_key, ())
            if objectives_by_key[c].state is not cancelled
        ]

    def blended_row(kr_key: str, weight: Decimal) -> _Row:
        r = kr_result(kr_key)
        parts = contributions(kr_key) if kr_key in kr_children else []
        if not parts:
            return (_KR, kr_key, weight, r.progress, r.expected, r.status, no_parts, "")
        total = ONE + sum((w for _, w, _ in parts), ZERO)
        p = (r.progress + sum((w * c.progress for _, w, c in parts), ZERO)) / total
        e = (r.expected + sum((w * c.expected for _, w, c in parts), ZERO)) / total
        return (
            _KR,
            kr_key,
            weight,
            q4(p),
            q4(e),
            worst_status([r.status, *(c.status for _, _, c in parts)]),
            tuple((k, w, c.progress) for k, w, c in parts),
            "",
        )

    def compute(key: str) -> ObjectiveResult:
        krs = kr_of.get(key, ())
        notes: list[str] = []
        rows: list[_Row]
        if mode is RollupMode.KEY_RESULTS:
            if krs:
                return _key_results_objective(key, krs, kr_results, settings, as_of)
            return _objective_result(key, [], notes, settings, as_of, mode)
        direct: list[_Row] = [
            (_OBJ, c, w, r.progress, r.expected, r.status, no_parts, "")
            for c, w in children_of.get(key, ())
            if objectives_by_key[c].state is not cancelled
            for r in (child_result(c),)
        ]
        if mode is RollupMode.BOTH:
            rows = [blended_row(k, w) for k, w in krs]
            rows += direct
        else:
            via_kr: list[_Row] = [
                (_OBJ, c, w, r.progress, r.expected, r.status, no_parts, k)
                for k, _ in krs
                for c, w, r in contributions(k)
            ]
            if direct or via_kr:
                rows = direct + via_kr
            else:
                rows = [blended_row(k, w) for k, w in krs]  # nothing aligned: nothing to blend
                if krs:
                    notes.append("no aligned objectives: rolls up its key results")
        excluded = [
            c for c, _ in children_of.get(key, ()) if objectives_by_key[c].state is cancelled
        ] + [
            c
            for k, _ in krs
            for c, _ in kr_children.get(k, ())
            if objectives_by_key[c].state is cancelled
        ]
        if excluded:
            notes.append("cancelled objectives not counted: " + ", ".join(excluded))
        return _objective_result(key, rows, notes, settings, as_of, mode)

    for key in targets:
        results[key] = compute(key)
    return results


_STATUS_RANK = {s: i for i, s in enumerate(STATUS_SEVERITY)}


def _key_results_objective(
    key: str,
    krs: tuple[_Weighted, ...],
    kr_results: Mapping[str, KeyResultResult],
    settings: EngineSettings,
    as_of: date,
) -> ObjectiveResult:
    """`_objective_result` for an objective rolling up its (one or more) key results only.

    The hot path of the default roll-up mode: the sums, status and result are computed in
    one pass over the key results' results, and the explanation rows are built only if read.
    """
    results: list[KeyResultResult] = []
    append = results.append
    get = kr_results.get
    rank = _STATUS_RANK
    total = p_sum = e_sum = ZERO
    best = len(rank)
    for k, w in krs:
        r = get(k)
        if r is None:
            raise ValueError(f"no key-result result for {k}")
        append(r)
        total += w
        p_sum += w * r.progress
        e_sum += w * r.expected
        i = rank[r.status]
        if i < best:
            best = i
    if not total:  # every weight is zero: the general path counts the inputs equally
        return _objective_result(
            key, _key_result_rows(krs, results), [], settings, as_of, RollupMode.KEY_RESULTS
        )
    progress = q4(p_sum / total)
    expected = q4(e_sum / total)
    if settings.objective_status is ObjectiveStatusMode.GAP:
        if best == rank[Status.NOT_STARTED] and all(
            r.status is Status.NOT_STARTED for r in results
        ):
            status = Status.NOT_STARTED
        else:
            status = status_from_gap(progress, expected, settings)
    else:
        status = STATUS_SEVERITY[best]
    return ObjectiveResult.fast(
        key,
        progress,
        expected,
        status,
        lazy_explanation(
            _explain_key_results_objective,
            key,
            krs,
            tuple(results),
            settings,
            as_of,
            progress,
            expected,
            status,
            total,
        ),
    )


def _key_result_rows(krs: tuple[_Weighted, ...], results: Sequence[KeyResultResult]) -> list[_Row]:
    no_parts: tuple[tuple[str, Decimal, Decimal], ...] = ()
    return [
        (_KR, k, w, r.progress, r.expected, r.status, no_parts, "")
        for (k, w), r in zip(krs, results, strict=True)
    ]


def _explain_key_results_objective(
    key: str,
    krs: tuple[_Weighted, ...],
    results: tuple[KeyResultResult, ...],
    settings: EngineSettings,
    as_of: date,
    progress: Decimal,
    expected: Decimal,
    status: Status,
    total: Decimal,
) -> Explanation:
    return _explain_objective(
        key,
        _key_result_rows(krs, results),
        [],
        settings,
        as_of,
        RollupMode.KEY_RESULTS,
        progress,
        expected,
        status,
        total,
        False,
    )


def _objective_result(
    key: str,
    rows: list[_Row],
    notes: list[str],
    settings: EngineSettings,
    as_of: date,
    mode: RollupMode,
) -> ObjectiveResult:
    if not rows:
        return ObjectiveResult(
            key,
            P0,
            P0,
            Status.NOT_STARTED,
            LazyExplanation(_explain_empty, key, mode, notes),
        )
    total = ZERO
    p_sum = ZERO
    e_sum = ZERO
    for row in rows:
        w = row[2]
        total += w
        p_sum += w * row[3]
        e_sum += w * row[4]
    equal = not total
    if equal:
        # Every weight is zero: nothing to prefer, so count the inputs equally.
        n = Decimal(len(rows))
        progress = q4(sum((row[3] for row in rows), ZERO) / n)
        expected = q4(sum((row[4] for row in rows), ZERO) / n)
    else:
        progress = q4(p_sum / total)
        expected = q4(e_sum / total)
    if settings.objective_status is ObjectiveStatusMode.GAP:
        if all(row[5] is Status.NOT_STARTED for row in rows):
            status = Status.NOT_STARTED
        else:
            status = status_from_gap(progress, expected, settings)
    else:
        status = worst_status([row[5] for row in rows])

    explanation = lazy_explanation(
        _explain_objective,
        key,
        rows,
        notes,
        settings,
        as_of,
        mode,
        progress,
        expected,
        status,
        total,
        equal,
    )
    return ObjectiveResult.fast(key, progress, expected, status, explanation)


def _explain_empty(key: str, mode: RollupMode, notes: list[str]) -> Explanation:
    return Explanation(
        f"objective.{mode.value}",
        f"{key}: no key results or aligned objectives: progress 0, not started",
        (),
        tuple(notes),
    )


def _explain_objective(
    key: str,
    rows: list[_Row],
    notes: list[str],
    settings: EngineSettings,
    as_of: date,
    mode: RollupMode,
    progress: Decimal,
    expected: Decimal,
    status: Status,
    total: Decimal,
    equal: bool,
) -> Explanation:
    terms: list[Term] = []
    for label, k, weight, p, e, st, parts, via in rows:
        share = (Decimal(1) / len(rows) if equal else weight / total) * 100
        detail = (
            f"weight {weight} ({share.quantize(Decimal('0.1'))}%), expected {e}, "
            f"{st.value.replace('_', ' ')}"
        )
        if parts:
            listed = ", ".join(f"{c} (link weight {w}, progress {v})" for c, w, v in parts)
            detail += f"; its own progress (weight 1) blended with aligned objectives: {listed}"
        if via:
            detail += f"; aligned through key result {via}"
        terms.append(Term(f"{label} {k}", str(p), detail))
    extra = list(notes)
    if equal:
        extra.append("every weight is zero: inputs counted equally")
    if settings.objective_status is ObjectiveStatusMode.GAP:
        rule_status = explain_status(status, progress, expected, as_of, None, settings)
        extra.append(f"status from the objective's own gap: {rule_status.summary}")
        status_text = f"{status.value.replace('_', ' ')} (own gap)"
    else:
        status_text = f"{status.value.replace('_', ' ')} (worst of its inputs)"
    if equal:
        summary = f"mean of {len(rows)} inputs = {progress}"
    else:
        formula = " + ".join(f"{row[2]} * {row[3]}" for row in rows)
        weights = " + ".join(str(row[2]) for row in rows)
        summary = f"({formula}) / ({weights}) = {progress}"
    return Explanation(
        f"objective.{mode.value}",
        f"{key}: {summary}; expected {expected}; {status_text}",
        (*terms, Term("progress", str(progress)), Term("expected", str(expected))),
        tuple(extra),
    )
