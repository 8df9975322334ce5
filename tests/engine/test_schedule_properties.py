"""Properties of the critical path method on random dependency graphs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.engine.errors import DependencyCycleError
from milepost.engine.model import InitiativeStatus, Plan
from milepost.engine.schedule import ArraySchedule, compute_schedule, critical_path_arrays
from tests.engine.roadmap_builders import dep, ini, jul, schedule_plan

TYPES = ("FS", "SS", "FF", "SF")


@dataclass(frozen=True)
class Graph:
    durations: list[int]
    releases: list[int]
    link_from: list[int]
    link_to: list[int]
    link_types: list[int]
    link_lags: list[int]

    def run(self) -> ArraySchedule:
        return critical_path_arrays(
            self.durations,
            self.releases,
            self.link_from,
            self.link_to,
            self.link_types,
            self.link_lags,
        )

    def offset(self, k: int) -> int:
        d_from, d_to = self.durations[self.link_from[k]], self.durations[self.link_to[k]]
        lag = self.link_lags[k]
        return (d_from + lag, lag, d_from + lag - d_to, lag - d_to)[self.link_types[k]]


@st.composite
def dags(draw: st.DrawFn, max_items: int = 14) -> Graph:
    """A random acyclic graph: links go from a lower to a higher rank, ranks shuffled."""
    n = draw(st.integers(1, max_items))
    rank = draw(st.permutations(range(n)))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            max_size=3 * n,
        )
    )
    link_from, link_to = [], []
    for a, b in pairs:
        low, high = (a, b) if rank[a] < rank[b] else (b, a)
        link_from.append(low)
        link_to.append(high)
    m = len(link_from)
    return Graph(
        durations=draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)),
        releases=draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)),
        link_from=link_from,
        link_to=link_to,
        link_types=draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)),
        link_lags=draw(st.lists(st.integers(-5, 5), min_size=m, max_size=m)),
    )


def longest_paths(graph: Graph) -> list[int]:
    """Earliest starts by brute force (Bellman-Ford style relaxation until nothing moves)."""
    earliest = list(graph.releases)
    for _ in range(len(earliest) + 1):
        changed = False
        for k in range(len(graph.link_from)):
            bound = earliest[graph.link_from[k]] + graph.offset(k)
            if bound > earliest[graph.link_to[k]]:
                earliest[graph.link_to[k]] = bound
                changed = True
        if not changed:
            break
    return earliest


@settings(max_examples=100, deadline=None)
@given(dags())
def test_earliest_starts_are_the_longest_paths(graph: Graph) -> None:
    assert graph.run().earliest_start == longest_paths(graph)


@settings(max_examples=100, deadline=None)
@given(dags())
def test_slack_is_never_negative_and_every_rule_holds(graph: Graph) -> None:
    result = graph.run()
    es, ls = result.earliest_start, result.latest_start
    for i, duration in enumerate(graph.durations):
        assert ls[i] >= es[i] >= graph.releases[i]
        assert ls[i] + duration <= result.project_finish
    for k in range(len(graph.link_from)):
        a, b = graph.link_from[k], graph.link_to[k]
        assert es[b] >= es[a] + graph.offset(k)
        assert ls[b] >= ls[a] + graph.offset(k)  # the latest dates are a schedule too


@settings(max_examples=100, deadline=None)
@given(dags(), st.data())
def test_adding_a_link_never_shortens_the_project(graph: Graph, data: st.DataObject) -> None:
    n = len(graph.durations)
    before = graph.run()
    position = {item: p for p, item in enumerate(before.order)}
    a = data.draw(st.integers(0, n - 1))
    b = data.draw(st.integers(0, n - 1))
    if position[a] > position[b]:
        a, b = b, a  # keep the graph acyclic: the new link follows a topological order
    if a == b:
        return
    bigger = Graph(
        graph.durations,
        graph.releases,
        [*graph.link_from, a],
        [*graph.link_to, b],
        [*graph.link_types, data.draw(st.integers(0, 3))],
        [*graph.link_lags, data.draw(st.integers(-5, 5))],
    )
    after = bigger.run()
    assert after.project_finish >= before.project_finish
    assert all(x >= y for x, y in zip(after.earliest_start, before.earliest_start, strict=True))


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    n = draw(st.integers(1, 10))
    keys = [f"i{i}" for i in range(n)]
    items = []
    for key in keys:
        start = draw(st.integers(1, 20))
        length = draw(st.integers(0, 9))
        dated = draw(st.booleans())
        items.append(
            ini(key, jul(start), jul(start + length), effort=3)
            if dated
            else ini(key, effort=draw(st.integers(0, 5)))
        )
    deps = []
    for _ in range(draw(st.integers(0, 2 * n)) if n > 1 else 0):
        a, b = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
        deps.append(dep(keys[a], keys[b], draw(st.sampled_from(TYPES)), draw(st.integers(-4, 4))))
    return schedule_plan(*items, deps=tuple(deps))


@settings(max_examples=100, deadline=None)
@given(plans())
def test_plan_schedule_properties(plan: Plan) -> None:
    schedule = compute_schedule(plan, anchor=jul(1))
    planned = {i.key: i.start for i in plan.initiatives}
    for key, item in schedule.items.items():
        assert item.slack_days >= 0
        assert item.critical == (item.slack_days == 0)
        assert item.latest_start >= item.earliest_start
        start = planned[key]
        if start is not None:
            assert item.earliest_start >= start  # planned dates are never moved earlier
        assert schedule.project_finish is not None
        assert item.latest_finish <= schedule.project_finish
    assert any(s.critical for s in schedule.items.values())
    assert schedule.critical_paths
    for path in schedule.critical_paths:
        assert all(schedule.items[k].critical for k in path)
        # Every listed path ends on the project finish.
        assert schedule.items[path[-1]].earliest_finish == schedule.project_finish


@settings(max_examples=100, deadline=None)
@given(plans(), st.data())
def test_a_loop_is_always_reported_with_its_items(plan: Plan, data: st.DataObject) -> None:
    keys = [i.key for i in plan.initiatives]
    # Close a loop: a chain back from the last key to the first.
    loop = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True))
    extra = [dep(a, b) for a, b in zip(loop, [*loop[1:], loop[0]], strict=True)]
    looped = schedule_plan(*plan.initiatives, deps=(*plan.dependencies, *extra))
    with pytest.raises(DependencyCycleError) as caught:
        compute_schedule(looped)
    nodes = caught.value.nodes
    links = {(d.predecessor, d.successor) for d in looped.dependencies}
    assert nodes
    assert all((a, b) in links for a, b in zip(nodes, [*nodes[1:], nodes[0]], strict=True))


def test_cancelled_work_in_a_loop_breaks_it() -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(2)),
        ini("b", jul(1), jul(2), status=InitiativeStatus.CANCELLED),
        deps=(dep("a", "b"), dep("b", "a")),
    )
    assert set(compute_schedule(plan).items) == {"a"}


# --- the optimised core against a straightforward reference -------------------------------


def reference_cpm(graph: Graph) -> tuple[list[int], list[int], int]:
    """Earliest and latest starts and the project finish, the textbook way: a topological
    order by repeatedly taking an item whose predecessors are all placed, a forward sweep
    pulling from predecessors, a backward sweep pulling from successors."""
    n = len(graph.durations)
    links = [
        (graph.link_from[k], graph.link_to[k], graph.offset(k)) for k in range(len(graph.link_from))
    ]
    order: list[int] = []
    placed: set[int] = set()
    while len(order) < n:
        ready = next(
            i
            for i in range(n)
            if i not in placed and all(a in placed for a, b, _ in links if b == i)
        )
        order.append(ready)
        placed.add(ready)
    earliest = [0] * n
    for i in order:
        earliest[i] = max(
            [graph.releases[i]] + [earliest[a] + offset for a, b, offset in links if b == i]
        )
    finish = max(e + d for e, d in zip(earliest, graph.durations, strict=True))
    latest = [0] * n
    for i in reversed(order):
        latest[i] = min(
            [finish - graph.durations[i]] + [latest[b] - offset for a, b, offset in links if a == i]
        )
    return earliest, latest, finish


@st.composite
def wide_dags(draw: st.DrawFn) -> Graph:
    """Like `dags`, with more items, long lags both ways and some links repeated."""
    graph = draw(dags(max_items=30))
    m = len(graph.link_from)
    repeats = draw(st.lists(st.integers(0, max(0, m - 1)), max_size=3)) if m else []
    return Graph(
        durations=draw(
            st.lists(
                st.integers(0, 60), min_size=len(graph.durations), max_size=len(graph.durations)
            )
        ),
        releases=draw(
            st.lists(
                st.integers(-100, 100),
                min_size=len(graph.releases),
                max_size=len(graph.releases),
            )
        ),
        link_from=graph.link_from + [graph.link_from[k] for k in repeats],
        link_to=graph.link_to + [graph.link_to[k] for k in repeats],
        link_types=graph.link_types + [draw(st.integers(0, 3)) for _ in repeats],
        link_lags=[draw(st.integers(-40, 40)) for _ in range(m + len(repeats))],
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(dags(), wide_dags()))
def test_the_optimised_core_equals_the_reference(graph: Graph) -> None:
    result = graph.run()
    earliest, latest, finish = reference_cpm(graph)
    assert result.earliest_start == earliest
    assert result.latest_start == latest
    assert result.project_finish == finish
    assert result.offsets == [graph.offset(k) for k in range(len(graph.link_from))]
    position = {item: p for p, item in enumerate(result.order)}
    assert sorted(position) == list(range(len(graph.durations)))
    assert all(
        position[a] < position[b] for a, b in zip(graph.link_from, graph.link_to, strict=True)
    )


@settings(max_examples=100, deadline=None)
@given(dags(), st.integers(1, 5))
def test_a_loop_anywhere_is_found_and_named(graph: Graph, length: int) -> None:
    n = len(graph.durations)
    loop = list(range(min(n, length)))
    back = list(zip(loop, [*loop[1:], loop[0]], strict=True))
    looped = Graph(
        graph.durations,
        graph.releases,
        graph.link_from + [a for a, _ in back],
        graph.link_to + [b for _, b in back],
        graph.link_types + [0] * len(back),
        graph.link_lags + [0] * len(back),
    )
    with pytest.raises(DependencyCycleError) as caught:
        looped.run()
    nodes = [int(x) for x in caught.value.nodes]
    links = set(zip(looped.link_from, looped.link_to, strict=True))
    assert nodes
    assert all((a, b) in links for a, b in zip(nodes, [*nodes[1:], nodes[0]], strict=True))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(-400, 400), st.integers(0, 50)),
        min_size=1,
        max_size=20,
    )
)
def test_shown_items_built_fast_equal_the_plain_construction(
    rows: list[tuple[int, int, int]],
) -> None:
    from milepost.engine.schedule import _scheduled_items, _scheduled_items_plainly

    origin = jul(1).toordinal()
    keys = [f"i{k}" for k in range(len(rows))]
    durations = [d for d, _, _ in rows]
    earliest = [origin + e + (1 if d == 0 else 0) for d, e, _ in rows]
    latest = [e + slack for e, (_, _, slack) in zip(earliest, rows, strict=True)]
    fast = _scheduled_items(keys, durations, earliest, latest)
    plain = _scheduled_items_plainly(keys, durations, earliest, latest)
    assert fast == plain
    assert list(fast) == list(plain)
