"""The schedule: dependencies, earliest/latest dates, slack and the critical path(s).

Items are the plan's initiatives (except cancelled ones) and milestones. Dependencies link
them finish-to-start, start-to-start, finish-to-finish or start-to-finish, with a lag in
days that may be negative.

How it is computed (the critical path method, linear in items plus links):

* Time is counted in whole days. An initiative planned from ``start`` to ``end`` (both days
  included) lasts ``end - start + 1`` days. A milestone lasts 0 days and happens at the end
  of its day, so work finishing on 10 July is followed by a milestone on 10 July, and work
  following that milestone starts on 11 July.
* Every dependency becomes one rule "the successor starts at least *c* days after the
  predecessor starts", with *c* from the type (d = duration): FS ``d_pred + lag``,
  SS ``lag``, FF ``d_pred + lag - d_succ``, SF ``lag - d_succ``.
* Forward sweep (in one topological order found by Kahn's algorithm): earliest start = the
  latest of the item's planned start and every predecessor's rule. Dates planned by people
  are kept as a lower bound, so the schedule shows where they are impossible (earliest
  start later than planned) and never moves work earlier than planned.
* Backward sweep: latest finish = the project finish (the last earliest finish), tightened
  by every successor's rule. ``slack = latest start - earliest start`` (never negative);
  an item with no slack is *critical*.
* Critical paths are the chains of critical items joined by *driving* dependencies (those
  that set the successor's earliest start), from an item that starts on its own planned
  date to one that finishes on the project finish.
* The sweeps walk the items renumbered in that topological order and the links listed by
  their predecessor's place, as compact arrays of machine integers (numpy builds them;
  the loops stay plain Python). Walking memory front to back is what makes 100,000 items
  and 300,000 links take a fifth of a second rather than half a second.
* A dependency loop makes a schedule impossible: `DependencyCycleError` names every item of
  one loop, in order; `dependency_loops` lists all of them.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from operator import add, not_, sub

import numpy as np
from numpy.typing import NDArray

from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.errors import DependencyCycleError
from milepost.engine.model import DependencyType, InitiativeStatus, Plan
from milepost.engine.results import Schedule, ScheduledItem

#: Integer codes of the dependency types, as `critical_path_arrays` takes them.
LINK_TYPE_CODES: dict[DependencyType, int] = {
    DependencyType.FS: 0,
    DependencyType.SS: 1,
    DependencyType.FF: 2,
    DependencyType.SF: 3,
}

#: At most this many critical paths are listed (a dense plan can have exponentially many).
MAX_CRITICAL_PATHS = 20

#: Widest span of days (about 270 years) for which shown dates come from one shared table.
_MAX_DAY_TABLE = 100_000


@dataclass(frozen=True, slots=True)
class ArraySchedule:
    """Result of `critical_path_arrays`, in integer day positions.

    ``earliest_start[i]`` and ``latest_start[i]`` are positions on the same axis as the
    releases given; finishes are ``start + duration``; slack is ``latest - earliest``.
    ``offsets[k]`` is link *k*'s rule as a start-to-start offset; ``order`` is a
    topological order of the items.
    """

    order: Sequence[int]
    earliest_start: list[int]
    latest_start: list[int]
    offsets: list[int]
    project_finish: int


def critical_path_arrays(
    durations: Sequence[int],
    releases: Sequence[int],
    link_from: Sequence[int],
    link_to: Sequence[int],
    link_types: Sequence[int],
    link_lags: Sequence[int],
    names: Sequence[str] | None = None,
) -> ArraySchedule:
    """Critical path method on plain integer arrays (the fast core of `compute_schedule`).

    Items are ``0 .. len(durations) - 1``; ``releases[i]`` is the earliest position item *i*
    may start at (its planned start). Link *k* goes from ``link_from[k]`` to ``link_to[k]``
    with type code ``link_types[k]`` (see `LINK_TYPE_CODES`: 0 FS, 1 SS, 2 FF, 3 SF) and lag
    ``link_lags[k]``. Runs in O(items + links).

    Raises `DependencyCycleError` naming every item of one loop (by ``names`` when given,
    else by index) when the links are not acyclic.
    """
    n = len(durations)
    if n == 0:
        return ArraySchedule([], [], [], [], 0)
    with cyclic_gc_paused():
        return _critical_path(durations, releases, link_from, link_to, link_types, link_lags, names)


def _critical_path(
    durations: Sequence[int],
    releases: Sequence[int],
    link_from: Sequence[int],
    link_to: Sequence[int],
    link_types: Sequence[int],
    link_lags: Sequence[int],
    names: Sequence[str] | None,
) -> ArraySchedule:
    n, m = len(durations), len(link_from)
    duration = _int_array(durations, n)
    source = _int_array(link_from, m)
    target = _int_array(link_to, m)
    code = _int_array(link_types, m)
    # Every link as a start-to-start offset: + the predecessor's duration when the rule is
    # about its finish (FS, FF), - the successor's when it is about the successor's (FF, SF).
    offset = _int_array(link_lags, m)
    offset += np.where((code == 0) | (code == 2), duration[source], 0)
    offset -= np.where(code >= 2, duration[target], 0)
    # The links grouped by their source, as offsets into one list (compressed rows).
    out_degree = np.bincount(source, minlength=n)
    by_source = _stable_grouping(source, n)
    first_out = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(out_degree, out=first_out[1:])

    order = _topological_order(n, target, by_source, first_out)
    if len(order) < n:
        unordered = np.ones(n, dtype=bool)
        unordered[order] = False
        loop = _one_loop(link_from, link_to, unordered.tolist())
        if names is None:
            raise DependencyCycleError([str(i) for i in loop])
        labels = [names[i] for i in loop]
        first = labels.index(min(labels))  # start at the first name: a stable message
        raise DependencyCycleError(labels[first:] + labels[:first])

    # Renumber the items by their place in that order and list the links by their source's
    # place (the groups above, taken in that order): both sweeps then walk three flat
    # arrays front to back (or back to front) and touch items close to each other.
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    degree_in_order = out_degree[order]
    shift = first_out[order] - (np.cumsum(degree_in_order) - degree_in_order)
    in_order = by_source[np.repeat(shift, degree_in_order) + np.arange(m)]
    link_source = _compact(np.repeat(np.arange(n), degree_in_order))
    link_target = _compact(rank[target[in_order]])
    link_offset = _compact(offset[in_order])

    # Positions relative to the earliest release stay small.
    release = _int_array(releases, n)
    base = int(release.min())
    earliest = _compact(release[order] - base)
    for u, v, step in zip(link_source, link_target, link_offset, strict=True):
        step += earliest[u]
        if step > earliest[v]:
            earliest[v] = step
    earliest_in_order = np.frombuffer(earliest, dtype=np.int64)
    duration_in_order = duration[order]
    finish = int((earliest_in_order + duration_in_order).max())
    latest = _compact(finish - duration_in_order)
    for u, v, step in zip(
        reversed(link_source), reversed(link_target), reversed(link_offset), strict=True
    ):
        step = latest[v] - step
        if step < latest[u]:
            latest[u] = step
    latest_in_order = np.frombuffer(latest, dtype=np.int64)
    return ArraySchedule(
        order=order.tolist(),
        earliest_start=(earliest_in_order[rank] + base).tolist(),
        latest_start=(latest_in_order[rank] + base).tolist(),
        offsets=offset.tolist(),
        project_finish=finish + base,
    )


def _int_array(values: Sequence[int], size: int) -> NDArray[np.int64]:
    return np.fromiter(values, dtype=np.int64, count=size)


def _compact(values: NDArray[np.int64]) -> array[int]:
    """The values as a Python ``array`` of machine integers, for a Python loop to walk.

    A list holds a pointer to a separate int object per value, four times the memory; on
    100,000s of values the sweeps over lists spent most of their time waiting for memory
    (measured: the forward sweep of 300,000 links 44 -> 25 ms, the ordering 119 -> 62 ms).
    """
    return array("q", np.ascontiguousarray(values, dtype=np.int64).tobytes())


def _stable_grouping(keys: NDArray[np.int64], limit: int) -> NDArray[np.intp]:
    """The positions of ``keys`` (each in ``0 .. limit - 1``) sorted by key, in their given
    order among equal keys. A radix sort on 16-bit digits: numpy sorts those by counting,
    five times faster than a general stable sort of 300,000 keys."""
    if limit <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if limit > 1 << 32:  # pragma: no cover - billions of items
        return np.argsort(keys, kind="stable")
    by_low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return by_low[np.argsort((keys[by_low] >> 16).astype(np.uint16), kind="stable")]


def _topological_order(
    n: int,
    target: NDArray[np.int64],
    by_source: NDArray[np.intp],
    first_out: NDArray[np.int64],
) -> NDArray[np.int64]:
    """The items in one topological order (Kahn's algorithm): an item comes after all its
    predecessors. Shorter than ``n`` when the links loop (no item of a loop, nor any item
    after one, is ever ready)."""
    successors = _compact(target[by_source])
    bounds = _compact(first_out)
    predecessors = np.bincount(target, minlength=n)
    # Counts of predecessors not yet placed; one byte each when they fit (most plans).
    waiting: bytearray | array[int] = (
        bytearray(predecessors.astype(np.uint8).tobytes())
        if n == 0 or int(predecessors.max()) < 256
        else _compact(predecessors)
    )
    queue = np.flatnonzero(predecessors == 0).tolist()
    push = queue.append
    for u in queue:  # the list grows while it is walked: that is the queue
        for v in successors[bounds[u] : bounds[u + 1]]:
            if waiting[v] == 1:
                push(v)  # u was its last predecessor
            else:
                waiting[v] -= 1
    return np.array(queue, dtype=np.int64)


def _one_loop(
    link_from: Sequence[int], link_to: Sequence[int], unordered: Sequence[bool]
) -> list[int]:
    """One loop among the items Kahn's algorithm could not order, in dependency order.

    Every such item still waits for a predecessor that is itself unordered, so walking
    predecessors from any of them must come back to an item already seen.
    """
    predecessor: dict[int, int] = {}
    for source, target in zip(link_from, link_to, strict=True):
        if unordered[target] and unordered[source] and target not in predecessor:
            predecessor[target] = source
    node = min(predecessor)
    seen: dict[int, int] = {}
    walk: list[int] = []
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = predecessor[node]
    loop = walk[seen[node] :][::-1]  # predecessors first
    first = loop.index(min(loop))
    return loop[first:] + loop[:first]


# --- the plan-level schedule -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Items:
    """The plan's schedulable items as arrays (initiatives first, then milestones)."""

    keys: list[str]
    kinds: list[str]  # "initiative" | "milestone"
    durations: list[int]
    planned: list[int | None]  # planned start position, None when the item has no date
    link_from: list[int]
    link_to: list[int]
    link_types: list[int]
    link_lags: list[int]


def _duration_from_effort(effort_days: Decimal) -> int:
    return max(0, math.ceil(effort_days))


def _plan_items(plan: Plan) -> _Items:
    keys: list[str] = []
    durations: list[int] = []
    planned: list[int | None] = []
    index: dict[str, int] = {}
    cancelled = InitiativeStatus.CANCELLED
    for initiative in plan.initiatives:
        key = initiative.key
        if initiative.status == cancelled or key in index:
            continue
        start, end = initiative.start, initiative.end
        if start is not None and end is not None:
            first = start.toordinal()
            duration = end.toordinal() - first + 1
            if duration > 0:
                position: int | None = first
            else:
                duration, position = 0, first + 1  # a zero-length item: the end of its day
        else:
            duration = _duration_from_effort(initiative.effort_days)
            if start is not None:
                position = start.toordinal()
            elif end is not None:
                position = end.toordinal() + 1 - duration
            else:
                position = None
            if position is not None and duration == 0:
                position += 1  # a zero-length item happens at the end of its day
        index[key] = len(keys)
        keys.append(key)
        durations.append(duration)
        planned.append(position)
    kinds = ["initiative"] * len(keys)
    milestones = plan.milestones
    milestone_keys = [m.key for m in milestones]
    first_milestone = len(keys)
    if len(set(milestone_keys)) == len(milestone_keys) and index.keys().isdisjoint(milestone_keys):
        # The usual case, in bulk: plans can hold 100,000s of milestones.
        numbers = range(first_milestone, first_milestone + len(milestone_keys))
        index.update(zip(milestone_keys, numbers, strict=True))
        keys += milestone_keys
        kinds += ["milestone"] * len(milestone_keys)
        durations += [0] * len(milestone_keys)
        planned += [m.on.toordinal() + 1 for m in milestones]
    else:
        for milestone in milestones:
            if milestone.key in index:
                continue
            index[milestone.key] = len(keys)
            keys.append(milestone.key)
            kinds.append("milestone")
            durations.append(0)
            planned.append(milestone.on.toordinal() + 1)
    # Comprehensions rather than one loop of appends: plans can hold 100,000s of links.
    get = index.get
    ends = [(get(d.predecessor), get(d.successor), d) for d in plan.dependencies]
    # Links to unknown or cancelled items are dropped: the plan checker reports unknown keys.
    kept = [(s, t, d) for s, t, d in ends if s is not None and t is not None]
    link_from = [s for s, _, _ in kept]
    link_to = [t for _, t, _ in kept]
    # The type is a DependencyType (a str enum), so a plain "FS" finds its code too.
    codes = LINK_TYPE_CODES
    link_types = [codes[d.type] for _, _, d in kept]
    link_lags = [d.lag_days for _, _, d in kept]
    return _Items(keys, kinds, durations, planned, link_from, link_to, link_types, link_lags)


def compute_schedule(plan: Plan, *, anchor: date | None = None) -> Schedule:
    """The plan's schedule: for every initiative (but cancelled ones) and milestone, its
    earliest and latest start and finish, total slack and whether it is critical, plus the
    critical paths (at most `MAX_CRITICAL_PATHS`, longest first).

    An initiative's duration comes from its planned dates (``end - start + 1`` days); with
    only one date or none, from its effort (``ceil(effort_days)`` calendar days, 0 without
    effort). An item without any date starts no earlier than the project start: the
    earliest planned date in the plan, else the earliest cycle start, else ``anchor``. With
    none of those the schedule is empty (a loop is still an error). Dependencies naming
    unknown or cancelled items are ignored (the plan checker reports unknown keys).

    Raises `DependencyCycleError` naming every item of a dependency loop.
    """
    with cyclic_gc_paused():
        return _compute_schedule(plan, anchor)


def _compute_schedule(plan: Plan, anchor: date | None) -> Schedule:
    items = _plan_items(plan)
    if not items.keys:
        return Schedule(items={}, critical_paths=(), project_start=None, project_finish=None)
    durations = items.durations
    # The first day shown: a zero-length item is shown on the day it ends (position - 1).
    first_shown = min(
        (
            p - 1 if d == 0 else p
            for p, d in zip(items.planned, durations, strict=True)
            if p is not None
        ),
        default=None,
    )
    project_start: date | None
    if first_shown is not None:
        project_start = date.fromordinal(first_shown)
    else:
        project_start = min((c.start for c in plan.cycles), default=anchor)
    if project_start is None:
        # No date to anchor the schedule to, but a loop is still an error.
        critical_path_arrays(
            durations,
            [0] * len(items.keys),
            items.link_from,
            items.link_to,
            items.link_types,
            items.link_lags,
            names=items.keys,
        )
        return Schedule(items={}, critical_paths=(), project_start=None, project_finish=None)
    origin = project_start.toordinal()
    releases = [
        p if p is not None else origin + (1 if d == 0 else 0)
        for p, d in zip(items.planned, durations, strict=True)
    ]
    result = critical_path_arrays(
        durations,
        releases,
        items.link_from,
        items.link_to,
        items.link_types,
        items.link_lags,
        names=items.keys,
    )
    scheduled = _scheduled_items(items.keys, durations, result.earliest_start, result.latest_start)
    return Schedule(
        items=scheduled,
        critical_paths=_critical_paths(items, result),
        # The first shown start (a zero-length item's a day before its position) and the
        # last finish.
        project_start=date.fromordinal(min(map(sub, result.earliest_start, map(not_, durations)))),
        project_finish=date.fromordinal(max(map(add, result.earliest_start, durations)) - 1),
    )


def _scheduled_items(
    keys: list[str], durations: list[int], earliest: list[int], latest: list[int]
) -> dict[str, ScheduledItem]:
    """The shown `ScheduledItem` of every item, from its start positions.

    A zero-length item's start is shown on the day it ends (see the module docstring);
    finishes are start + duration - 1.
    """
    # 100,000 items show 400,000 dates but only a few hundred distinct days: one shared
    # (immutable) date object per day is much cheaper than a new one for each.
    low = min(earliest) - 1  # no shown day is earlier
    high = max(map(add, latest, durations)) - 1  # nor later
    if low < 1 or high > _LAST_DAY or high - low > _MAX_DAY_TABLE or not _SLOTS_SETTABLE:
        return _scheduled_items_plainly(keys, durations, earliest, latest)
    days = [date.fromordinal(o) for o in range(low, high + 1)]
    # A frozen dataclass's __init__ sets each field through object.__setattr__: for the
    # 100,000s of items of a large plan that was most of the time the schedule took.
    # Writing the slots through their descriptors gives the same objects at half the cost.
    new, cls = object.__new__, ScheduledItem
    set_key, set_duration, set_es, set_ef, set_ls, set_lf, set_slack, set_critical = (
        getattr(cls, name).__set__ for name in _ITEM_FIELDS
    )
    scheduled: dict[str, ScheduledItem] = {}
    for key, d, e, s in zip(keys, durations, earliest, latest, strict=True):
        item = new(cls)
        set_key(item, key)
        set_duration(item, d)
        set_slack(item, s - e)
        set_critical(item, s == e)
        e -= low
        s -= low
        if d:
            set_es(item, days[e])
            set_ef(item, days[e + d - 1])
            set_ls(item, days[s])
            set_lf(item, days[s + d - 1])
        else:
            shown = days[e - 1]
            set_es(item, shown)
            set_ef(item, shown)
            shown = days[s - 1]
            set_ls(item, shown)
            set_lf(item, shown)
        scheduled[key] = item
    return scheduled


def _scheduled_items_plainly(
    keys: list[str], durations: list[int], earliest: list[int], latest: list[int]
) -> dict[str, ScheduledItem]:
    """`_scheduled_items` the plain way (for dates at the ends of the calendar, or should
    `ScheduledItem` change shape)."""
    scheduled: dict[str, ScheduledItem] = {}
    fromordinal = date.fromordinal
    for key, d, es, ls in zip(keys, durations, earliest, latest, strict=True):
        before = 1 if d == 0 else 0
        scheduled[key] = ScheduledItem(
            key=key,
            duration_days=d,
            earliest_start=fromordinal(es - before),
            earliest_finish=fromordinal(es + d - 1),
            latest_start=fromordinal(ls - before),
            latest_finish=fromordinal(ls + d - 1),
            slack_days=ls - es,
            critical=ls == es,
        )
    return scheduled


_ITEM_FIELDS = (
    "key",
    "duration_days",
    "earliest_start",
    "earliest_finish",
    "latest_start",
    "latest_finish",
    "slack_days",
    "critical",
)
# Filling the slots directly is only right while ScheduledItem is exactly these fields.
_SLOTS_SETTABLE = tuple(f.name for f in fields(ScheduledItem)) == _ITEM_FIELDS and not hasattr(
    ScheduledItem, "__post_init__"
)
_LAST_DAY = date.max.toordinal()


def _critical_paths(items: _Items, result: ArraySchedule) -> tuple[tuple[str, ...], ...]:
    earliest, latest = result.earliest_start, result.latest_start
    critical = [e == s for e, s in zip(earliest, latest, strict=True)]
    driving: dict[int, list[int]] = {}
    driven: set[int] = set()
    for source, target, offset in zip(items.link_from, items.link_to, result.offsets, strict=True):
        if critical[source] and critical[target] and earliest[source] + offset == earliest[target]:
            driving.setdefault(source, []).append(target)
            driven.add(target)
    keys = items.keys
    for targets in driving.values():
        targets.sort(key=keys.__getitem__)
    heads = sorted(
        (i for i, c in enumerate(critical) if c and i not in driven),
        key=lambda i: (earliest[i], keys[i]),
    )
    paths: list[tuple[str, ...]] = []
    for head in heads:
        for path in _chains(head, driving):
            paths.append(tuple(keys[i] for i in path))
            if len(paths) == MAX_CRITICAL_PATHS:
                break
        if len(paths) == MAX_CRITICAL_PATHS:
            break
    paths.sort(key=lambda p: -len(p))  # stable: longest first, then in the order found
    return tuple(paths)


def _chains(head: int, driving: dict[int, list[int]]) -> Iterator[list[int]]:
    """Every maximal chain from ``head`` along driving links (depth first, lazily)."""
    path = [head]
    stack: list[Iterator[int]] = [iter(driving.get(head, ()))]
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            if path[-1] not in driving:
                yield list(path)
            stack.pop()
            path.pop()
            continue
        path.append(nxt)
        stack.append(iter(driving.get(nxt, ())))


# --- loops ----------------------------------------------------------------------------------


def dependency_loops(plan: Plan) -> list[tuple[str, ...]]:
    """Every group of items whose dependencies loop back on themselves.

    Each group is a strongly connected part of the dependency graph with a loop in it (two
    or more items, or one item that depends on itself), listed as one loop in dependency
    order first, then the group's other items by key. Groups are sorted by their first key.
    Empty when the dependencies are acyclic.
    """
    items = _plan_items(plan)
    n = len(items.keys)
    successors: list[list[int]] = [[] for _ in range(n)]
    for source, target in zip(items.link_from, items.link_to, strict=True):
        successors[source].append(target)
    groups: list[tuple[str, ...]] = []
    for component in _strong_components(n, successors):
        members = set(component)
        if len(component) == 1 and component[0] not in successors[component[0]]:
            continue
        loop = _loop_within(members, items)
        rest = sorted(items.keys[i] for i in members.difference(loop))
        groups.append(tuple([items.keys[i] for i in loop] + rest))
    groups.sort()
    return groups


def _loop_within(members: set[int], items: _Items) -> list[int]:
    inside = [False] * len(items.keys)
    for i in members:
        inside[i] = True
    inside_from = [
        s
        for s, t in zip(items.link_from, items.link_to, strict=True)
        if s in members and t in members
    ]
    inside_to = [
        t
        for s, t in zip(items.link_from, items.link_to, strict=True)
        if s in members and t in members
    ]
    loop = _one_loop(inside_from, inside_to, inside)
    # Start the loop at its alphabetically first key, so the message is stable.
    first = min(range(len(loop)), key=lambda j: items.keys[loop[j]])
    return loop[first:] + loop[:first]


def _strong_components(n: int, successors: list[list[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative (plans can have long chains)."""
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            node, edge = work.pop()
            if edge == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            recurse = False
            children = successors[node]
            while edge < len(children):
                child = children[edge]
                edge += 1
                if index[child] == -1:
                    work.append((node, edge))
                    work.append((child, 0))
                    recurse = True
                    break
                if on_stack[child]:
                    low[node] = min(low[node], index[child])
            if recurse:
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components
