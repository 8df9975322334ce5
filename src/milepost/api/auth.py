"""Who is calling, and as whom in which organization.

Two ways in, both answering the same URLs:

- ``Authorization: Bearer mp_…`` — a personal API token. Only its SHA-256 is stored; it
  belongs to one user in one organization, may expire or be revoked, and carries a role no
  higher than the user's (the lower of the two applies). A token presented but not usable is a
  401 (never a fall-back to the session), and such failures are rate-limited per address.
- The web session, with Django's CSRF check on unsafe methods (the browser sends
  ``X-CSRFToken``).

Every tenant URL is ``/api/v1/orgs/{slug}/…``; `org_actor` turns the credentials and the
slug into the `Actor` that every ``access_*`` helper and service takes. An organization the
caller does not belong to — or, for a token, any organization but the token's — is 404.
The one exception is the push endpoint ``POST /api/v1/key-results/{id}/check-ins`` (issue 8),
which takes a token only: its organization is the token's (`token_actor`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import CharField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from milepost.accounts.models import TOKEN_PREFIX, ApiToken, User, hash_token
from milepost.api.ratelimit import count_auth_failure
from milepost.errors import NotFound, PermissionDenied
from milepost.organizations.access import Actor, access_organization, actor_for, build_actor
from milepost.organizations.models import Membership, Organization, TeamMember
from milepost.prepared import PreparedRows

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
_TOKEN = re.compile(r"^mp_[A-Za-z0-9_-]{10,100}$")
_LAST_USED_RESOLUTION = timedelta(minutes=1)


# The token, its user and organization, and what `org_actor` needs of the membership, in one
# query compiled once per process (it runs on every API request: compiling it was most of a
# small request's CPU).
_TOKEN_COLUMNS = [f.attname for f in ApiToken._meta.concrete_fields]
_USER_COLUMNS = [f.attname for f in User._meta.concrete_fields]
_ORG_COLUMNS = [f.attname for f in Organization._meta.concrete_fields]
_TOKEN_LOOKUP = PreparedRows(
    lambda digest: (
        ApiToken.objects.filter(token_hash=digest)
        .annotate(
            member_role=Subquery(
                Membership.objects.filter(
                    organization_id=OuterRef("organization_id"),
                    user_id=OuterRef("user_id"),
                    archived_at__isnull=True,
                ).values("role")[:1]
            ),
            member_team_ids=Subquery(
                TeamMember.objects.filter(
                    organization_id=OuterRef("organization_id"), user_id=OuterRef("user_id")
                )
                .order_by()
                .values("user_id")
                .annotate(ids=StringAgg(Cast("team_id", CharField()), delimiter=Value(",")))
                .values("ids")
            ),
        )
        .values_list(
            *_TOKEN_COLUMNS,
            *(f"user__{c}" for c in _USER_COLUMNS),
            *(f"organization__{c}" for c in _ORG_COLUMNS),
            "member_role",
            "member_team_ids",
        )[:1]
    ),
    digest="placeholder: no token hashes to this",
)


def _token_with_member(token_hash: str) -> ApiToken | None:
    """The token of this hash with its user and organization loaded, and the member's role
    and team ids (comma-separated) as ``member_role`` and ``member_team_ids``."""
    found = _TOKEN_LOOKUP.rows(digest=token_hash)
    if not found:
        return None
    row = found[0]
    db = DEFAULT_DB_ALIAS
    a, b, c = len(_TOKEN_COLUMNS), len(_USER_COLUMNS), len(_ORG_COLUMNS)
    token = ApiToken.from_db(db, _TOKEN_COLUMNS, row[:a])
    token.user = User.from_db(db, _USER_COLUMNS, row[a : a + b])
    token.organization = Organization.from_db(db, _ORG_COLUMNS, row[a + b : a + b + c])
    token.member_role, token.member_team_ids = row[a + b + c :]  # type: ignore[attr-defined]
    return token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer mp_…``."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            count_auth_failure(request)
            raise AuthenticationError()
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        api_token = None
        if token.startswith(TOKEN_PREFIX) and _TOKEN.match(token):
            api_token = _token_with_member(hash_token(token))
        if (
            api_token is None
            or not api_token.is_usable()
            or not api_token.user.is_active
            or api_token.organization.archived_at is not None
        ):
            count_auth_failure(request)
            raise AuthenticationError()
        now = timezone.now()
        if api_token.last_used_at is None or api_token.last_used_at < now - _LAST_USED_RESOLUTION:
            # At most one write a minute per token, not one per request.
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
            api_token.last_used_at = now
        return api_token


class SessionAuth(APIKeyCookie):
    """The signed-in web user; CSRF is enforced on unsafe methods (unlike a token, a
    cookie is sent by the browser on its own, so a forged form must not pass)."""

    def __init__(self) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None


token_auth = TokenAuth()
session_auth = SessionAuth()
AUTH = [token_auth, session_auth]


def org_actor(request: HttpRequest, slug: str, *, key_result_id: int | None = None) -> Actor:
    """The caller as an actor of organization `slug` (NotFound if not theirs).

    A token scoped to one key result may only be used where `key_result_id` names that key
    result (recording its check-ins); anywhere else it is refused."""
    cached: Actor | None = getattr(request, "_milepost_actor", None)
    if cached is not None and cached.organization.slug == slug:
        _check_scope(cached, key_result_id)
        return cached
    if not _SLUG.match(slug):
        raise NotFound("Organization not found.")
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        if auth.organization.slug != slug:
            raise NotFound("Organization not found.")
        actor = _token_actor(auth)
    elif isinstance(auth, User):
        actor = access_organization(auth, slug)
    else:  # pragma: no cover - every tenant operation requires authentication
        raise AuthenticationError()
    request._milepost_actor = actor  # type: ignore[attr-defined]
    _check_scope(actor, key_result_id)
    return actor


def token_actor(request: HttpRequest, *, key_result_id: int) -> Actor:
    """The caller of an operation outside ``/orgs/{slug}/`` (token authentication only) as
    an actor of the token's organization, for an operation on key result `key_result_id`.

    A token scoped to another key result gets `NotFound`, exactly like an id that exists
    nowhere; a key result of another organization is not found by the ``access_*`` helper
    the caller uses next (every one is scoped to the actor's organization)."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, ApiToken):  # pragma: no cover - such operations take tokens only
        raise AuthenticationError()
    return org_actor(request, auth.organization.slug, key_result_id=key_result_id)


def _token_actor(token: ApiToken) -> Actor:
    """The token's user as an actor of its organization, from the membership role and team
    ids `TokenAuth` read with the token (else read now, as `actor_for` does)."""
    if not hasattr(token, "member_role"):
        return actor_for(token.user, token.organization, token=token)
    role: str | None = getattr(token, "member_role", None)
    ids: str | None = getattr(token, "member_team_ids", None)
    return build_actor(
        token.user,
        token.organization,
        role=role,
        team_ids=frozenset(int(i) for i in ids.split(",")) if ids else frozenset(),
        token=token,
    )


def _check_scope(actor: Actor, key_result_id: int | None) -> None:
    token = actor.token
    if token is None or token.key_result_id is None:
        return
    if key_result_id is not None and token.key_result_id != key_result_id:
        # Every other key result is invisible to such a token.
        raise NotFound("Key result not found.")
    if key_result_id is None:
        raise PermissionDenied(
            "This token is scoped to one key result: it can only record and read that key "
            "result's check-ins."
        )
