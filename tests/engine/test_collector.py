"""The cyclic collector: paused around large computations, and kept evaluations frozen out of
its sight without leaking what dies in reference cycles."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from milepost.engine import collector


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_the_pause_restores_the_collector_after_a_failure_and_keeps_it_off_if_it_was() -> None:
    seen: list[bool] = []

    @collector.cyclic_gc_paused()
    def failing() -> None:
        seen.append(gc.isenabled())
        raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    with collector.cyclic_gc_paused():
        pass
    assert not gc.isenabled()


def test_frozen_objects_are_freed_when_released_and_cycles_at_the_next_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept, cyclic = _Node(), _Node()
    cyclic.other = cyclic  # garbage only a cyclic collection frees
    kept_ref, cyclic_ref = weakref.ref(kept), weakref.ref(cyclic)
    monkeypatch.setattr(collector, "_last_sweep", float("inf"))  # no sweep yet
    collector.freeze_long_lived()
    assert gc.get_freeze_count() > 0

    del kept, cyclic
    gc.collect()
    assert kept_ref() is None  # reference counting frees a frozen object
    assert cyclic_ref() is not None  # a frozen cycle waits for the sweep ...

    monkeypatch.setattr(collector, "_last_sweep", float("-inf"))  # the sweep is due
    collector.freeze_long_lived()
    assert cyclic_ref() is None  # ... which frees it
    assert gc.get_freeze_count() > 0  # and what is alive is frozen again
