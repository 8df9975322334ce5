"""Request rate limits per API token, per signed-in user, else per client address.

A fixed window counter in Django's cache (Redis in production, so every app server shares
it). Over the limit the API answers 429 with ``Retry-After``. The limit is
``MILEPOST_API_RATE_LIMIT`` ("requests/seconds", default 600/60) from settings (set from the
environment variable of the same name); failed token authentications count against the
client address with a tighter limit (``MILEPOST_API_AUTH_FAILURE_LIMIT``, default 30/60) so
token guessing is slow.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.throttling import BaseThrottle

DEFAULT_LIMIT = "600/60"
DEFAULT_AUTH_FAILURE_LIMIT = "30/60"


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, None) or default)


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/60" → (600 requests, 60 seconds)."""
    count, _, seconds = rate.partition("/")
    return max(1, int(count)), max(1, int(seconds or "1"))


def client_address(request: HttpRequest) -> str:
    # Behind a proxy the operator sets REMOTE_ADDR correctly (e.g. gunicorn's forwarded-allow-ips);
    # trusting X-Forwarded-For here would let any client pick its own bucket.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def hit(bucket: str, rate: str) -> float | None:
    """Count one request in `bucket`; the seconds to wait when over the limit, else None."""
    limit, window = parse_rate(rate)
    now = time.time()
    window_start = int(now // window) * window
    key = f"milepost:rl:{bucket}:{window_start}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1.0, window_start + window - now)
    return None


def bucket_for(request: HttpRequest) -> str:
    from milepost.accounts.models import ApiToken

    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return f"token:{auth.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_address(request)}"


class ApiRateThrottle(BaseThrottle):
    """ninja throttle: one limit per token / user / address."""

    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        wait = hit(bucket_for(request), _setting("MILEPOST_API_RATE_LIMIT", DEFAULT_LIMIT))
        self._local.wait = wait
        return wait is None

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)


def count_auth_failure(request: HttpRequest) -> None:
    """Record a rejected token; raise Throttled (429) once an address fails too often."""
    wait = hit(
        f"authfail:{client_address(request)}",
        _setting("MILEPOST_API_AUTH_FAILURE_LIMIT", DEFAULT_AUTH_FAILURE_LIMIT),
    )
    if wait is not None:
        raise Throttled(wait=int(wait) + 1)
