"""Signing in safely: password guessing is throttled per account and per client address, and an
account is locked after repeated failures until an admin unlocks it.

Three counters, checked before any password is hashed:

- **The account lock** (in the database, so every app server sees it): ``User.failed_logins``
  counts consecutive failed sign-ins; at ``MILEPOST_SIGNIN_LOCK_AFTER`` (default 5) the account
  gets ``locked_at`` and no password opens it — not even the right one — until an owner or admin
  of one of its organizations calls `unlock_user` (members page, Django admin, or
  ``milepost unlock --email``). A successful sign-in resets the count.
- **The account throttle** (Django's cache): the same count for any email, existing or not, so
  that an address that does not exist answers exactly like a locked one after as many failures
  (sign-in does not reveal which emails have accounts). It lapses after
  ``MILEPOST_SIGNIN_ACCOUNT_WINDOW`` seconds without a failure (default 900).
- **The address throttle** (Django's cache): failed sign-ins per client address
  (``MILEPOST_SIGNIN_ADDRESS_LIMIT``, default 20 per 600 seconds), against password spraying
  across many accounts. Over it, the sign-in page answers 429 with ``Retry-After``.

The checks live in `ThrottledModelBackend`, so every way in that calls ``authenticate`` (the app's
sign-in page and the Django admin's) obeys them; `SignInView` adds the clear messages and the
429. The cache is per process unless ``REDIS_URL`` is set (then shared by every server); the
database lock is always shared.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from milepost.accounts.models import User
from milepost.audit.models import AuditEvent
from milepost.audit.services import record_event
from milepost.errors import NotFound
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Membership, Organization, Role

LOCKED_MESSAGE = "This account is locked after repeated failed sign-ins; ask an admin to unlock it."
THROTTLED_MESSAGE = "Too many failed sign-ins from your network. Try again in {minutes} minute{s}."
INVALID_MESSAGE = "The email or password is not right. Both are needed to sign in."


def _setting(name: str, default: str) -> str:
    # Set from the environment in milepost.config.settings (README lists every variable).
    return str(getattr(settings, name, None) or default)


def lock_after() -> int:
    """Consecutive failed sign-ins that lock an account (``MILEPOST_SIGNIN_LOCK_AFTER``)."""
    return max(1, int(_setting("MILEPOST_SIGNIN_LOCK_AFTER", "5")))


def _account_window() -> int:
    return max(1, int(_setting("MILEPOST_SIGNIN_ACCOUNT_WINDOW", "900")))


def _address_rate() -> tuple[int, int]:
    count, _, seconds = _setting("MILEPOST_SIGNIN_ADDRESS_LIMIT", "20/600").partition("/")
    return max(1, int(count)), max(1, int(seconds or "1"))


def normalize_email(raw: str) -> str:
    """The form in which emails are stored (see ``UserManager.create_user``)."""
    return User.objects.normalize_email(raw.strip()).lower()


def client_address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR only: behind a proxy the operator makes it the client's address (gunicorn's
    # forwarded-allow-ips); trusting X-Forwarded-For here would let a client pick its bucket.
    if request is None:
        return "unknown"
    return str(request.META.get("REMOTE_ADDR") or "unknown")


# --- the cache counters -------------------------------------------------------------------------


def _account_key(email: str) -> str:
    return f"milepost:signin:account:{email}"


def _address_key(address: str, window_start: int) -> str:
    return f"milepost:signin:address:{address}:{window_start}"


def _incr(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        count = 1
    return count


def account_failures(email: str) -> int:
    """Recent consecutive failed sign-ins for `email` (the cache's count)."""
    return int(cache.get(_account_key(normalize_email(email))) or 0)


def address_wait(request: HttpRequest | None) -> float | None:
    """Seconds until the client's address may try again, or None if it is not throttled."""
    if request is None:
        return None
    limit, window = _address_rate()
    now = time.time()
    window_start = int(now // window) * window
    count = int(cache.get(_address_key(client_address(request), window_start)) or 0)
    if count >= limit:
        return max(1.0, window_start + window - now)
    return None


def clear_account_throttle(email: str) -> None:
    cache.delete(_account_key(normalize_email(email)))


def is_locked_out(email: str) -> bool:
    """True if sign-in with `email` is refused for repeated failures: its account is locked,
    or (for any email, existing or not) it failed as often recently."""
    email = normalize_email(email)
    if account_failures(email) >= lock_after():
        return True
    return User.objects.filter(email=email, locked_at__isnull=False).exists()


def _organizations_of(user: User) -> list[Organization]:
    return [
        m.organization
        for m in Membership.objects.filter(
            user=user, archived_at__isnull=True, organization__archived_at__isnull=True
        ).select_related("organization")
    ]


def record_failure(request: HttpRequest | None, email: str, user: User | None) -> None:
    """Count one failed sign-in against the address, the email and (if any) the account;
    lock the account when it reaches the limit (audited in each of its organizations)."""
    email = normalize_email(email)
    _, window = _address_rate()
    window_start = int(time.time() // window) * window
    _incr(_address_key(client_address(request), window_start), window + 1)
    key = _account_key(email)
    _incr(key, _account_window())
    cache.touch(key, _account_window())  # consecutive failures: the window restarts
    if user is None:
        return
    with transaction.atomic():
        User.objects.filter(pk=user.pk, failed_logins__lt=10000).update(
            failed_logins=F("failed_logins") + 1
        )
        now = timezone.now()
        locked = User.objects.filter(
            pk=user.pk, locked_at__isnull=True, failed_logins__gte=lock_after()
        ).update(locked_at=now)
        if locked:
            failures = User.objects.filter(pk=user.pk).values_list("failed_logins", flat=True)[0]
            for organization in _organizations_of(user):
                record_event(
                    actor=system_actor(organization, label="sign-in throttle"),
                    action="user.lock",
                    target=user,
                    target_label=user.email,
                    before={"locked_at": None},
                    after={
                        "locked_at": now.isoformat(),
                        "failed_logins": failures,
                        "address": client_address(request),
                    },
                )


def _record_success(user: User) -> None:
    if user.failed_logins:
        User.objects.filter(pk=user.pk).update(failed_logins=0)
        user.failed_logins = 0
    clear_account_throttle(user.email)


# --- authentication backend ---------------------------------------------------------------------


class ThrottledModelBackend(ModelBackend):
    """Django's model backend (email and password, Argon2) with the throttles and the lock.

    A throttled address or email, or a locked account, is refused before any password is
    checked, so the right password does not get through either."""

    @sensitive_variables("password")
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        email = normalize_email(str(username))
        if address_wait(request) is not None or account_failures(email) >= lock_after():
            return None
        user = User.objects.filter(email=email).first()
        if user is None:
            User().set_password(password)  # the same work as a real check: no timing oracle
            record_failure(request, email, None)
            return None
        if user.locked_at is not None:
            return None
        if user.check_password(password):
            if not self.user_can_authenticate(user):
                return None
            _record_success(user)
            return user
        record_failure(request, email, user)
        return None


# --- the sign-in page ---------------------------------------------------------------------------


class SignInForm(AuthenticationForm):
    """Django's sign-in form, saying plainly when the account is locked or the address is
    throttled (`retry_after` holds the seconds to wait, for the 429 answer)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": INVALID_MESSAGE,
        "locked": LOCKED_MESSAGE,
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.retry_after: float | None = None
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})

    @sensitive_variables()
    def clean(self) -> dict[str, Any]:
        wait = address_wait(self.request)
        if wait is not None:
            self.retry_after = wait
            minutes = max(1, math.ceil(wait / 60))
            raise ValidationError(
                THROTTLED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s"),
                code="throttled",
            )
        username = self.cleaned_data.get("username")
        if username and is_locked_out(username):
            raise ValidationError(self.error_messages["locked"], code="locked")
        try:
            return super().clean()
        except ValidationError as exc:
            if username and is_locked_out(username):  # this failure was the last one allowed
                raise ValidationError(self.error_messages["locked"], code="locked") from exc
            raise


class SignInView(LoginView):
    """The sign-in page: `SignInForm`; a throttled address gets 429 with ``Retry-After``.

    Django's ``login()`` gives the signed-in user a new session key (no session fixation)."""

    form_class = SignInForm
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        wait = getattr(form, "retry_after", None)
        if wait is not None:
            response.status_code = 429
            response["Retry-After"] = str(math.ceil(wait))
        return response


# --- unlocking ------------------------------------------------------------------------------------


def _lock_state(user: User) -> dict[str, Any]:
    return {
        "locked_at": user.locked_at.isoformat() if user.locked_at else None,
        "failed_logins": user.failed_logins,
    }


@transaction.atomic
def unlock_user(*, actor: Actor, user: User) -> User:
    """Unlock `user`'s sign-in and reset their failure count (owners and admins of an
    organization the user belongs to; anyone else gets NotFound for a non-member). Audited
    with before and after; unlocking an unlocked account changes nothing."""
    actor.require(Role.ADMIN, "unlock accounts")
    if not Membership.objects.filter(
        organization_id=actor.organization_id, user_id=user.pk, archived_at__isnull=True
    ).exists():
        raise NotFound("Member not found.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    clear_account_throttle(locked.email)
    if locked.locked_at is None and locked.failed_logins == 0:
        return locked
    before = _lock_state(locked)
    locked.locked_at = None
    locked.failed_logins = 0
    locked.save(update_fields=["locked_at", "failed_logins"])
    record_event(
        actor=actor,
        action="user.unlock",
        target=locked,
        target_label=locked.email,
        before=before,
        after=_lock_state(locked),
    )
    user.locked_at, user.failed_logins = None, 0
    return locked


@transaction.atomic
def unlock_user_as_site_admin(*, admin: User, user: User) -> User:
    """Unlock `user` on behalf of a Django-admin superuser (who may not belong to the user's
    organizations). Audited in each of the user's organizations, or once without an
    organization if they have none."""
    if not admin.is_superuser:
        raise NotFound("Member not found.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    clear_account_throttle(locked.email)
    if locked.locked_at is None and locked.failed_logins == 0:
        return locked
    before = _lock_state(locked)
    locked.locked_at = None
    locked.failed_logins = 0
    locked.save(update_fields=["locked_at", "failed_logins"])
    organizations = _organizations_of(locked)
    label = f"{admin.email} (site admin)"
    for organization in organizations:
        actor = Actor(organization=organization, role=Role.OWNER, user=admin, label=label)
        record_event(
            actor=actor,
            action="user.unlock",
            target=locked,
            target_label=locked.email,
            before=before,
            after=_lock_state(locked),
        )
    if not organizations:
        AuditEvent.objects.create(
            organization=None,
            actor=admin,
            actor_label=label,
            action="user.unlock",
            target_type="user",
            target_id=locked.pk,
            target_label=locked.email,
            before=before,
            after=_lock_state(locked),
            created_at=timezone.now(),
        )
    return locked
