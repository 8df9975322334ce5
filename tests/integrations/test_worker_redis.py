"""The Redis tasks backend (``MILEPOST_TASKS_BACKEND=redis``): settings, and ``milepost worker``
running the queued RQ jobs in its passes — each job once, however many workers run.

The worker tests need Redis on 127.0.0.1:6379 (they use database 15, emptied before and after
each test) and are skipped when it is not reachable. They commit (the worker runs outside a
test transaction, and the race test's threads have their own database connections)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import django_rq
import pytest
import redis
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_rq import Job

from milepost import cli
from milepost.integrations import worker
from milepost.integrations.models import AllowedHost, DataSource, DataSourceKind
from milepost.integrations.redis_tasks import drain_redis_tasks
from milepost.integrations.services import configure_data_source
from milepost.integrations.tasks import raise_new_findings_task, run_data_source_task
from milepost.okrs.models import CheckIn, KeyResult
from milepost.organizations.access import Actor
from tests.integrations.conftest import LocalServer, Received, Reply

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def _redis_unreachable() -> str:
    """Why Redis cannot be used for these tests ('' when it can)."""
    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_TEST_URL} ({exc})"
    return ""


_UNREACHABLE = _redis_unreachable()
needs_redis = pytest.mark.skipif(bool(_UNREACHABLE), reason=_UNREACHABLE or "Redis reachable")


@pytest.fixture
def redis_tasks(settings: Any) -> Iterator[redis.Redis]:
    """The Redis backend as the default tasks backend, on an empty Redis database 15. Changing
    TASKS resets django.tasks' cached backends (its setting_changed receiver)."""
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    conn.flushdb()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_TEST_URL, "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    try:
        yield conn
    finally:
        conn.flushdb()
        conn.close()


def _queued() -> int:
    return int(django_rq.get_queue("default", job_class=Job).count)


def _idle_http_source(admin: Actor, key_result: KeyResult, url: str) -> DataSource:
    """An HTTP data source that is not due, so only an enqueued task runs it."""
    source = configure_data_source(
        actor=admin,
        key_result=key_result,
        kind=DataSourceKind.HTTP_JSON,
        url=url,
        json_path="$.data.total",
        schedule="weekly",
    )
    DataSource.objects.filter(pk=source.pk).update(
        next_run_at=timezone.now() + dt.timedelta(days=6), last_run_at=timezone.now()
    )
    return source


