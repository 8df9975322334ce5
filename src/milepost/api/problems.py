"""One error format for the whole API: a JSON problem (RFC 9457 shape).

Every refusal — a domain rule, invalid input, a missing object, a stale version, the rate
limit, a bug — is rendered here as ``{type, title, status, detail, errors}`` with the media
type ``application/problem+json``. ``errors`` maps each offending field to its messages.
Nothing else in the API builds error bodies, so the format cannot drift.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import orjson
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from milepost.engine.errors import CycleError
from milepost.errors import DomainError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("milepost.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Stable, documented problem types (the `type` member), by HTTP status.
PROBLEM_TYPES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("stale-version", "Precondition failed"),
    422: ("invalid-input", "Invalid input"),
    428: ("precondition-required", "Precondition required"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Internal server error"),
}


class Problem(Schema):
    """The body of every error answer."""

    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] = {}


# Statuses any operation may answer with besides its success codes; added to every
# operation's OpenAPI responses so clients (and schemathesis) know the full contract.
ERROR_STATUSES = (400, 401, 403, 404, 409, 412, 422, 428, 429)
PROBLEM_RESPONSES: dict[int, type[Problem]] = dict.fromkeys(ERROR_STATUSES, Problem)


def problem_type(status: int) -> str:
    slug = PROBLEM_TYPES.get(status, ("error", ""))[0]
    return f"urn:milepost:problem:{slug}"


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Build the problem answer for `status` (the only place error bodies are made)."""
    body = {
        "type": problem_type(status),
        "title": title or PROBLEM_TYPES.get(status, ("error", "Error"))[1],
        "status": status,
        "detail": detail,
        "errors": {k: list(v) for k, v in (errors or {}).items()},
    }
    response = HttpResponse(orjson.dumps(body), status=status, content_type=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "payload", "title")` → `"title"`; `("query", "limit")` → `"limit"`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == "payload":
            parts.pop(0)
    return ".".join(parts) or "__all__"


def _validation_errors(exc: NinjaValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        name = _field_name(item.get("loc", ()))
        message = str(item.get("msg", "is invalid"))
        errors.setdefault(name, []).append(message)
    return errors


def _on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_response(exc.http_status, exc.detail, title=exc.title, errors=exc.errors)


def _on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    locations = {str(item.get("loc", ("",))[0]) for item in exc.errors}
    if locations == {"path"}:
        # An id out of range or a malformed slug names nothing that exists.
        return problem_response(404, "Not found.")
    errors = _validation_errors(exc)
    detail = "; ".join(f"{name}: {msgs[0]}" for name, msgs in errors.items()) or "Invalid input."
    return problem_response(422, detail, errors=errors)


def _on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    # A service is expected to raise InvalidInput; this is the safety net for a model
    # validation that escaped one (still the client's input, still a 422).
    from milepost.servicekit import invalid_from

    invalid = invalid_from(exc)
    return problem_response(422, invalid.detail, errors=invalid.errors)


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    headers: dict[str, str] = {}
    status = exc.status_code
    detail = str(exc)
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="milepost"'
        detail = "Send a valid API token (Authorization: Bearer mp_…) or sign in."
    if isinstance(exc, Throttled):
        wait = exc.wait if exc.wait is not None else 1
        headers["Retry-After"] = str(max(1, int(-(-wait // 1))))
        detail = f"Rate limit exceeded; retry after {headers['Retry-After']} seconds."
    if status == 400 and "json" in detail.lower():
        detail = "The request body is not valid JSON."
    return problem_response(status, detail, headers=headers)


def _on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(404, "Not found.")


def _on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(403, str(exc) or "Forbidden.")


def _on_engine_cycle(request: HttpRequest, exc: CycleError) -> HttpResponse:
    return problem_response(409, str(exc), errors={"__all__": [str(exc)]})


def _on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # A race past validation (two writers creating the same key at once).
    logger.info("integrity error mapped to 409: %s", exc)
    return problem_response(409, "The change conflicts with existing data; reload and try again.")


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug: log it with the traceback for operators, answer without internals.
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return problem_response(500, "An unexpected error occurred. It has been logged.")


def install_exception_handlers(api: NinjaAPI) -> None:
    """Map every exception type to a problem answer (most specific class wins)."""
    add = cast(Any, api.add_exception_handler)  # ninja's stub wants `E | type[E]` handlers
    add(DomainError, _on_domain_error)
    add(NinjaValidationError, _on_validation_error)
    add(DjangoValidationError, _on_django_validation_error)
    add(HttpError, _on_http_error)
    add(Http404, _on_not_found)
    add(ObjectDoesNotExist, _on_not_found)
    add(DjangoPermissionDenied, _on_permission_denied)
    add(CycleError, _on_engine_cycle)
    add(IntegrityError, _on_integrity_error)
    add(Exception, _on_unexpected)
