"""Writes for people and their API tokens. Keyword-only, an explicit actor, one transaction,
an audit event each (never containing a secret or its hash)."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from milepost.accounts.models import ApiToken, User, hash_token, new_token_secret
from milepost.audit.services import record_event
from milepost.errors import InvalidInput, PermissionDenied
from milepost.organizations.access import Actor
from milepost.organizations.models import ROLE_RANK, Membership, Role
from milepost.servicekit import save_validated

TOKEN_ROLES = (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)


@transaction.atomic
def ensure_user(*, email: str, full_name: str = "") -> User:
    """The user who signs in with `email`, created without a usable password when new
    (they set one through a password reset)."""
    normalized = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(email=normalized).first()
    if user is not None:
        return user
    try:
        validate_email(normalized)
    except ValidationError as exc:
        raise InvalidInput.field("email", "is not an email address") from exc
    user = User(email=normalized, full_name=full_name.strip())
    user.set_unusable_password()
    return save_validated(user)


NAME_MAX_LENGTH = 200


@transaction.atomic
def update_profile(*, actor: Actor, user: User, full_name: str) -> User:
    """Change the name a person is shown by (their own only: `PermissionDenied` otherwise).

    The name is trimmed and its inner whitespace collapsed; empty clears it (the person is then
    shown by their email). `InvalidInput` on ``full_name`` for more than 200 characters or a
    control character; nothing is written then. An unchanged name writes nothing; a change is
    one ``user.update`` audit event with the name before and after."""
    if actor.user_id is None or actor.user_id != user.pk or actor.token is not None:
        raise PermissionDenied("You can only change your own profile, signed in.")
    name = " ".join(full_name.split())
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput.field("full_name", "must not contain control characters")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput.field(
            "full_name", f"at most {NAME_MAX_LENGTH} characters (it has {len(name)})"
        )
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = locked.full_name
    if name != before:
        locked.full_name = name
        locked.save(update_fields=["full_name"])
        record_event(
            actor=actor,
            action="user.update",
            target=locked,
            before={"full_name": before},
            after={"full_name": name},
        )
    user.full_name = locked.full_name
    return locked


def _token_event_data(token: ApiToken) -> dict[str, object]:
    return {
        "user": token.user_id,
        "name": token.name,
        "role": token.role,
        "prefix": token.prefix,
        "key_result": token.key_result_id,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


@transaction.atomic
def create_api_token(
    *,
    actor: Actor,
    user: User,
    name: str,
    role: Role | str,
    expires_at: datetime | None = None,
    key_result: object | None = None,
) -> tuple[ApiToken, str]:
    """Create a personal API token for `user` in the actor's organization.

    Returns the token and its secret; the secret is not stored (only its SHA-256) and cannot
    be shown again. The token's role is at most the user's role. Only the user themselves or
    an owner (including the system, e.g. the CLI) may create it. `key_result` scopes the token
    to recording that key result's check-ins."""
    if not (actor.is_owner or (actor.user_id is not None and actor.user_id == user.pk)):
        raise PermissionDenied("You can only create API tokens for yourself.")
    try:
        wanted = Role(role)
    except ValueError as exc:
        raise InvalidInput.field("role", "must be viewer, member, admin or owner") from exc
    membership = Membership.objects.filter(
        organization_id=actor.organization_id, user=user, archived_at__isnull=True
    ).first()
    if membership is None or not user.is_active:
        raise InvalidInput.field("user", "is not an active member of this organization")
    if ROLE_RANK[wanted] > ROLE_RANK[Role(membership.role)]:
        raise InvalidInput.field(
            "role", f"cannot be higher than the user's role in the organization ({membership.role})"
        )
    name = name.strip()
    if not name:
        raise InvalidInput.field("name", "is required")
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise InvalidInput.field("expires_at", "needs a time zone")
        if expires_at <= timezone.now():
            raise InvalidInput.field("expires_at", "must be in the future")
    kr_id = None
    if key_result is not None:
        from milepost.okrs.models import KeyResult

        if (
            not isinstance(key_result, KeyResult)
            or key_result.organization_id != actor.organization_id
        ):
            raise InvalidInput.field("key_result", "not found")
        kr_id = key_result.pk
    secret = new_token_secret()
    token = ApiToken(
        organization_id=actor.organization_id,
        user=user,
        name=name,
        role=wanted.value,
        key_result_id=kr_id,
        prefix=secret[:12],
        token_hash=hash_token(secret),
        expires_at=expires_at,
    )
    save_validated(token)
    record_event(
        actor=actor, action="apitoken.create", target=token, after=_token_event_data(token)
    )
    return token, secret


@transaction.atomic
def revoke_api_token(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token at once (its user, or an admin of its organization). Idempotent."""
    if token.organization_id != actor.organization_id:
        raise InvalidInput.field("token", "not found")
    if not (actor.is_admin or (actor.user_id is not None and actor.user_id == token.user_id)):
        raise PermissionDenied("You can only revoke your own API tokens.")
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record_event(
            actor=actor, action="apitoken.revoke", target=locked, before=_token_event_data(locked)
        )
    return locked