# --- the worker runs the queued jobs ------------------------------------------------------------


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_queued_task_runs_in_the_next_pass_once(
    redis_tasks: redis.Redis,
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
) -> None:
    server.json("/metrics", {"data": {"total": 42}})
    source = _idle_http_source(admin, key_result, server.url("/metrics"))
    assert worker.run_queued_tasks() == 0  # the Redis backend, nothing queued yet

    result = run_data_source_task.enqueue(source.pk)
    assert result.status == TaskResultStatus.READY
    assert _queued() == 1
    assert not CheckIn.objects.filter(key_result=key_result).exists()  # nothing ran yet

    report = worker.run_pass()
    assert report.errors == 0, report.line()
    assert "tasks run: 1" in report.line()
    assert report.seconds < 20  # a pass must not wait on RQ's command-channel thread
    assert "data sources run" not in report.line()  # the task ran it, not the due-work step
    assert server.paths() == ["/metrics"]
    assert CheckIn.objects.get(key_result=key_result).value == Decimal(42)
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal(42)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"ran": True, "ok": True, "error": ""}

    # A second pass (a second worker, or the same one later) finds nothing to run.
    again = worker.run_pass()
    assert "tasks run" not in again.line()
    assert server.paths() == ["/metrics"]
    assert CheckIn.objects.filter(key_result=key_result).count() == 1
    assert len(Job.fetch(result.id, connection=redis_tasks).results()) == 1
    assert _queued() == 0


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_each_job_exactly_once(redis_tasks: redis.Redis) -> None:
    enqueued = [raise_new_findings_task.enqueue(10_000 + n) for n in range(30)]
    assert _queued() == 30
    start = threading.Barrier(2)
    counts: list[int | None] = []
    failures: list[BaseException] = []

    def one_worker() -> None:
        try:
            start.wait(timeout=10)
            counts.append(drain_redis_tasks())
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()  # this thread's own database connection

    threads = [threading.Thread(target=one_worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(counts) == 2
    assert sum(c or 0 for c in counts) == 30
    assert _queued() == 0
    for result in enqueued:
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL
        assert result.return_value == 0  # no such organization: nothing to compare
        assert len(Job.fetch(result.id, connection=redis_tasks).results()) == 1  # run once


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_sigterm_during_the_jobs_stops_after_the_current_one(
    redis_tasks: redis.Redis,
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def terminate_then_answer(request: Received) -> Reply:
        os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends, while the first job runs
        return Reply(200, json.dumps({"data": {"total": 7}}), {"Content-Type": "application/json"})

    server.routes["/metrics"] = terminate_then_answer
    source = _idle_http_source(admin, key_result, server.url("/metrics"))
    first = run_data_source_task.enqueue(source.pk)
    run_data_source_task.enqueue(source.pk)
    before = signal.getsignal(signal.SIGTERM)

    assert cli.main(["worker", "--interval", "30"]) == 0

    out = capsys.readouterr()
    assert "stopping after this pass" in out.err
    assert "tasks run: 1" in out.out
    assert "stopped after 1 pass" in out.out
    first.refresh()
    assert first.status == TaskResultStatus.SUCCESSFUL  # the running job finished
    assert _queued() == 1  # the next one waits for the next worker
    assert signal.getsignal(signal.SIGTERM) == before  # handlers given back


@pytest.mark.django_db(transaction=True)
def test_redis_down_fails_the_step_not_the_pass(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/15"}}  # nothing listens
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    report = worker.run_pass()
    assert report.errors == 1
    assert "(1 step failed, see the log)" in report.line()
    assert "running queued tasks failed" in caplog.text


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_other_backends_are_left_alone(redis_tasks: redis.Redis, settings: Any) -> None:
    raise_new_findings_task.enqueue(10_000)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    assert drain_redis_tasks() is None
    assert worker.run_queued_tasks() is None
    assert _queued() == 1


# --- settings ------------------------------------------------------------------------------------


def _settings(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MILEPOST_", "DJANGO_")) and k != "REDIS_URL"
    }
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        env={
            **clean,
            "MILEPOST_VAR_DIR": os.environ.get("MILEPOST_VAR_DIR", str(ROOT / "var")),
            "DJANGO_SETTINGS_MODULE": "milepost.config.settings",
            **env,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


_DUMP = (
    "import json, milepost.config.settings as s;"
    "print(json.dumps([s.TASKS, getattr(s, 'RQ_QUEUES', None), 'django_rq' in s.INSTALLED_APPS]))"
)


def test_redis_backend_without_redis_url_stops_start_up_naming_both_variables() -> None:
    result = _settings({"MILEPOST_TASKS_BACKEND": "redis"}, _DUMP)
    assert result.returncode != 0
    assert "ImproperlyConfigured: MILEPOST_TASKS_BACKEND=redis needs REDIS_URL" in result.stderr
    dotted = _settings({"MILEPOST_TASKS_BACKEND": "django_tasks_rq.RQBackend"}, _DUMP)
    assert "ImproperlyConfigured: MILEPOST_TASKS_BACKEND=django_tasks_rq.RQBackend needs" in (
        dotted.stderr
    )


def test_backend_choices() -> None:
    url = "redis://cache.internal:6379/2"
    redis_result = _settings({"MILEPOST_TASKS_BACKEND": "redis", "REDIS_URL": url}, _DUMP)
    assert redis_result.returncode == 0, redis_result.stderr
    tasks, queues, rq_app = json.loads(redis_result.stdout.splitlines()[-1])
    assert tasks == {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    assert queues == {"default": {"URL": url, "DEFAULT_TIMEOUT": 900}}
    assert rq_app is True

    # The default (outside tests): the database backend, and no RQ app even with a Redis cache.
    default = _settings({"REDIS_URL": url, "MILEPOST_TESTING": "0"}, _DUMP)
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout.splitlines()[-1]) == [
        {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
        None,
        False,
    ]
    database = _settings({"MILEPOST_TASKS_BACKEND": "database", "MILEPOST_TESTING": "0"}, _DUMP)
    assert json.loads(database.stdout.splitlines()[-1])[0] == {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend"}
    }


def test_the_system_check_is_clean_with_the_redis_backend(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--fail-level", "WARNING"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("MILEPOST_", "DJANGO_"))},
            "DJANGO_SETTINGS_MODULE": "milepost.config.settings",
            "MILEPOST_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
            "MILEPOST_TASKS_BACKEND": "redis",
            "REDIS_URL": REDIS_TEST_URL,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
