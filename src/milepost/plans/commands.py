"""``milepost plan …``: commands on plan files.

``report`` and ``check`` run on a file alone (no database, no Django import). To add a
subcommand (issue 8 adds ``import`` and ``export``), write a ``_add_<name>(plan_commands)``
function that adds its parser with ``help``/``description`` and ``set_defaults(handler=...)``,
and append it to `PLAN_SUBCOMMANDS`. A handler that needs the database calls
`milepost.cli.setup_django()` inside the handler, never at import time, so ``report`` and
``check`` stay Django-free. `load_document` and `print_issues` are there to be reused.

Exit codes (as in `milepost.cli`): 0 fine, 1 the plan has errors (validation errors, or
findings of severity error for ``check``), 2 unusable input (missing or unreadable file, not
YAML/JSON, not a mapping, bad arguments).
"""

from __future__ import annotations

import argparse
import codecs
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from milepost.cli import CommandError
from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.errors import EngineError
from milepost.engine.model import Plan, Severity
from milepost.plans.document import PlanDocument, PlanIssue, PlanReadError, PlanValidationError

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PlanInvalid(Exception):
    """The file was read but breaks the format; its issues have been printed."""


def iso_date(text: str) -> date:
    """argparse type for ``--as-of``: a date written YYYY-MM-DD."""
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date written YYYY-MM-DD: {text!r}") from None


def print_issues(path: str, issues: list[PlanIssue], stream: TextIO) -> None:
    """One line per issue, ``FILE: path.in.file: message``, then a count."""
    for issue in issues:
        print(f"{path}: {issue}", file=stream)
    count = len(issues)
    print(f"{path}: {count} error{'s' if count != 1 else ''}", file=stream)


def load_document(path: str, issues_to: TextIO) -> PlanDocument:
    """Load a plan file for a command.

    Unreadable input raises `CommandError` (exit 2); a file that breaks the format prints
    every issue to `issues_to` and raises `PlanInvalid` (the caller exits 1).
    """
    return load_plan_file(path, issues_to)[1]


def load_plan_file(
    path: str, issues_to: TextIO, *, on_two_cores: bool = False
) -> tuple[dict[str, Any], PlanDocument]:
    """`load_document`, also giving the file's decoded data (read once), for a command that
    reports places in the file. ``on_two_cores``: as `parse_plan_data` (a large file)."""
    from milepost.plans.planfile import parse_plan_data, read_plan_data

    try:
        data = read_plan_data(path)  # its errors name the file
    except PlanReadError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    try:
        return data, parse_plan_data(data, decoded=True, on_two_cores=on_two_cores)
    except PlanReadError as exc:
        raise CommandError(f"{path}: {exc}", exit_code=2) from None
    except PlanValidationError as exc:
        print_issues(path, exc.issues, issues_to)
        raise PlanInvalid from None


def _as_of(args: argparse.Namespace, plan: Plan) -> date:
    if args.as_of is not None:
        as_of: date = args.as_of
        return as_of
    # "Today" is a calendar date in the organization's time zone, as every date in a plan.
    return datetime.now(ZoneInfo(plan.timezone)).date()


def _report(args: argparse.Namespace) -> int:
    with cyclic_gc_paused():
        return _run_report(args)


def _run_report(args: argparse.Namespace) -> int:
    try:
        document = load_document(args.file, sys.stderr)
    except PlanInvalid:
        return 1
    from milepost.plans.report import evaluate_plan, report_json, report_json_bytes, report_text

    try:
        evaluation = evaluate_plan(document.plan, _as_of(args, document.plan))
    except EngineError as exc:
        raise CommandError(f"{args.file}: {exc}", exit_code=1) from None
    if args.format == "json":
        out = sys.stdout
        binary = getattr(out, "buffer", None)
        if binary is not None and codecs.lookup(out.encoding or "ascii").name == "utf-8":
            # A report is megabytes of JSON: write orjson's UTF-8 bytes as they are.
            out.flush()
            binary.write(report_json_bytes(evaluation))
            binary.flush()
        else:
            out.write(report_json(evaluation))
    else:
        sys.stdout.write(report_text(evaluation, explain=args.explain))
    return 0


