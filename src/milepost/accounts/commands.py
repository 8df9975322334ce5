"""`milepost token create|list|revoke`: personal API tokens from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from milepost.cli import CommandError, setup_django

if TYPE_CHECKING:  # the models load only after setup_django()
    from milepost.accounts.models import User
    from milepost.organizations.models import Organization


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser(
        "token",
        help="create, list or revoke personal API tokens",
        description="Personal API tokens for the REST API (Authorization: Bearer mp_…). "
        "A token belongs to one person in one organization and carries a role no higher "
        "than theirs. The secret is printed once, at creation; only its hash is stored.",
    )
    actions = token.add_subparsers(dest="token_command", metavar="ACTION")

    create = actions.add_parser("create", help="create a token and print its secret once")
    create.add_argument(
        "--user", required=True, metavar="EMAIL", help="the person the token acts as"
    )
    create.add_argument("--org", required=True, metavar="SLUG", help="the organization")
    create.add_argument(
        "--role",
        choices=["viewer", "member", "admin"],
        help="the token's role (default: member, or the person's role if lower)",
    )
    create.add_argument("--name", default="cli", help="a label to recognise the token by")
    create.add_argument("--expires-days", type=int, metavar="N", help="expire after N days")
    create.add_argument(
        "--key-result", type=int, metavar="ID", help="scope the token to recording one key result"
    )
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--org", required=True, metavar="SLUG", help="the organization")
    listing.add_argument("--user", metavar="EMAIL", help="only this person's tokens")
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("--org", required=True, metavar="SLUG", help="the organization")
    revoke.add_argument("token", metavar="ID_OR_PREFIX", help="the token's id or its prefix (mp_…)")
    revoke.set_defaults(handler=run_revoke)

    token.set_defaults(handler=lambda args: _help(token))

    unlock = subparsers.add_parser(
        "unlock",
        help="unlock a person's sign-in after repeated failed attempts",
        description="Clear the lock that repeated failed sign-ins put on an account (audited "
        "in the organization, as the system).",
    )
    unlock.add_argument("--email", required=True, metavar="EMAIL", help="the locked person")
    unlock.add_argument(
        "--org", metavar="SLUG", help="the organization to audit it in (default: their first)"
    )
    unlock.set_defaults(handler=run_unlock)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _organization(slug: str) -> Organization:
    from milepost.organizations.models import Organization

    organization = Organization.objects.active().filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"no organization with slug {slug!r}")
    return organization


def _user(email: str) -> User:
    from milepost.accounts.models import User

    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        raise CommandError(f"no user with email {email!r}")
    return user


def run_create(args: argparse.Namespace) -> int:
    setup_django()
    from django.utils import timezone

    from milepost.accounts.services import create_api_token
    from milepost.errors import DomainError
    from milepost.okrs.models import KeyResult
    from milepost.organizations.access import system_actor
    from milepost.organizations.models import ROLE_RANK, Membership, Role

    organization = _organization(args.org)
    user = _user(args.user)
    membership = Membership.objects.filter(
        organization=organization, user=user, archived_at__isnull=True
    ).first()
    if membership is None:
        raise CommandError(f"{user.email} is not a member of {organization.slug}")
    role = Role(args.role) if args.role else Role.MEMBER
    if args.role is None and ROLE_RANK[Role(membership.role)] < ROLE_RANK[role]:
        role = Role(membership.role)
    if args.expires_days is not None and args.expires_days < 1:
        raise CommandError("--expires-days must be at least 1")
    expires_at = timezone.now() + timedelta(days=args.expires_days) if args.expires_days else None
    key_result = None
    if args.key_result is not None:
        key_result = KeyResult.objects.filter(organization=organization, pk=args.key_result).first()
        if key_result is None:
            raise CommandError(f"no key result {args.key_result} in {organization.slug}")
    try:
        token, secret = create_api_token(
            actor=system_actor(organization, label="cli"),
            user=user,
            name=args.name,
            role=role,
            expires_at=expires_at,
            key_result=key_result,
        )
    except DomainError as exc:
        raise CommandError(exc.detail, exit_code=3) from exc
    print(secret)
    print(
        f"Token {token.pk} ({token.prefix}…) for {user.email} in {organization.slug}, role "
        f"{token.role}"
        + (f", expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "")
        + ". The secret above is shown once; store it now.",
        file=sys.stderr,
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    setup_django()
    from milepost.accounts.models import ApiToken

    organization = _organization(args.org)
    qs = ApiToken.objects.filter(organization=organization).select_related("user").order_by("id")
    if args.user:
        qs = qs.filter(user=_user(args.user))
    for token in qs:
        state = "revoked" if token.revoked_at else ("usable" if token.is_usable() else "expired")
        expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
        print(
            f"{token.pk}\t{token.prefix}…\t{token.user.email}\t{token.role}\t{state}\t"
            f"expires {expires}\t{token.name}"
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    setup_django()
    from milepost.accounts.models import ApiToken
    from milepost.accounts.services import revoke_api_token
    from milepost.organizations.access import system_actor

    organization = _organization(args.org)
    qs = ApiToken.objects.filter(organization=organization)
    ident = args.token.strip().rstrip("…")
    matches = (
        list(qs.filter(pk=int(ident)))
        if ident.isdigit() and len(ident) < 16
        else list(qs.filter(prefix=ident))
    )
    if len(matches) != 1:
        raise CommandError(f"no single token {ident!r} in {organization.slug}")
    token = revoke_api_token(actor=system_actor(organization, label="cli"), token=matches[0])
    print(f"Token {token.pk} ({token.prefix}…) revoked.")
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    setup_django()
    from milepost.accounts.signin import unlock_user
    from milepost.errors import DomainError
    from milepost.organizations.access import system_actor
    from milepost.organizations.models import Membership

    user = _user(args.email)
    memberships = Membership.objects.filter(
        user=user, archived_at__isnull=True, organization__archived_at__isnull=True
    ).select_related("organization")
    if args.org:
        memberships = memberships.filter(organization__slug=args.org)
    membership = memberships.order_by("organization__slug").first()
    if membership is None:
        raise CommandError(
            f"{user.email} is not a member of "
            + (args.org if args.org else "any organization")
            + " (a superuser can unlock them in the Django admin)",
            exit_code=3,
        )
    was_locked = user.locked_at is not None
    try:
        unlock_user(actor=system_actor(membership.organization, label="cli"), user=user)
    except DomainError as exc:
        raise CommandError(exc.detail, exit_code=3) from exc
    print(f"{user.email} " + ("unlocked." if was_locked else "was not locked (counter reset)."))
    return 0
