"""Unlocking a member's sign-in from the members page (owners and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from milepost.accounts.signin import unlock_user
from milepost.organizations.access import Actor, access_membership
from milepost.web.context import member_view


@member_view
@require_POST
def member_unlock(request: HttpRequest, actor: Actor, membership_id: int) -> HttpResponse:
    """Unlock a member locked out by repeated failed sign-ins (audited)."""
    membership = access_membership(actor, membership_id)
    unlock_user(actor=actor, user=membership.user)
    messages.success(request, f"{membership.user.email} can sign in again.")
    return redirect("web:member-list")
