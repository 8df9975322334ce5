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
