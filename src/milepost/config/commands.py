"""Commands that run the instance: demo, serve, migrate, createuser, worker."""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys

from milepost.cli import CommandError, setup_django
from milepost.integrations.worker import add_worker_parser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="migrate, load the demo organization (once) and serve on http://127.0.0.1:8000",
        description="Run Milepost for a first look: migrates the database (SQLite in ./var by "
        "default), loads the demo organization if the database has none, prints the URL and a "
        "login, and serves the app with the development server.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; `make demo PORT=8001`)"
    )
    demo.add_argument("--no-serve", action="store_true", help="load the demo and exit")
    demo.set_defaults(handler=run_demo)

    serve = subparsers.add_parser(
        "serve",
        help="run the production server (gunicorn) on DATABASE_URL",
        description="Collect static files, apply migrations and run gunicorn with the "
        "production settings (set MILEPOST_ENV=production and MILEPOST_SECRET_KEY).",
    )
    serve.add_argument(
        "--bind",
        default=os.environ.get("MILEPOST_BIND", "127.0.0.1:8000"),
        metavar="HOST:PORT",
        help="address and port to listen on (default: MILEPOST_BIND or 127.0.0.1:8000)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("MILEPOST_WORKERS", "2")),
        help="gunicorn worker processes (default: MILEPOST_WORKERS or 2)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("MILEPOST_THREADS", "8")),
        help="threads per worker (gunicorn gthread workers; 1: sync workers). A request "
        "spends much of its time waiting for the database; threads let a worker serve "
        "others meanwhile (default 8)",
    )
    serve.add_argument("--no-migrate", action="store_true", help="skip applying migrations")
    serve.set_defaults(handler=run_serve)

    migrate = subparsers.add_parser(
        "migrate",
        help="apply database migrations",
        description="Create or update Milepost's tables in the database of DATABASE_URL "
        "(SQLite in ./var by default). Safe to run again: applied migrations are skipped.",
    )
    migrate.set_defaults(handler=run_migrate)

    createuser = subparsers.add_parser(
        "createuser",
        help="create a person and (optionally) add them to an organization",
        description="Create a user who signs in with EMAIL. The password is read from "
        "--password, the MILEPOST_PASSWORD environment variable, or a prompt.",
    )
    createuser.add_argument("--email", required=True, help="the address they sign in with")
    createuser.add_argument("--name", default="", help="full name")
    createuser.add_argument("--password", help="password (prefer MILEPOST_PASSWORD or the prompt)")
    createuser.add_argument("--org", help="organization slug to join")
    createuser.add_argument(
        "--role",
        default="member",
        choices=["owner", "admin", "member", "viewer"],
        help="role in --org",
    )
    createuser.add_argument(
        "--superuser", action="store_true", help="also a Django admin superuser"
    )
    createuser.set_defaults(handler=run_createuser)

    add_worker_parser(subparsers)  # milepost worker (in milepost.integrations.worker)


def run_migrate(args: argparse.Namespace) -> int:
    setup_django(migrated=False)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    return 0


def _port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (as the development server binds)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def run_demo(args: argparse.Namespace) -> int:
    if not args.no_serve and not _port_is_free(args.host, args.port):
        raise CommandError(
            f"port {args.port} on {args.host} is already in use (another Milepost?): "
            f"choose another, e.g. `milepost demo --port {args.port + 1}` "
            f"or `make demo PORT={args.port + 1}`"
        )
    setup_django(migrated=False)
    from django.core.management import call_command

    from milepost.demo import loader

    print("Applying migrations…", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    created = loader.ensure_demo(progress=lambda msg: print(f"  {msg}", flush=True))
    print("Demo organization " + ("loaded." if created else "already present (kept as is)."))
    url = f"http://{args.host}:{args.port}/"
    print()
    print(f"  Milepost is at {url}")
    print(f"  Sign in as {loader.DEMO_LOGIN} with password {loader.DEMO_PASSWORD}")
    print(f"  Other roles, same password: {loader.DEMO_ADMIN_LOGIN} (admin),")
    print(f"    {loader.DEMO_MEMBER_LOGIN} (member), {loader.DEMO_VIEWER_LOGIN} (viewer)")
    print(f"  Django admin: {url}admin/ (as {loader.DEMO_LOGIN})")
    print()
    if args.no_serve:
        return 0
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, use_threading=True)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("MILEPOST_ENV", "production")
    setup_django(migrated=args.no_migrate)
    from django.core.management import call_command

    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    argv = [
        gunicorn,
        "milepost.config.wsgi:application",
        "--bind",
        args.bind,
        "--workers",
        str(args.workers),
        *(
            [
                "--worker-class",
                "milepost.config.gunicorn_worker.BalancedThreadWorker",
                "--threads",
                str(args.threads),
            ]
            if args.threads > 1
            else []
        ),
        "--access-logfile",
        "-",
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        # Idle keep-alive connections stay open 30 s (gunicorn's default is 2): clients and
        # proxies that reuse a connection after a pause would otherwise meet a reset.
        "--keep-alive",
        "30",
    ]
    print(
        f"Serving on http://{args.bind}/ with {args.workers} workers x {args.threads} threads",
        flush=True,
    )
    os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with gunicorn, fixed argv
    return 0  # pragma: no cover


def run_createuser(args: argparse.Namespace) -> int:
    setup_django()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from milepost.accounts.models import User
    from milepost.errors import DomainError
    from milepost.organizations.access import system_actor
    from milepost.organizations.models import Organization, Role
    from milepost.organizations.services import add_member

    password = args.password or os.environ.get("MILEPOST_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise CommandError("no password: pass --password or set MILEPOST_PASSWORD")
        password = getpass.getpass("Password: ")
    if User.objects.filter(email__iexact=args.email).exists():
        raise CommandError(f"a user with email {args.email} already exists", 3)
    organization = None
    if args.org:
        organization = Organization.objects.active().filter(slug=args.org).first()
        if organization is None:
            raise CommandError(f"organization {args.org!r} not found", 3)
    try:
        validate_password(password)
    except ValidationError as exc:
        raise CommandError("password rejected: " + " ".join(exc.messages), 3) from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                args.email,
                password,
                full_name=args.name,
                is_staff=args.superuser,
                is_superuser=args.superuser,
            )
            if organization is not None:
                add_member(actor=system_actor(organization), user=user, role=Role(args.role))
    except DomainError as exc:
        raise CommandError(str(exc), 3) from exc
    where = f" in {organization.slug} as {args.role}" if organization else ""
    print(f"Created {user.email}{where}.")
    return 0
