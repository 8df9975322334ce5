"""Every answer under /api/ is JSON: errors that never reach the API's own handlers become
problems too.

Django answers some requests before (or instead of) the NinjaAPI: an unknown path or a
trailing slash (the URL resolver's 404), a method an operation does not take (ninja's 405,
with ``Allow``), an exception outside an operation (500). Those answers are HTML or plain
text; this middleware replaces any error answer under ``/api/`` that is not already JSON
with the problem for its status (`milepost.api.problems.problem_response`), keeping the
headers that matter to the client (``Allow``, ``Retry-After``, ``WWW-Authenticate``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from milepost.api.problems import PROBLEM_MEDIA_TYPE, problem_response

API_PREFIX = "/api/"
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
_DETAILS = {
    404: "Not found: no API resource at this path (paths have no trailing slash).",
    405: "Method not allowed on this resource.",
    500: "An unexpected error occurred. It has been logged.",
}


def _is_json(response: HttpResponseBase) -> bool:
    media = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media in {"application/json", PROBLEM_MEDIA_TYPE}


def problem_for(response: HttpResponseBase) -> HttpResponse:
    """The problem answer standing for `response` (same status, the client-facing headers)."""
    status = response.status_code
    detail = _DETAILS.get(status, response.reason_phrase or "Error")
    if status == 405 and response.has_header("Allow"):
        detail = f"Method not allowed on this resource (allowed: {response['Allow']})."
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    return problem_response(status, detail, headers=headers)


class ApiProblemMiddleware:
    """Turn any non-JSON error answer under /api/ into a JSON problem (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not _is_json(response)
        ):
            return problem_for(response)
        return response
