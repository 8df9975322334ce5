"""Commands of the integrations app: ``milepost backup`` and ``milepost restore``.

`register` adds every command of this module; to add one, write a ``_add_<name>(subparsers)``
function and append it to `INTEGRATION_COMMANDS`. Handlers set Django up when they run (never
at import time: building the parser must stay fast and database-free).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from milepost.cli import CommandError, setup_django

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _backup(args: argparse.Namespace) -> int:
    setup_django()
    from milepost.integrations.backup import BackupError, backup

    try:
        manifest = backup(args.out, organization_slug=args.org)
    except BackupError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    scope = f"organization {args.org}" if args.org else "the whole instance"
    rows = sum(manifest.counts.values())
    print(f"Backed up {scope} to {args.out}: {rows} rows in {len(manifest.counts)} tables.")
    for label, count in manifest.counts.items():
        print(f"  {label}: {count}")
    if manifest.not_backed_up:
        print(f"Not backed up (no organization to scope them): {', '.join(manifest.not_backed_up)}")
    print("The backup holds password hashes and secrets: keep it where only admins can read it.")
    return 0


def _restore(args: argparse.Namespace) -> int:
    setup_django(migrated=False)
    from django.core.management import call_command

    from milepost.cli import pending_migrations
    from milepost.integrations.backup import BackupError, read_manifest, restore

    try:
        read_manifest(args.source)  # a bad backup is refused before the database is touched
        if pending_migrations():
            print("Applying migrations to this database first…", flush=True)
            call_command("migrate", interactive=False, verbosity=0)
        result = restore(args.source, organization_slug=args.org, as_slug=args.as_slug)
    except BackupError as exc:
        raise CommandError(str(exc), exit_code=3) from None
    where = ", ".join(result.organizations) or "(no organization)"
    ids = "ids kept" if result.kept_ids else "new ids"
    print(f"Restored {where} from {args.source} ({ids}); checksums, counts and plans verified.")
    for label, count in sorted(result.inserted.items()):
        print(f"  {label}: {count}")
    if result.matched_users:
        print(f"  {result.matched_users} people already had an account here (matched by email)")
    for label, count in sorted(result.skipped.items()):
        print(f"  {label}: {count} already present, kept", file=sys.stderr)
    return 0


def _add_backup(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="write a consistent backup of one organization or the whole instance",
        description="Write a consistent snapshot (one read transaction) of one organization "
        "(--org) or of the whole instance to OUT: a new directory, or a zip file if OUT ends "
        "in .zip. It holds each organization's plan in the canonical plan-file format, every "
        "row of its tables (members, roles, audit log, retrospectives, history), and a "
        "manifest.json with row counts and SHA-256 checksums. See docs/admin-guide.md.",
    )
    parser.add_argument("--org", metavar="SLUG", help="back up only this organization")
    parser.add_argument("out", metavar="OUT", help="new directory or .zip file to write")
    parser.set_defaults(handler=_backup)


def _add_restore(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore a backup into an empty database or organization",
        description="Verify the backup's checksums (refusing, with nothing written, on any "
        "mismatch), then restore it in one transaction: a whole-instance backup into an empty "
        "database (ids kept), or one organization into this database (new ids), under its own "
        "slug or --as NEWSLUG (which must be free or an empty organization). Counts and plans "
        "are checked before committing.",
    )
    parser.add_argument("source", metavar="IN", help="backup directory or .zip file")
    parser.add_argument(
        "--org",
        metavar="SLUG",
        help="restore only this organization (default for a one-organization backup: its own)",
    )
    parser.add_argument(
        "--as",
        dest="as_slug",
        metavar="NEWSLUG",
        help="restore the organization under this slug instead of its own",
    )
    parser.set_defaults(handler=_restore)


# The extension point: one entry per command of this module, in --help order.
INTEGRATION_COMMANDS: list[Callable[[SubParsers], None]] = [_add_backup, _add_restore]


def register(subparsers: SubParsers) -> None:
    """Add the integrations commands to the ``milepost`` parser."""
    for add in INTEGRATION_COMMANDS:
        add(subparsers)
