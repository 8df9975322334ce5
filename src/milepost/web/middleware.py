"""Read your own writes: the time of a person's last successful change, in a cookie.

Whole-plan pages may show an evaluation a few seconds older than other people's latest writes
(`milepost.reports.snapshot`, ``MILEPOST_LIVE_LAG_SECONDS``), but never older than the asking
person's own last write. That time rides in a cookie set on every successful POST (no session
write, no query). A forged value can only make the sender's own pages recompute sooner.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

WROTE_AT_COOKIE = "milepost_wrote_at"


class OwnWritesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "POST" and response.status_code < 400:
            response.set_cookie(
                WROTE_AT_COOKIE,
                f"{time.time():.3f}",
                max_age=3600,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def wrote_at(request: HttpRequest) -> float | None:
    """When the person asking last changed something here (from the cookie), if known."""
    try:
        return float(request.COOKIES[WROTE_AT_COOKIE])
    except (KeyError, ValueError):
        return None
