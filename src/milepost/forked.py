"""Running a pure computation on another core, in a forked child: `start_forked`.

A command that has built a large structure in memory (a whole organization's plan file:
millions of values) and must pass it through two independent checks can run one of them in a
forked child while it runs the other: the child sees the structure as it is (copy-on-write,
nothing is copied up front or pickled) and sends back only the result, pickled through a
pipe. On a two-core machine the pair takes the time of the longer one instead of the sum.

For command-line processes: forking a process that runs other Python threads (a web
server's workers) can deadlock the child, so there the computation runs in place, as it does
where `os.fork` does not exist. The child must not touch what it shares with the
parent (an open database connection, a file being written): the computation should be pure,
read the data and return a small result.

Memory: the child's pages are shared with the parent until either writes to them; Python's
reference counting writes to every object the child reads, so walking N objects copies the
pages that hold them (at most the size of the structure, for as long as the child runs).

Pure Python: no Django.
"""

from __future__ import annotations

import os
import pickle  # nosec B403 - only our own child's result, through our own pipe
import sys
import threading
import warnings
from collections.abc import Callable

__all__ = ["ForkedChildFailed", "start_forked"]


class ForkedChildFailed(RuntimeError):
    """The child ended without a result (killed, out of memory, a result that cannot be
    pickled)."""


def start_forked[T](compute: Callable[[], T]) -> Callable[[], T]:
    """Start `compute()` in a forked child; return a function that waits for its result.

    The returned function returns what `compute` returned, raises what it raised (when the
    exception can be pickled), or raises `ForkedChildFailed`. Call it exactly once.
    """
    if not hasattr(os, "fork") or _other_threads_running():
        return _in_place(compute)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():
        # Python warns when the operating system counts other threads; the only ones here
        # are native pools (see `_other_threads_running`), which the child never calls.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its result is what the tests check
        os.close(read_end)
        _run_child(compute, write_end)
    os.close(write_end)

    def wait() -> T:
        with os.fdopen(read_end, "rb") as results:
            payload = results.read()
        _, status = os.waitpid(pid, 0)
        if not payload:
            code = os.waitstatus_to_exitcode(status)
            raise ForkedChildFailed(f"the forked computation ended without a result ({code})")
        returned, value = pickle.loads(payload)  # noqa: S301  # nosec B301 - our child's own result
        if returned:
            return value  # type: ignore[no-any-return]
        raise value

    return wait


def _other_threads_running() -> bool:
    """Whether other Python threads run: they may hold a lock (an import, a stream, logging)
    that the child would wait on forever. Threads of a native library's pool (OpenBLAS starts
    one when numpy is imported) run no Python and are not counted."""
    return threading.active_count() > 1


def _in_place[T](compute: Callable[[], T]) -> Callable[[], T]:
    try:
        value = compute()
    except BaseException as exc:  # re-raised when the result is asked for, as in a child
        failure = exc

        def fail() -> T:
            raise failure

        return fail
    return lambda: value


def _run_child(compute: Callable[[], object], write_end: int) -> None:  # pragma: no cover
    """The child: compute, send the pickled outcome, and leave without running the parent's
    exit handlers (they would close the parent's database connections and files)."""
    code = 0
    try:
        try:
            payload = pickle.dumps((True, compute()))
        except Exception as exc:  # sent to the parent, which raises it
            payload = pickle.dumps((False, exc))
        with os.fdopen(write_end, "wb") as results:
            results.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)
