"""The gunicorn worker `milepost serve` runs: gthread, with connections shared out evenly.

Every worker process polls the one listening socket, and the kernel wakes all of them for a
new connection; the first to call ``accept`` takes it and keeps it for as long as the client
keeps it alive. The worker that wins is usually the one already running, that is the busiest:
under 50 keep-alive clients one of two workers held 42-49 of the connections and served 90%
of the requests on one core while the other idled (issue 9, W2). A worker holding more
connections therefore waits a moment before it accepts (`ACCEPT_PAUSE_PER_CONNECTION` for
each connection it already holds, at most `ACCEPT_PAUSE_MAX`), so that a less loaded worker,
woken for the same connection, takes it first. If none does, the waiting worker takes it
after its pause: a connection is never left unaccepted. Only accepting waits; the requests
in progress run on in the worker's threads meanwhile.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

#: Seconds a worker waits before accepting, for each connection it already holds.
ACCEPT_PAUSE_PER_CONNECTION = 0.0005
#: The longest wait before accepting (reached at 40 connections held).
ACCEPT_PAUSE_MAX = 0.02


def accept_pause(connections_held: int) -> float:
    """How long a worker holding ``connections_held`` connections waits before accepting."""
    return min(connections_held * ACCEPT_PAUSE_PER_CONNECTION, ACCEPT_PAUSE_MAX)


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no types
    """gunicorn's gthread worker; the busier of the workers woken for a connection yields it."""

    def accept(self, listener: Any) -> None:
        pause = accept_pause(self.nr_conns)
        if pause:
            time.sleep(pause)
        super().accept(listener)
