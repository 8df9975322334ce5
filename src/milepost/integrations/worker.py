"""``milepost worker``: the background loop.

Each pass (every ``--interval`` seconds, 60 by default; ``--once`` runs one pass and exits, for
cron and tests):

1. reminders, digests and the nightly recompute that are due
   (`milepost.integrations.reminders.run_notifications`);
2. data sources, webhook deliveries and the ``finding.raised`` scan
   (`milepost.integrations.tasks.run_due_work`);
3. the queued tasks of the tasks backend, at most `TASKS_PER_PASS`, run in this process: the
   database backend's (``django_tasks_db``, the default) or the Redis backend's
   (``django_tasks_rq``, RQ jobs in burst mode) — so one ``milepost worker`` is all an instance
   needs. With any other backend, that backend's own workers run the tasks.

Every step claims its work before doing it (RQ hands each job to one worker), so several
workers can run side by side. A step that crashes is logged and the loop goes on. SIGTERM or
SIGINT (Ctrl+C) stops the loop after the current pass; a second signal stops at once.

This module builds its parser without Django; the pass imports the apps when it runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger(__name__)

TASKS_PER_PASS = 100


@dataclass
class PassReport:
    """What one pass did, for the progress line."""

    number: int
    started: dt.datetime
    seconds: float = 0.0
    parts: list[str] = field(default_factory=list)
    errors: int = 0

    def line(self) -> str:
        what = "; ".join(p for p in self.parts if p) or "nothing due"
        errors = f" ({self.errors} step{'s' if self.errors != 1 else ''} failed, see the log)"
        return (
            f"{self.started:%Y-%m-%d %H:%M:%S} pass {self.number}: {what}"
            f"{errors if self.errors else ''} [{self.seconds:.1f} s]"
        )


def drain_database_tasks(limit: int = TASKS_PER_PASS) -> int | None:
    """Run up to `limit` ready tasks of the default tasks backend if it is the database
    backend; how many ran (None: another backend, whose own workers run its tasks)."""
    from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django.utils.crypto import get_random_string
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.management.commands.db_worker import Worker

    if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        return None
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,  # stop as soon as no task is ready
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=limit,
        worker_id=f"milepost-{get_random_string(20)}",
        excluded_queue_names=[],
    )
    worker.run()
    return int(getattr(worker, "_run_tasks", 0))


def run_queued_tasks(limit: int = TASKS_PER_PASS) -> int | None:
    """Run up to `limit` queued tasks of the default backend in this process (the database or
    the Redis backend); how many ran (None: a backend whose own workers run its tasks)."""
    ran = drain_database_tasks(limit)
    if ran is not None:
        return ran
    from milepost.integrations.redis_tasks import drain_redis_tasks

    return drain_redis_tasks(limit)


def run_pass(number: int = 1, now: dt.datetime | None = None) -> PassReport:
    """One pass of the worker at `now` (default: the current time)."""
    from django.utils import timezone

    from milepost.integrations.reminders import run_notifications
    from milepost.integrations.tasks import run_due_work

    started = time.monotonic()
    when = now or timezone.now()
    report = PassReport(number=number, started=when)
    try:
        notified = run_notifications(when)
        report.parts.append(str(notified))
        report.errors += int(notified.errors > 0)
    except Exception:
        report.errors += 1
        log.exception("reminders and digests failed")
    try:
        work = run_due_work(when)
        report.parts.append(str(work))
        report.errors += int(work.errors > 0)
    except Exception:
        report.errors += 1
        log.exception("integrations work failed")
    try:
        ran = run_queued_tasks()
        if ran:
            report.parts.append(f"tasks run: {ran}")
    except Exception:
        report.errors += 1
        log.exception("running queued tasks failed")
    report.seconds = time.monotonic() - started
    return report


class _Stopper:
    """Turns SIGTERM/SIGINT into "stop after this pass"; a second signal exits at once."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            print("milepost worker: stopping now", file=sys.stderr, flush=True)
            raise SystemExit(1)
        self.stopping = True
        print(
            f"milepost worker: {signal.strsignal(signum)} received, stopping after this pass "
            "(send it again to stop now)",
            file=sys.stderr,
            flush=True,
        )

    def install(self) -> dict[int, Any]:
        """Handle SIGTERM and SIGINT; the handlers they had (for `restore`)."""
        previous: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        for s in previous:
            signal.signal(s, self)
        return previous

    @staticmethod
    def restore(previous: dict[int, Any]) -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

    def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when asked to stop."""
        end = time.monotonic() + seconds
        while not self.stopping and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))


def run_worker(args: argparse.Namespace) -> int:
    """The ``milepost worker`` command."""
    from milepost.cli import CommandError, setup_django

    if args.interval <= 0:
        raise CommandError("--interval must be a positive number of seconds")
    setup_django()
    from django.db import close_old_connections

    # The database tasks worker logs "Starting worker …" at INFO on every pass.
    logging.getLogger("django_tasks_db").setLevel(logging.WARNING)
    stopper = _Stopper()
    previous = stopper.install()
    try:
        if args.once:
            report = run_pass(1)
            print(report.line(), flush=True)
            return 1 if report.errors else 0
        print(
            f"milepost worker: a pass every {args.interval:g} s (Ctrl+C or SIGTERM to stop)",
            flush=True,
        )
        number = 0
        while not stopper.stopping:
            number += 1
            close_old_connections()  # long-running: drop connections the server closed
            print(run_pass(number).line(), flush=True)
            stopper.sleep(args.interval)
        passes = f"{number} pass{'es' if number != 1 else ''}"
        print(f"milepost worker: stopped after {passes}", flush=True)
        return 0
    finally:
        stopper.restore(previous)


def add_worker_parser(subparsers: SubParsers) -> None:
    """Add ``milepost worker`` to the command's parser."""
    parser = subparsers.add_parser(
        "worker",
        help="run the background worker: reminders, digests, data sources, webhooks, tasks",
        description="Run the background loop: on each pass, send the check-in reminders and "
        "team digests that are due (each person's check-in day, in the organization's time "
        "zone), refresh stored progress once a night per organization, run due data sources "
        "and webhook deliveries, and run queued tasks of the database or Redis tasks backend. "
        "Safe to run several at once and to restart: nothing is sent twice. Stops after the "
        "current pass on SIGTERM or Ctrl+C. See docs/admin-guide.md, “Running the worker”.",
    )
    parser.add_argument(
        "--once", action="store_true", help="run one pass and exit (for cron and tests)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between passes (default 60)",
    )
    parser.set_defaults(handler=run_worker)
