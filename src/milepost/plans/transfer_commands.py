"""``milepost plan import`` and ``milepost plan export``: plan files into and out of the
database (registered through `milepost.plans.commands.PLAN_SUBCOMMANDS`).

Nothing here imports Django at module level, so ``plan report`` and ``plan check`` stay fast
and database-free; the handlers set Django up when they run.

Exit codes: 0 done (or nothing to do); 1 the file breaks the format; 2 unusable input (an
unreadable file, an unknown organization or cycle); 3 the database refused the import (every
reason listed with its path in the file; nothing was written).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from milepost.cli import CommandError, hold_until_exit, setup_django
from milepost.engine.collector import cyclic_gc_paused
from milepost.plans.commands import (
    PlanInvalid,
    load_plan_file,
    print_issues,
)

if TYPE_CHECKING:
    from milepost.plans.import_support import ImportResult

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _print_result(path: str, result: ImportResult, *, verbose: bool) -> None:
    for issue in result.warnings:
        print(f"{path}: warning: {issue}", file=sys.stderr)
    if result.errors:
        print_issues(path, result.errors, sys.stderr)
        print(f"{path}: nothing was imported", file=sys.stderr)
        return
    for line in result.summary_lines():
        print(f"  {line}")
    if verbose or result.dry_run:
        for change in result.changes:
            print(f"  - {change}")
    slug = result.organization_slug
    if result.dry_run:
        verdict = "would change" if result.changed else "would change nothing in"
        print(f"Dry run: the import {verdict} {slug}; nothing was written.")
    elif result.created_organization:
        print(f"Imported into the new organization {slug}.")
    elif result.changed:
        print(f"Imported into {slug}.")
    else:
        print(f"Nothing to change: {slug} already matches {path}.")


@cyclic_gc_paused()
def _import(args: argparse.Namespace) -> int:
    try:
        data, document = load_plan_file(args.file, sys.stderr, on_two_cores=True)
    except PlanInvalid:
        print(f"{args.file}: nothing was imported", file=sys.stderr)
        return 1
    setup_django()
    from milepost.plans.importer import import_plan

    result = import_plan(
        actor_or_none=None,
        document=document,
        organization_slug=args.org,
        dry_run=args.dry_run,
        source=data,
    )
    _print_result(args.file, result, verbose=args.verbose)
    hold_until_exit(data, document, result)
    return 3 if result.errors else 0


def _write_atomically(path: Path, text: bytes) -> None:
    """Write `text` to `path` through a temporary file, so a failure leaves no half file."""
    directory = path.parent if str(path.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@cyclic_gc_paused()
def _export(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else None
    fmt: Literal["yaml", "json"] = args.format or (
        "json" if output is not None and output.suffix.lower() == ".json" else "yaml"
    )
    setup_django()
    from milepost.errors import NotFound
    from milepost.organizations.models import Organization
    from milepost.plans.canonical import canonical_data
    from milepost.plans.document import PlanValidationError
    from milepost.plans.exporter import export_plan
    from milepost.plans.planfile import start_plan_data_check
    from milepost.plans.textio import dump_json_bytes, dump_yaml

    organization = Organization.objects.filter(slug=args.org).first()
    if organization is None:
        raise CommandError(f"no organization with the slug {args.org!r}", exit_code=2)
    try:
        document = export_plan(organization, cycle_key=args.cycle)
    except NotFound as exc:
        raise CommandError(exc.detail, exit_code=2) from None
    data = canonical_data(document)
    # The database allows a few states the format refuses (a `milepost.plans.semantic` rule):
    # the file's data is checked as `plan check` would read it back (on other cores, while it
    # is written out here); the export is still written, and says so.
    check = start_plan_data_check(data)
    text = dump_json_bytes(data) if fmt == "json" else dump_yaml(data).encode()
    if issues := check():
        refused = PlanValidationError(issues)
        print(
            f"warning: the export does not pass `milepost plan check`: {refused}", file=sys.stderr
        )
    if output is None:
        sys.stdout.write(text.decode())
    else:
        try:
            _write_atomically(output, text)
        except OSError as exc:
            raise CommandError(f"{output}: cannot write: {exc.strerror or exc}") from None
        print(f"Exported {organization.slug} to {output}.", file=sys.stderr)
    hold_until_exit(document, data, text)
    return 0


def add_import(plan_commands: SubParsers) -> None:
    parser = plan_commands.add_parser(
        "import",
        help="import a plan file into an organization (all or nothing)",
        description="Create or update the organization's teams, cycles, objectives, key "
        "results, check-ins, initiatives, milestones, dependencies and tasks from a plan file, "
        "by key, in one transaction: on any error nothing changes and every error is listed "
        "with its path in the file. The organization is created if the slug is new. Importing "
        "the same file twice changes nothing the second time.",
    )
    parser.add_argument("file", metavar="FILE", help="plan file (YAML or JSON)")
    parser.add_argument("--org", required=True, metavar="SLUG", help="organization slug")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what the import would change, and write nothing",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every change, not only the counts"
    )
    parser.set_defaults(handler=_import)


def add_export(plan_commands: SubParsers) -> None:
    parser = plan_commands.add_parser(
        "export",
        help="export an organization's plan as a plan file (canonical, deterministic)",
        description="Write the organization's plan (or one cycle's) in the plan-file format: "
        "sorted keys, ISO dates, numbers as stored, the same text for the same plan.",
    )
    parser.add_argument("--org", required=True, metavar="SLUG", help="organization slug")
    parser.add_argument("--cycle", metavar="KEY", help="only this cycle's plan")
    parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        help="yaml (default) or json (default for an --output ending in .json)",
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE instead of standard output"
    )
    parser.set_defaults(handler=_export)
