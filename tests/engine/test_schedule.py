"""Schedule: dependency types and lags, planned dates kept, slack, critical paths, loops."""

from __future__ import annotations

from datetime import date

import pytest

from milepost.engine.errors import DependencyCycleError
from milepost.engine.model import InitiativeStatus, Plan
from milepost.engine.schedule import (
    LINK_TYPE_CODES,
    compute_schedule,
    critical_path_arrays,
    dependency_loops,
)
from tests.engine.roadmap_builders import cycle, dep, ini, jul, mile, schedule_plan


def starts(plan: Plan) -> dict[str, tuple[date, date]]:
    return {
        k: (s.earliest_start, s.earliest_finish) for k, s in compute_schedule(plan).items.items()
    }


# --- dependency types, with positive, zero and negative lags --------------------------------


@pytest.mark.parametrize(
    ("lag", "b_start", "b_finish"),
    [(0, jul(11), jul(15)), (2, jul(13), jul(17)), (-3, jul(8), jul(12))],
)
def test_finish_to_start(lag: int, b_start: date, b_finish: date) -> None:
    # A runs 1-10 July; B (5 days) was planned for 1-5 July, which its dependency forbids.
    plan = schedule_plan(
        ini("a", jul(1), jul(10)), ini("b", jul(1), jul(5)), deps=(dep("a", "b", "FS", lag),)
    )
    assert starts(plan)["b"] == (b_start, b_finish)


@pytest.mark.parametrize(
    ("a_start", "lag", "b_start"),
    [(jul(1), 0, jul(1)), (jul(1), 2, jul(3)), (jul(5), -2, jul(3)), (jul(5), 0, jul(5))],
)
def test_start_to_start(a_start: date, lag: int, b_start: date) -> None:
    plan = schedule_plan(
        ini("a", a_start, jul(20)), ini("b", jul(1), jul(5)), deps=(dep("a", "b", "SS", lag),)
    )
    assert starts(plan)["b"][0] == b_start


@pytest.mark.parametrize(
    ("lag", "b_start", "b_finish"),
    [(0, jul(6), jul(10)), (3, jul(9), jul(13)), (-2, jul(4), jul(8))],
)
def test_finish_to_finish(lag: int, b_start: date, b_finish: date) -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(10)), ini("b", jul(1), jul(5)), deps=(dep("a", "b", "FF", lag),)
    )
    assert starts(plan)["b"] == (b_start, b_finish)


@pytest.mark.parametrize(
    ("lag", "b_start", "b_finish"),
    [(0, jul(5), jul(9)), (2, jul(7), jul(11)), (-2, jul(3), jul(7)), (-9, jul(1), jul(5))],
)
def test_start_to_finish(lag: int, b_start: date, b_finish: date) -> None:
    # B cannot finish before A starts (10 July): with lag 0 it may finish on 9 July, the
    # day before, as work finishing on a day is followed by work starting the next day.
    plan = schedule_plan(
        ini("a", jul(10), jul(20)), ini("b", jul(1), jul(5)), deps=(dep("a", "b", "SF", lag),)
    )
    assert starts(plan)["b"] == (b_start, b_finish)


def test_every_type_has_a_code() -> None:
    assert sorted(LINK_TYPE_CODES.values()) == [0, 1, 2, 3]


def test_milestones_sit_at_the_end_of_their_day() -> None:
    plan = schedule_plan(
        ini("build", jul(1), jul(10)),
        mile("beta", jul(1)),
        ini("rollout", jul(1), jul(3)),
        deps=(dep("build", "beta"), dep("beta", "rollout")),
    )
    schedule = compute_schedule(plan)
    beta = schedule.items["beta"]
    assert (beta.duration_days, beta.earliest_start, beta.earliest_finish) == (0, jul(10), jul(10))
    assert schedule.items["rollout"].earliest_start == jul(11)
    assert schedule.critical_paths == (("build", "beta", "rollout"),)


def test_a_milestone_planned_later_keeps_its_date() -> None:
    plan = schedule_plan(
        ini("build", jul(1), jul(10)), mile("beta", jul(15)), deps=(dep("build", "beta"),)
    )
    schedule = compute_schedule(plan)
    assert schedule.items["beta"].earliest_start == jul(15)
    assert schedule.items["build"].slack_days == 5
    assert schedule.items["beta"].critical


def test_planned_dates_are_kept_not_moved_earlier() -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(10)), ini("b", jul(20), jul(24)), deps=(dep("a", "b"),)
    )
    schedule = compute_schedule(plan)
    assert schedule.items["b"].earliest_start == jul(20)
    assert schedule.items["a"].slack_days == 9
    assert not schedule.items["a"].critical
    assert schedule.critical_paths == (("b",),)


# --- hand-checked critical path examples -----------------------------------------------------


