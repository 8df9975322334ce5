"""Pausing Python's cyclic garbage collector around work that builds many objects.

Reference counting goes on while it is paused; only the cyclic collector waits. Large
computations here (an evaluation, a schedule, a plan export, a whole alignment tree) allocate
100,000s of small objects — tuples, dates, results, nodes — that form no reference cycles; a
collection triggered in the middle of them only rescans them, again and again (at full size
it doubled the plan export's time and added half to the tree API's). The one way to pause
it: `cyclic_gc_paused()`, a context manager also usable as a decorator.

Objects kept for long (a web process's kept evaluations of whole plans: a million objects
each at full size) are another matter: every full collection scans them all (0.5-0.7 s at
full size, in the middle of whatever request triggered it), and each new evaluation makes one
due. `freeze_long_lived()` hands the objects alive now to the permanent generation
(`gc.freeze`), which collections skip; see its docstring for what that costs and how it
stays bounded.

Pure Python: no Django.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cyclic_gc_paused", "freeze_long_lived"]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the duration; restore it after (after a failure too)
    unless it was already paused when this began."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# When frozen objects were last swept (`freeze_long_lived`), and the lock that makes freezing
# and sweeping one step for the threads of a process.
SWEEP_EVERY_SECONDS = 600.0
_last_sweep = time.monotonic()
_freeze_lock = threading.Lock()


def freeze_long_lived() -> None:
    """Move every object alive now out of the cyclic collector's sight (`gc.freeze`): later
    collections scan only what is allocated after this. Call it after building something
    large that is kept (a plan's evaluation).

    Frozen objects are still freed by reference counting when they are no longer used (a
    replaced evaluation is). Only garbage in reference cycles that was still in use when it
    was frozen (a request being served in another thread) waits: at most every
    `SWEEP_EVERY_SECONDS`, the frozen objects are unfrozen and collected once (one full
    collection, as every new evaluation cost before) before freezing. (Counting the frozen
    objects to decide would walk them all: `gc.get_freeze_count` takes 80 ms at full size.)
    """
    global _last_sweep
    with _freeze_lock:
        now = time.monotonic()
        if now - _last_sweep >= SWEEP_EVERY_SECONDS:
            gc.unfreeze()
            gc.collect()
            _last_sweep = now
        gc.freeze()
