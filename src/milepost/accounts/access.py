"""Fetch-and-authorise for API tokens, scoped to the actor's organization."""

from __future__ import annotations

from django.db.models import QuerySet

from milepost.accounts.models import ApiToken
from milepost.errors import NotFound
from milepost.organizations.access import Actor


def visible_tokens(actor: Actor) -> QuerySet[ApiToken]:
    """Tokens of the actor's organization the actor may see: their own; admins see all."""
    qs = ApiToken.objects.filter(organization_id=actor.organization_id).select_related("user")
    if not actor.is_admin:
        qs = qs.filter(user_id=actor.user_id) if actor.user_id is not None else qs.none()
    return qs


def access_api_token(actor: Actor, token_id: int) -> ApiToken:
    """The token `token_id` if the actor may see it, else NotFound (never another org's)."""
    token = visible_tokens(actor).filter(pk=token_id).first()
    if token is None:
        raise NotFound("API token not found.")
    return token
