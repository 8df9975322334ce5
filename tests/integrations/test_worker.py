"""``milepost worker``: one pass with --once (reminders out, integrations work, queued tasks of
the database backend), a crashing step that does not stop the others, and a graceful stop on
SIGTERM. These tests commit (the worker runs outside a test transaction)."""

from __future__ import annotations

import datetime as dt
import os
import signal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from milepost import cli
from milepost.integrations import worker
from milepost.integrations.models import NotificationKind, NotificationLog, NotificationState
from milepost.organizations.models import Organization, Role
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def due_today(settings: Any) -> Organization:
    """An organization whose check-in day is today, with one key result due."""
    settings.NOTIFICATION_SEND_HOUR = 0
    org = factories.make_org("Acme", "acme", default_checkin_weekday=timezone.now().weekday())
    ana = factories.make_member(org, Role.MEMBER, "ana@acme.test")
    objective = factories.make_objective(factories.make_cycle(org, "q"), "grow")
    factories.make_key_result(objective, "revenue", title="Revenue", owner=ana)
    return org


def test_worker_once_runs_one_pass_and_exits(
    due_today: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["worker", "--once"]) == 0
    out = capsys.readouterr().out
    assert " pass 1: " in out
    assert "reminders claimed: 1" in out
    assert "messages sent: 1" in out
    assert [m.to for m in mail.outbox] == [["ana@acme.test"]]
    assert NotificationLog.objects.get(kind=NotificationKind.RECOMPUTE).state == "sent"

    # Restarted (cron runs it again): nothing is sent twice.
    assert cli.main(["worker", "--once"]) == 0
    assert "nothing due" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def test_worker_help_and_bad_interval(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["worker", "--help"])
    assert "--once" in capsys.readouterr().out
    assert cli.main(["worker", "--interval", "0"]) == 2
    assert "--interval must be a positive number" in capsys.readouterr().err


def test_a_crashing_step_is_logged_and_the_others_still_run(
    due_today: Organization, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from milepost.integrations import tasks

    def broken(now: dt.datetime | None = None) -> Any:
        raise RuntimeError("connector bug")

    monkeypatch.setattr(tasks, "run_due_work", broken)
    report = worker.run_pass()
    assert report.errors == 1
    assert "integrations work failed" in caplog.text
    assert len(mail.outbox) == 1  # the reminders ran anyway
    assert "(1 step failed, see the log)" in report.line()


def test_queued_database_tasks_run_in_the_pass(due_today: Organization, settings: Any) -> None:
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from milepost.integrations.tasks import raise_new_findings_task

    assert worker.drain_database_tasks() is None  # tests use the immediate backend
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    first = raise_new_findings_task.enqueue(due_today.pk)
    second = raise_new_findings_task.enqueue(due_today.pk)
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 2
    report = worker.run_pass()
    assert "tasks run: 2" in report.line()
    first.refresh()
    second.refresh()
    assert first.status == second.status == TaskResultStatus.SUCCESSFUL
    assert worker.drain_database_tasks() == 0


def test_sigterm_stops_the_loop_after_the_current_pass(
    due_today: Organization, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    passes: list[int] = []
    real_pass = worker.run_pass

    def pass_then_terminate(number: int = 1, now: dt.datetime | None = None) -> Any:
        passes.append(number)
        os.kill(os.getpid(), signal.SIGTERM)  # what systemd or Kubernetes sends
        return real_pass(number, now)

    monkeypatch.setattr(worker, "run_pass", pass_then_terminate)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["worker", "--interval", "30"]) == 0
    assert passes == [1]
    out = capsys.readouterr()
    assert "stopped after 1 pass" in out.out
    assert "stopping after this pass" in out.err
    assert signal.getsignal(signal.SIGTERM) == before  # handlers given back
    # The pass that was running finished its work.
    assert (
        NotificationLog.objects.get(kind=NotificationKind.REMINDER).state == NotificationState.SENT
    )
