"""Signing in and out, the organization switcher, and the settings pages: profile, API tokens,
organization settings and members (owners and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from milepost.accounts.models import ApiToken
from milepost.accounts.services import (
    create_api_token,
    ensure_user,
    revoke_api_token,
    update_profile,
)
from milepost.errors import DomainError, NotFound
from milepost.organizations.access import Actor, access_membership
from milepost.organizations.models import Membership, Role
from milepost.organizations.services import (
    add_member,
    change_role,
    remove_member,
    update_organization_settings,
)
from milepost.web.context import member_view, switch_organization
from milepost.web.forms import (
    MemberAddForm,
    MemberRoleForm,
    OrganizationSettingsForm,
    ProfileForm,
    TokenCreateForm,
)
from milepost.web.forms_base import add_domain_error
from milepost.web.htmx import render_page, safe_next


@login_required
@require_POST
def org_switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organizations current (unknown ids change nothing)."""
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError:
        organization_id = 0
    if not switch_organization(request, organization_id):
        messages.error(request, "You are not a member of that organization.")
        return redirect("web:home")
    # The page the user was on may not exist in the other organization: go home unless it is
    # an organization-neutral page.
    fallback = reverse("web:home")
    target = safe_next(request, fallback)
    return HttpResponseRedirect(target if _is_neutral(target) else fallback)


def _is_neutral(path: str) -> bool:
    bare = path.split("?", 1)[0]
    neutral = {
        reverse("web:home"),
        reverse("web:dashboard"),
        reverse("web:alignment-tree"),
        reverse("web:objective-list"),
        reverse("web:roadmap"),
        reverse("web:initiative-list"),
        reverse("web:plan-health"),
        reverse("web:priorities"),
        reverse("web:settings-profile"),
    }
    return bare in neutral


# ---- Settings: profile and API tokens -------------------------------------------------------


@member_view
def settings_profile(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The person's profile; POST changes their name (through `update_profile`)."""
    user = actor.user
    if user is None:  # pragma: no cover - a member view always has a person
        raise NotFound("No user.")
    form = ProfileForm(request.POST or None, initial={"full_name": user.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            update_profile(actor=actor, user=user, full_name=form.cleaned_data["full_name"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("web:settings-profile")
    context = {"section": "profile", "profile_form": form}
    status = 422 if form.errors else 200
    return render_page(request, "web/settings_profile.html", context, nav="settings", status=status)


def _my_tokens(actor: Actor) -> list[ApiToken]:
    return list(
        ApiToken.objects.filter(organization_id=actor.organization_id, user=actor.user)
        .select_related("key_result")
        .order_by("-created_at")
    )


_NEW_TOKEN_SESSION_KEY = "milepost.new_api_token"  # noqa: S105 - a session key name


@member_view
def token_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """List the user's API tokens; POST creates one and redirects (POST-redirect-GET, so a
    reload never makes a second token); the next GET shows its secret exactly once."""
    form = TokenCreateForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            if actor.user is None:
                raise NotFound("No user.")
            _, secret = create_api_token(
                actor=actor,
                user=actor.user,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                expires_at=form.expires_at(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            # Kept in the (server-side, signed-in) session only until the next page shows it.
            request.session[_NEW_TOKEN_SESSION_KEY] = secret
            return redirect("web:token-list")
    secret = "" if request.method == "POST" else request.session.pop(_NEW_TOKEN_SESSION_KEY, "")
    context = {"form": form, "tokens": _my_tokens(actor), "secret": secret, "section": "tokens"}
    status = 422 if request.method == "POST" else 200
    response = render_page(request, "web/token_list.html", context, nav="settings", status=status)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret must not live on in a cache
    return response


@member_view
@require_POST
def token_revoke(request: HttpRequest, actor: Actor, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(
        organization_id=actor.organization_id, user=actor.user, pk=token_id
    ).first()
    if token is None:
        raise NotFound("Token not found.")
    revoke_api_token(actor=actor, token=token)
    messages.success(request, f"Token “{token.name}” revoked. Scripts using it stop working now.")
    return redirect("web:token-list")


# ---- Settings: organization and members -------------------------------------------------------


@member_view
def organization_edit(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Organization settings: owners change them, admins read them."""
    actor.require(Role.ADMIN, "see the organization settings")
    organization = actor.organization
    form = OrganizationSettingsForm(request.POST or None, instance=organization)
    if not actor.is_owner:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST":
        actor.require(Role.OWNER, "change organization settings")
        if form.is_valid():
            try:
                update_organization_settings(actor=actor, changes=form.changes())
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Organization settings saved.")
                return redirect("web:organization-edit")
    context = {"form": form, "section": "organization"}
    status = 422 if request.method == "POST" else 200
    return render_page(
        request, "web/organization_edit.html", context, nav="settings", status=status
    )


@member_view
def member_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Members and roles (admins see them; owners add, change and remove)."""
    actor.require(Role.ADMIN, "see the member list")
    form = MemberAddForm(request.POST or None)
    if request.method == "POST":
        actor.require(Role.OWNER, "add members")
        if form.is_valid():
            try:
                user = ensure_user(
                    email=form.cleaned_data["email"], full_name=form.cleaned_data["full_name"]
                )
                add_member(actor=actor, user=user, role=Role(form.cleaned_data["role"]))
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(
                    request,
                    f"{user.email} added. They choose a password with “Forgot your password?”.",
                )
                return redirect("web:member-list")
    members = list(
        Membership.objects.filter(organization_id=actor.organization_id, archived_at__isnull=True)
        .select_related("user")
        .order_by("user__email")
    )
    context = {
        "form": form,
        "members": members,
        "role_choices": Role.choices,
        "section": "members",
    }
    status = 422 if request.method == "POST" else 200
    return render_page(request, "web/member_list.html", context, nav="settings", status=status)


@member_view
@require_POST
def member_role(request: HttpRequest, actor: Actor, membership_id: int) -> HttpResponse:
    membership = access_membership(actor, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, admin, member or viewer.")
        return redirect("web:member-list")
    try:
        change_role(actor=actor, membership=membership, role=Role(form.cleaned_data["role"]))
    except DomainError as exc:
        if not isinstance(exc, NotFound):
            messages.error(request, exc.detail)
            return redirect("web:member-list")
        raise
    messages.success(request, f"{membership.user.email} is now {form.cleaned_data['role']}.")
    return redirect("web:member-list")


@member_view
def member_remove(request: HttpRequest, actor: Actor, membership_id: int) -> HttpResponse:
    """Confirm, then remove a member (their history stays)."""
    membership = access_membership(actor, membership_id)
    actor.require(Role.OWNER, "remove members")
    if request.method == "POST":
        try:
            remove_member(actor=actor, membership=membership)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{membership.user.email} no longer has access.")
        return redirect("web:member-list")
    context = {
        "title": f"Remove {membership.user.email}?",
        "body": "They lose access to this organization at once. What they wrote stays, "
        "with their name, in the history.",
        "confirm_label": "Remove member",
        "cancel_url": reverse("web:member-list"),
        "danger": True,
    }
    return render_page(request, "web/confirm.html", context, nav="settings")
