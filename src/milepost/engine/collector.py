"""Pausing Python's cyclic garbage collector around work that builds many objects.

Reference counting goes on while it is paused; only the cyclic collector waits. Large
computations here (an evaluation, a schedule, a plan export, a whole alignment tree) allocate
100,000s of small objects — tuples, dates, results, nodes — that form no reference cycles; a
collection triggered in the middle of them only rescans them, again and again (at full size
it doubled the plan export's time and added half to the tree API's). The one way to pause
it: `cyclic_gc_paused()`, a context manager also usable as a decorator.

Pure Python: no Django.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cyclic_gc_paused"]


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
