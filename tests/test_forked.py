"""`milepost.forked.start_forked`: a computation on another core, its result sent back.

The forking path is tried in a fresh interpreter, so that no test runner's thread decides
it (with other Python threads running, `start_forked` computes in place by design)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from milepost.forked import start_forked

IN_A_FRESH_PROCESS = textwrap.dedent(
    """
    import os
    from milepost.forked import ForkedChildFailed, start_forked

    data = list(range(100_000))
    child_pid, total = start_forked(lambda: (os.getpid(), sum(data)))()
    print("result", total == sum(range(100_000)), child_pid != os.getpid())

    seen = []
    def mutate():
        seen.append(1)
        return len(seen)
    print("isolated", start_forked(mutate)(), seen)

    def fail():
        raise ValueError("bad data at objectives[3]")
    try:
        start_forked(fail)()
    except ValueError as exc:
        print("raised", exc)

    try:
        start_forked(lambda: os._exit(3))()
    except ForkedChildFailed as exc:
        print("failed", exc)
    """
)


def test_a_forked_computation_runs_in_a_child_and_sends_its_outcome_back() -> None:
    done = subprocess.run(  # noqa: S603 - fixed argv, this file's own code
        [sys.executable, "-c", IN_A_FRESH_PROCESS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        "result True True",
        "isolated 1 []",
        "raised bad data at objectives[3]",
        "failed the forked computation ended without a result (3)",
    ]


def test_with_other_threads_running_the_computation_runs_in_place() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_forked(os.getpid)() == os.getpid()
    finally:
        stop.set()
        other.join()


def test_without_fork_the_computation_runs_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    assert start_forked(os.getpid)() == os.getpid()

    def compute() -> None:
        raise KeyError("k")

    failing = start_forked(compute)
    with pytest.raises(KeyError):
        failing()
