"""`milepost.forked.start_forked`: a computation on another core, its result sent back."""

from __future__ import annotations

import os

import pytest

from milepost.forked import ForkedChildFailed, start_forked


def test_the_result_comes_back_from_a_child_process() -> None:
    data = list(range(100_000))
    wait = start_forked(lambda: (os.getpid(), sum(data)))
    child_pid, total = wait()
    assert total == sum(range(100_000))
    assert child_pid != os.getpid()


def test_the_child_changes_nothing_the_parent_holds() -> None:
    seen: list[int] = []

    def compute() -> int:
        seen.append(1)
        return len(seen)

    assert start_forked(compute)() == 1
    assert seen == []


def test_the_childs_exception_is_raised_in_the_parent() -> None:
    def compute() -> None:
        raise ValueError("bad data at objectives[3]")

    wait = start_forked(compute)
    with pytest.raises(ValueError, match=r"bad data at objectives\[3\]"):
        wait()


def test_a_child_that_dies_without_a_result_is_reported() -> None:
    wait = start_forked(lambda: os._exit(3))
    with pytest.raises(ForkedChildFailed, match="without a result"):
        wait()


def test_without_fork_the_computation_runs_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    wait = start_forked(os.getpid)
    assert wait() == os.getpid()

    def compute() -> None:
        raise KeyError("k")

    failing = start_forked(compute)
    with pytest.raises(KeyError):
        failing()