def test_diamond_slack_and_critical_path() -> None:
    #       +-> b (3 days) --+
    #  a ---|                |--> d      e stands alone
    #       +-> c (10 days) -+
    plan = schedule_plan(
        ini("a", jul(1), jul(5)),
        ini("b", jul(6), jul(8)),
        ini("c", jul(6), jul(15)),
        ini("d", jul(16), jul(17)),
        ini("e", jul(1), jul(3)),
        deps=(dep("a", "b"), dep("a", "c"), dep("b", "d"), dep("c", "d")),
    )
    schedule = compute_schedule(plan)
    items = schedule.items
    assert {k: s.slack_days for k, s in items.items()} == {"a": 0, "b": 7, "c": 0, "d": 0, "e": 14}
    assert (items["b"].latest_start, items["b"].latest_finish) == (jul(13), jul(15))
    assert (items["e"].latest_start, items["e"].latest_finish) == (jul(15), jul(17))
    assert [k for k, s in items.items() if s.critical] == ["a", "c", "d"]
    assert schedule.critical_paths == (("a", "c", "d"),)
    assert (schedule.project_start, schedule.project_finish) == (jul(1), jul(17))


def test_two_equal_branches_give_two_critical_paths() -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(5)),
        ini("b", jul(6), jul(10)),
        ini("c", jul(6), jul(10)),
        ini("d", jul(11), jul(12)),
        deps=(dep("a", "b"), dep("a", "c"), dep("b", "d"), dep("c", "d")),
    )
    assert compute_schedule(plan).critical_paths == (("a", "b", "d"), ("a", "c", "d"))


def test_a_chain_pushed_by_its_dependencies() -> None:
    # Planned back to back with no room, but the lag of 2 days pushes everything after it.
    plan = schedule_plan(
        ini("design", jul(1), jul(5)),
        ini("build", jul(6), jul(15)),
        ini("launch", jul(16), jul(16)),
        deps=(dep("design", "build", lag=2), dep("build", "launch")),
    )
    schedule = compute_schedule(plan)
    assert schedule.items["build"].earliest_start == jul(8)
    assert schedule.items["launch"].earliest_finish == jul(18)
    assert schedule.critical_paths == (("design", "build", "launch"),)


def test_negative_lag_lets_work_overlap_and_creates_slack() -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(10)),
        ini("b", jul(6), jul(10)),
        deps=(dep("a", "b", "FS", -5),),
    )
    schedule = compute_schedule(plan)
    assert schedule.items["b"].earliest_start == jul(6)
    assert all(s.critical for s in schedule.items.values())
    assert schedule.critical_paths == (("a", "b"),)


# --- durations and items without dates --------------------------------------------------------


def test_items_without_dates_take_their_duration_from_effort() -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(10)),
        ini("undated", effort="4.5"),
        ini("start-only", jul(3), None, effort=2),
        ini("end-only", None, jul(10), effort=3),
        ini("nothing"),
    )
    schedule = compute_schedule(plan)
    got = {
        k: (s.duration_days, s.earliest_start, s.earliest_finish) for k, s in schedule.items.items()
    }
    assert got["undated"] == (5, jul(1), jul(5))
    assert got["start-only"] == (2, jul(3), jul(4))
    assert got["end-only"] == (3, jul(8), jul(10))
    assert got["nothing"] == (0, jul(1), jul(1))


def test_an_undated_item_follows_its_predecessor() -> None:
    plan = schedule_plan(ini("a", jul(1), jul(10)), ini("b", effort=5), deps=(dep("a", "b"),))
    assert starts(plan)["b"] == (jul(11), jul(15))


def test_project_start_falls_back_to_cycle_start_then_anchor() -> None:
    undated = (ini("a", effort=3),)
    with_cycle = Plan(initiatives=undated, cycles=(cycle(start=jul(6)),))
    assert compute_schedule(with_cycle).items["a"].earliest_start == jul(6)
    bare = Plan(initiatives=undated)
    assert compute_schedule(bare, anchor=jul(9)).items["a"].earliest_start == jul(9)
    empty = compute_schedule(bare)
    assert (empty.items, empty.critical_paths, empty.project_start) == ({}, (), None)


def test_empty_plan_has_an_empty_schedule() -> None:
    schedule = compute_schedule(Plan())
    assert (schedule.items, schedule.project_start, schedule.project_finish) == ({}, None, None)


def test_cancelled_initiatives_and_unknown_keys_are_left_out() -> None:
    plan = schedule_plan(
        ini("a", jul(1), jul(10)),
        ini("gone", jul(11), jul(30), status=InitiativeStatus.CANCELLED),
        ini("b", jul(11), jul(12)),
        deps=(dep("a", "gone"), dep("gone", "b"), dep("nowhere", "b"), dep("a", "b")),
    )
    schedule = compute_schedule(plan)
    assert "gone" not in schedule.items
    assert schedule.items["b"].earliest_start == jul(11)


