"""The `milepost` command as a new admin meets it: help on everything, one-line errors on a
database that is not ready, a demo that says when its port is taken, readable dev emails."""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from django.core.mail import EmailMultiAlternatives

from milepost.cli import BROKEN_PIPE_EXIT, build_parser, hold_until_exit, main
from milepost.config.console_mail import ReadableConsoleBackend


def _subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += [sub, *_subcommands(sub)]
    return found


def test_every_command_has_a_description_and_every_option_a_help() -> None:
    commands = _subcommands(build_parser())
    assert {"milepost serve", "milepost migrate", "milepost demo"} <= {c.prog for c in commands}
    missing = [
        f"{command.prog} {action.dest}"
        for command in commands
        for action in command._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert missing == []
    assert all(command.description for command in commands if command.prog.count(" ") == 1), [
        c.prog for c in commands if not c.description
    ]


def _milepost(
    args: list[str], database_url: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, **variables}
    env.pop("MILEPOST_TESTING", None)
    milepost = Path(sys.executable).parent / "milepost"  # the installed console script
    return subprocess.run(  # noqa: S603 - the project's own entry point, no shell
        [str(milepost), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_command_on_a_database_without_tables_says_to_migrate(tmp_path: Path) -> None:
    done = _milepost(["plan", "export", "--org", "acme"], f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "run `milepost migrate` first" in done.stderr


def test_restore_refuses_a_missing_backup_before_touching_the_database(tmp_path: Path) -> None:
    database = tmp_path / "new.sqlite3"
    done = _milepost(["restore", str(tmp_path / "nowhere.zip")], f"sqlite:///{database}")
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert "milepost: error:" in done.stderr
    assert "Applying migrations" not in done.stdout


def test_the_demo_says_when_its_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["demo", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert f"--port {port + 1}" in err
    assert "PORT=" in err


def test_development_emails_print_long_links_whole() -> None:
    link = (
        "https://okr.example.company.test/password/reset/MQ/cz8abc-" + "0123456789abcdef" * 2 + "/"
    )
    message = EmailMultiAlternatives(
        "Reset your Milepost password — now",
        f"Choose a new password here:\n\n{link}\n",
        "milepost@localhost",
        ["ada@example.test"],
    )
    message.attach_alternative(f'<p><a href="{link}">Choose a new password</a></p>', "text/html")
    stream = io.StringIO()
    ReadableConsoleBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert f"\n{link}\n" in printed
    assert f'href="{link}"' in printed
    assert "Subject: Reset your Milepost password — now" in printed
    assert "=\n" not in printed


def test_a_configuration_problem_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    done = _milepost(["migrate"], env_url, MILEPOST_ENV="production", MILEPOST_SECRET_KEY="")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "milepost: error: configuration: MILEPOST_SECRET_KEY must be set" in done.stderr


def test_an_unreachable_database_is_one_line_not_a_traceback() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once the socket is closed
    done = _milepost(["migrate"], f"postgres://postgres@127.0.0.1:{port}/milepost")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "the database cannot be used" in done.stderr
    assert "check DATABASE_URL" in done.stderr


def test_the_program_leaves_at_once_after_an_export_with_its_output_whole(tmp_path: Path) -> None:
    # The export and import hold their data until the program ends, which then leaves
    # without freeing it (`hold_until_exit`): everything printed and written must be there.
    # Without PYTHONUNBUFFERED, output to a pipe is buffered: only the flush before leaving
    # gets it out.
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    plan = Path(__file__).resolve().parents[1] / "examples" / "acme-plan.yaml"
    unbuffered = {"PYTHONUNBUFFERED": ""}
    assert _milepost(["migrate"], url).returncode == 0
    imported = _milepost(["plan", "import", str(plan), "--org", "acme"], url, **unbuffered)
    assert imported.returncode == 0, imported.stderr
    assert "Imported into the new organization acme." in imported.stdout
    written = tmp_path / "acme.json"
    exported = _milepost(["plan", "export", "--org", "acme", "-o", str(written)], url, **unbuffered)
    assert exported.returncode == 0, exported.stderr
    assert f"Exported acme to {written}." in exported.stderr
    printed = _milepost(["plan", "export", "--org", "acme", "--format", "json"], url, **unbuffered)
    assert printed.returncode == 0, printed.stderr
    assert len(printed.stdout) > 10_000
    assert printed.stdout == written.read_text()


def test_a_command_run_in_process_keeps_nothing_until_exit() -> None:
    class Data:
        pass

    data = Data()
    alive = weakref.ref(data)
    hold_until_exit(data)
    del data
    assert alive() is None


def test_output_to_a_reader_that_went_away_stops_quietly(tmp_path: Path) -> None:
    # `milepost plan export --org acme | head`: the pipe closes before the output is written.
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    plan = Path(__file__).resolve().parents[1] / "examples" / "acme-plan.yaml"
    assert _milepost(["migrate"], url).returncode == 0
    assert _milepost(["plan", "import", str(plan), "--org", "acme"], url).returncode == 0
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("MILEPOST_TESTING", None)
    for argv in (["plan", "export", "--org", "acme"], ["plan", "report", str(plan)]):
        reader, writer = os.pipe()
        os.close(reader)
        try:
            done = subprocess.run(  # noqa: S603 - the project's own entry point, no shell
                [str(Path(sys.executable).parent / "milepost"), *argv],
                env=env,
                stdout=writer,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            os.close(writer)
        assert done.stderr == "", argv
        assert done.returncode == BROKEN_PIPE_EXIT, argv
