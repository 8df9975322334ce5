"""The `milepost` command.

Each command group lives beside its domain (``milepost.plans.commands``, …) and exposes
``register(subparsers)``. A command's handler takes the parsed arguments and returns an exit
code. Commands that need the database call `setup_django()` first; the `plan` commands
(report, check) run on a file alone and never touch Django.

Exit codes: 0 success, 1 a check found problems, 2 unusable input (unreadable file, bad
arguments), 3 a domain rule refused the change, 141 the reader of the output went away
(``milepost plan export --org acme | head``: the program stops quietly, as a Unix tool
stopped by SIGPIPE does).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, Protocol

Handler = Callable[[argparse.Namespace], int]

# Modules that contribute commands, in the order they appear in --help.
COMMAND_MODULES = (
    "milepost.config.commands",  # demo, serve, migrate, createuser, worker
    "milepost.plans.commands",  # plan report/check/import/export
    "milepost.accounts.commands",  # token
    "milepost.integrations.commands",  # backup, restore
)


class _Registrar(Protocol):
    def __call__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


class CommandError(Exception):
    """A failure to print as one line (no traceback) with an exit code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def setup_django(*, migrated: bool = True) -> None:
    """Configure Django for commands that need the database.

    With ``migrated`` (the default) the database must already hold Milepost's tables, else a
    one-line error says to run ``milepost migrate`` (rather than a traceback from the first
    query). The commands that create the schema themselves (migrate, demo, serve, restore)
    pass ``migrated=False``.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.config.settings")
    import django

    django.setup()
    if migrated:
        pending = pending_migrations()
        if pending:
            raise CommandError(
                f"the database is not ready ({len(pending)} migrations not applied, "
                f"e.g. {pending[0]}): run `milepost migrate` first"
            )


def pending_migrations() -> list[str]:
    """The migrations not yet applied to the default database, in the order they would run."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


# Objects a command keeps alive until the `milepost` program ends (`hold_until_exit`); None
# when the commands run in process (tests, other callers), which keep nothing.
_held_until_exit: list[object] | None = None


def hold_until_exit(*objects: object) -> None:
    """Keep a command's large objects alive until the `milepost` program ends, which then
    leaves without freeing them: freeing millions of objects one by one (seconds after an
    organization's export or import) is work the operating system does at once when the
    process ends. Run in process (not as the program), this keeps nothing."""
    if _held_until_exit is not None:
        _held_until_exit.extend(objects)


# The exit code of a program whose output's reader went away: a shell's 128 + SIGPIPE.
BROKEN_PIPE_EXIT = 141


def run() -> NoReturn:
    """The `milepost` program: `main`, then exit. When a command held objects until the
    end, the process leaves at once (`os._exit`) after flushing its output and logs and
    closing its database connections. When the reader of its output goes away (``| head``),
    it stops quietly with `BROKEN_PIPE_EXIT`."""
    global _held_until_exit
    _held_until_exit = []
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Whatever is still buffered would fail again when Python flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = BROKEN_PIPE_EXIT
    if not _held_until_exit:
        sys.exit(code)
    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milepost",
        description="Milepost: OKRs, roadmap and delivery in one place.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # that group is not built yet
                continue
            raise
        register: _Registrar = module.register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return handler(args)
    except CommandError as exc:
        print(f"milepost: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("milepost: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = _setup_problem(exc)
        if message is None:
            raise
        print(f"milepost: error: {message}", file=sys.stderr)
        return 2


def _setup_problem(exc: Exception) -> str | None:
    """One line for a problem of the installation rather than of the program (a missing or
    malformed setting, a database that cannot be reached), else None (a traceback is due)."""
    if "django" not in sys.modules:
        return None
    from django.core.exceptions import ImproperlyConfigured
    from django.db import OperationalError

    if isinstance(exc, ImproperlyConfigured):
        return f"configuration: {exc}"
    if isinstance(exc, OperationalError):
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the database cannot be used ({first_line}); check DATABASE_URL"
    return None


if __name__ == "__main__":
    # `python -m milepost.cli`: run the imported module's program, so the CommandError that
    # the command modules raise (milepost.cli's) is the one caught, not this __main__ copy's.
    from milepost.cli import run as _run

    _run()