# --- loops -----------------------------------------------------------------------------------


def test_a_loop_is_an_error_naming_every_item_in_order() -> None:
    plan = schedule_plan(
        ini("x", jul(1), jul(2)),
        ini("c", jul(1), jul(2)),
        ini("a", jul(1), jul(2)),
        ini("b", jul(1), jul(2)),
        deps=(dep("x", "a"), dep("a", "b"), dep("b", "c"), dep("c", "a", "SS")),
    )
    with pytest.raises(DependencyCycleError) as caught:
        compute_schedule(plan)
    assert caught.value.nodes == ["a", "b", "c"]
    assert str(caught.value) == "dependency loop: a → b → c → a"


def test_an_item_depending_on_itself_is_a_loop() -> None:
    plan = schedule_plan(ini("a", jul(1), jul(2)), deps=(dep("a", "a"),))
    with pytest.raises(DependencyCycleError) as caught:
        compute_schedule(plan)
    assert caught.value.nodes == ["a"]


def test_dependency_loops_lists_every_loop() -> None:
    plan = schedule_plan(
        *(ini(k, jul(1), jul(2)) for k in "abcdefg"),
        deps=(
            dep("b", "a"),
            dep("a", "b"),
            dep("c", "d"),
            dep("d", "e"),
            dep("e", "c"),
            dep("d", "c"),
            dep("f", "c"),
            dep("g", "g"),
        ),
    )
    loops = dependency_loops(plan)
    assert loops[0] == ("a", "b")
    assert set(loops[1]) == {"c", "d", "e"}
    assert loops[1][0] == "c"
    assert loops[2] == ("g",)
    assert len(loops) == 3


def test_no_loops_in_an_acyclic_plan() -> None:
    plan = schedule_plan(ini("a", jul(1), jul(2)), ini("b", jul(3), jul(4)), deps=(dep("a", "b"),))
    assert dependency_loops(plan) == []


# --- the array core ----------------------------------------------------------------------------


def test_array_core_on_a_small_graph() -> None:
    # 0 -> 1 FS, 0 -> 2 SS+1, 1 -> 3 FF, 2 -> 3 SF-1; items given out of topological order.
    result = critical_path_arrays(
        durations=[4, 3, 2, 5],
        releases=[0, 0, 0, 0],
        link_from=[1, 0, 0, 2],
        link_to=[3, 1, 2, 3],
        link_types=[2, 0, 1, 3],
        link_lags=[0, 0, 1, -1],
    )
    assert result.earliest_start == [0, 4, 1, 2]
    assert result.project_finish == 7
    assert result.latest_start == [0, 4, 5, 2]
    assert list(result.order).index(0) < list(result.order).index(3)


def test_array_core_names_loops_by_index_or_name() -> None:
    args = ([1, 1, 1], [0, 0, 0], [0, 1, 2], [1, 2, 1], [0, 0, 0], [0, 0, 0])
    with pytest.raises(DependencyCycleError) as by_index:
        critical_path_arrays(*args)
    assert by_index.value.nodes == ["1", "2"]
    with pytest.raises(DependencyCycleError) as by_name:
        critical_path_arrays(*args, names=["x", "y", "z"])
    assert by_name.value.nodes == ["y", "z"]


def test_array_core_with_no_items() -> None:
    assert critical_path_arrays([], [], [], [], [], []).earliest_start == []


def test_array_core_with_an_item_waiting_for_hundreds_of_others() -> None:
    # Item 0 follows 300 others (more than a byte counts); item k lasts k days.
    n = 301
    result = critical_path_arrays(
        durations=list(range(n)),
        releases=[0] * n,
        link_from=list(range(1, n)),
        link_to=[0] * (n - 1),
        link_types=[0] * (n - 1),
        link_lags=[0] * (n - 1),
    )
    assert result.earliest_start[0] == 300  # after the longest predecessor
    assert result.latest_start[1:] == [300 - k for k in range(1, n)]
    assert result.order[-1] == 0


def test_array_core_on_a_long_chain_given_backwards() -> None:
    # 70,000 items (more than 16 bits of index) chained from the last index to the first,
    # so index order is not topological; each lasts 2 days, each link FS with lag -1.
    n = 70_000
    result = critical_path_arrays(
        durations=[2] * n,
        releases=[0] * n,
        link_from=list(range(1, n)),
        link_to=list(range(n - 1)),
        link_types=[0] * (n - 1),
        link_lags=[-1] * (n - 1),
    )
    assert result.earliest_start == [n - 1 - i for i in range(n)]
    assert result.latest_start == result.earliest_start
    assert result.project_finish == n + 1
    assert list(result.order) == list(range(n - 1, -1, -1))
