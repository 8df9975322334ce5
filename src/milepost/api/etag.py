"""Optimistic concurrency over HTTP: every object's `version` is its ETag.

A read answers ``ETag: W/"<version>"``. A ``PATCH``, ``PUT`` or ``DELETE`` must send it back
in ``If-Match``: no header → 428 Precondition Required; a version that is no longer current
→ 412 Precondition Failed (the service compares it under a row lock, see
`milepost.servicekit.check_version`). ``If-Match: *`` means "whatever is current".
"""

from __future__ import annotations

import re

from django.db import models
from django.http import HttpRequest, HttpResponse

from milepost.errors import PreconditionRequired, StaleVersion
from milepost.servicekit import check_version

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')

IF_MATCH_DESCRIPTION = (
    'The ETag of the version you are changing (e.g. W/"3"), from a previous read. '
    "Required: missing → 428, stale → 412."
)


def etag_for(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: HttpResponse, instance: models.Model) -> None:
    """Put the object's version in the ETag header."""
    response["ETag"] = etag_for(int(getattr(instance, "version", 0)))


def parse_if_match(value: str) -> int | None:
    """The version in an If-Match value; None for ``*``. StaleVersion when it names none."""
    value = value.strip()
    if value == "*":
        return None
    match = _ETAG.match(value)
    if match is None:
        raise StaleVersion(
            f"If-Match {value[:40]!r} does not match the current version. Read the object "
            'again and send its ETag (e.g. W/"3").'
        )
    return int(match.group(1))


def required_version(request: HttpRequest) -> int | None:
    """The version the client expects for a PATCH/PUT/DELETE (428 when If-Match is missing)."""
    value = request.headers.get("If-Match")
    if value is None or not value.strip():
        raise PreconditionRequired(
            "This change needs the If-Match header with the object's ETag (read it first); "
            "it protects you from overwriting someone else's change."
        )
    return parse_if_match(value)


def optional_version(request: HttpRequest) -> int | None:
    """The If-Match version when one is sent (actions by POST may send it)."""
    value = request.headers.get("If-Match")
    if value is None or not value.strip():
        return None
    return parse_if_match(value)


def require_current(request: HttpRequest, instance: models.Model) -> None:
    """For writes whose service takes no expected version (unlinking, removing a link):
    check If-Match against the row just read."""
    check_version(instance, required_version(request))