def _check(args: argparse.Namespace) -> int:
    with cyclic_gc_paused():
        return _run_check(args)


def _run_check(args: argparse.Namespace) -> int:
    path = args.file
    try:
        document = load_document(path, sys.stdout)
    except PlanInvalid:
        return 1
    from milepost.plans.report import evaluate_plan

    try:
        evaluation = evaluate_plan(document.plan, _as_of(args, document.plan), with_forecast=False)
    except EngineError as exc:
        print(f"{path}: {exc}", file=sys.stdout)
        print(f"{path}: 1 error", file=sys.stdout)
        return 1
    findings = evaluation.roadmap.findings
    # Allowed but probably unmeant (`PlanDocument.notes`): warnings, never errors.
    for note in document.notes:
        print(f"{path}: warning {note}")
    for f in findings:
        objects = f" [{', '.join(f.objects)}]" if f.objects else ""
        print(f"{path}: {f.severity.value} {f.code}: {f.message}{objects}")
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING) + len(document.notes)
    infos = len(findings) + len(document.notes) - errors - warnings
    verdict = "plan has errors" if errors else "valid"
    print(
        f"{path}: {verdict}; findings: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}, {infos} info"
    )
    return 1 if errors else 0


def _add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        metavar="FILE",
        help="plan file, YAML (.yaml/.yml) or JSON (.json); format: docs/plan-format.md",
    )


def _add_as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=iso_date,
        metavar="DATE",
        help="evaluate the plan as of this date, YYYY-MM-DD (default: today in the plan's "
        "time zone)",
    )


def _add_report(plan_commands: SubParsers) -> None:
    parser = plan_commands.add_parser(
        "report",
        help="progress, status, forecast, schedule, priority and findings of a plan file",
        description="Evaluate a plan file with no database: key-result and objective "
        "progress, expected progress, status, confidence and forecast; the initiatives' "
        "schedule, slack and priority; and the plan-health findings.",
    )
    _add_file_argument(parser)
    _add_as_of(parser)
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: tables for a terminal (default); json: one JSON object on stdout",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="with --format text, print how each number was computed",
    )
    parser.set_defaults(handler=_report)


def _add_check(plan_commands: SubParsers) -> None:
    parser = plan_commands.add_parser(
        "check",
        help="validate a plan file and print its plan-health findings (for CI)",
        description="Validate a plan file (every error with its path in the file) and print "
        "its plan-health findings. Exit 0 when valid with no error finding, 1 on any "
        "validation error or finding of severity error, 2 when the file cannot be read.",
    )
    _add_file_argument(parser)
    _add_as_of(parser)
    parser.set_defaults(handler=_check)


def _add_import_export(plan_commands: SubParsers) -> None:
    from milepost.plans.transfer_commands import add_export, add_import

    add_import(plan_commands)
    add_export(plan_commands)


# The extension point: one entry per `milepost plan` subcommand, in --help order.
PLAN_SUBCOMMANDS: list[Callable[[SubParsers], None]] = [_add_report, _add_check, _add_import_export]


def register(subparsers: SubParsers) -> None:
    """Add the ``plan`` command group to the ``milepost`` parser."""
    plan = subparsers.add_parser(
        "plan",
        help="plan files: report, check, import, export",
        description="Work with plan files: an organization's teams, cycles, objectives, key "
        "results and initiatives in YAML or JSON (see docs/plan-format.md).",
    )
    plan_commands = plan.add_subparsers(dest="plan_command", metavar="SUBCOMMAND")
    for add in PLAN_SUBCOMMANDS:
        add(plan_commands)

    def _usage(_args: argparse.Namespace) -> int:
        plan.print_help(sys.stderr)
        return 2

    plan.set_defaults(handler=_usage)
