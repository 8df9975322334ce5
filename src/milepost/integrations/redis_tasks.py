"""The Redis tasks backend's share of a ``milepost worker`` pass.

With ``MILEPOST_TASKS_BACKEND=redis`` (``django_tasks_rq.RQBackend``), tasks are RQ jobs in
Redis. Each pass of ``milepost worker`` runs the queued ones in its own process, in burst mode
(`drain_redis_tasks`), so one command still runs everything; more ``milepost worker``
processes, on any machine that reaches the same Redis and database, share the queue (RQ pops
each job atomically, so a job runs in exactly one of them).

Imported only when a pass runs (RQ and redis are not needed to build the command's parser).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, cast

from rq.job import Job as RQJob
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

from milepost.integrations.worker import TASKS_PER_PASS

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PassWorker(SimpleWorker):
    """RQ's in-process worker (no fork: the jobs use this process's Django setup, as the
    database backend's do), fitted to a pass of ``milepost worker``.

    The ``milepost worker`` loop owns SIGTERM and SIGINT: a signal during the burst stops it
    after the current job, then goes on to the handler that was there before (the loop's
    "stop after this pass; a second signal stops at once"). RQ's own handlers would swallow it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            # RQ's default job timeout uses SIGALRM, which only the main thread may set.
            self.death_penalty_class = TimerDeathPenalty
        super().__init__(*args, **kwargs)
        self.jobs_run = 0
        self._previous: dict[int, Any] = {}
        self._exit: BaseException | None = None

    def execute_job(self, job: RQJob, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            self.jobs_run += 1

    def subscribe(self) -> None:
        """No command channel. RQ's remote commands (shutdown, stop a job) are for long-running
        workers; and stopping its listener thread waits for the thread's 60-second poll with
        redis-py 8, which added up to a minute to every pass."""

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only; nothing to take over here
        for signum in _STOP_SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum)
        if previous is signal.SIG_IGN:
            return
        self._stop_requested = True  # RQ's loop stops before the next job
        if callable(previous):
            try:
                previous(signum, frame)
            except BaseException as exc:  # "stop now": RQ would count it as a job failure
                self._exit = exc
                raise
        else:  # the default action (terminate) once the burst is over
            self._exit = SystemExit(128 + signum)

    def restore_signal_handlers(self) -> None:
        """Give SIGTERM and SIGINT back to the handlers they had before the burst."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def drain_redis_tasks(limit: int = TASKS_PER_PASS) -> int | None:
    """Run up to `limit` queued jobs of the default tasks backend if it is the Redis backend
    (``django_tasks_rq.RQBackend``), in this process, then return how many ran, failed ones
    included (None: another backend). Scheduled tasks (``run_after``) whose time has come are
    queued first. A job whose worker died mid-run is marked failed (by RQ's maintenance in a
    later pass), never run twice."""
    import django_rq
    from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks_rq import Job, RQBackend

    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    if not isinstance(backend, RQBackend):
        return None
    worker = cast(
        PassWorker,
        django_rq.get_worker(*sorted(backend.queues), job_class=Job, worker_class=PassWorker),
    )
    try:
        # WARNING: RQ logs "started", "listening" and each job at INFO, every pass.
        worker.work(burst=True, max_jobs=limit, with_scheduler=True, logging_level="WARNING")
    finally:
        worker.restore_signal_handlers()
    if worker._exit is not None:
        raise worker._exit
    return worker.jobs_run
