"""Outbound HTTP, only to hosts an admin has listed.

Every request Milepost makes for an organization (data sources, webhooks) goes through
`fetch` or `post`: the URL's host is checked against the organization's `AllowedHost` list
*before* any connection is made, redirects are never followed blindly (each hop's host is
checked again, at most `MAX_REDIRECTS` hops), there is a timeout for the whole exchange, and
the response body is capped at `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from milepost.integrations.models import AllowedHost

MAX_REDIRECTS = 5
MAX_BODY_BYTES = 5 * 1024 * 1024
USER_AGENT = "Milepost/1 (+https://github.com/milepost)"


class OutboundError(Exception):
    """A request that was refused or failed; the message says why, for the person who
    configured it (never a secret)."""


class HostNotAllowed(OutboundError):
    """The URL's host is not on the organization's allowed list."""


def normalize_host(text: str) -> str:
    """An allowed-host entry in canonical form (lower case, no trailing dot), or ValueError.

    Accepts ``host``, ``host:port``, ``[v6]:port`` and ``*.domain``; not URLs or paths."""
    value = text.strip().lower().rstrip(".")
    if not value or any(c in value for c in "/?#@ \t"):
        raise ValueError("a host name such as metrics.example.com (no scheme, path or spaces)")
    wildcard = value.startswith("*.")
    probe = value[2:] if wildcard else value
    try:
        parts = urlsplit(f"//{probe}")
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError("a host name, optionally with :port") from exc
    if not hostname or (wildcard and ("." not in hostname or port is not None)):
        raise ValueError("a host name such as metrics.example.com, or *.example.com")
    return value


def host_allowed(url: str, allowed: Iterable[str]) -> bool:
    """Whether `url` (http or https) points to a host on the `allowed` list (see
    `AllowedHost` for the entry forms)."""
    try:
        parts = urlsplit(url)
        hostname = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not hostname:
        return False
    host_v = f"[{hostname}]" if ":" in hostname else hostname
    for entry in allowed:
        if entry.startswith("*."):
            if hostname.endswith(entry[1:]) and hostname != entry[2:]:
                return True
        elif entry in (hostname, host_v, f"{host_v}:{port}"):
            return True
    return False


def allowed_hosts(organization_id: int) -> list[str]:
    """The organization's allowed-host entries."""
    return list(
        AllowedHost.objects.filter(
            organization_id=organization_id, archived_at__isnull=True
        ).values_list("host", flat=True)
    )


def check_url(url: str, allowed: Iterable[str]) -> None:
    """Refuse (`HostNotAllowed`) a URL whose host is not allowed, or that is not http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise HostNotAllowed(f"only http and https URLs can be called, not {url!r}")
    if not host_allowed(url, allowed):
        raise HostNotAllowed(
            f"the host {parts.netloc!r} is not on this organization's list of allowed hosts "
            "(an admin can add it under Settings → Integrations)"
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle (~0.2 s); one, shared, is thread-safe.
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Response:
    status_code: int
    body: bytes
    content_type: str
    url: str


def _read_capped(response: httpx.Response, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise OutboundError(f"the response is larger than {MAX_BODY_BYTES // 1024 // 1024} MB")
        if time.monotonic() > deadline:
            raise OutboundError("timed out while reading the response")
        chunks.append(chunk)
    return b"".join(chunks)


def request(
    method: str,
    url: str,
    *,
    allowed: Iterable[str],
    timeout: float,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    follow_redirects: bool = True,
) -> Response:
    """Send one request, following up to `MAX_REDIRECTS` redirects (GET only) whose targets
    are allowed hosts. `timeout` bounds the whole exchange. Raises `HostNotAllowed` before
    connecting anywhere not allowed, and `OutboundError` on a network failure or timeout."""
    allowed = list(allowed)
    deadline = time.monotonic() + timeout
    current = url
    send_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    with httpx.Client(follow_redirects=False, trust_env=False, verify=_ssl_context()) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(current, allowed)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OutboundError(f"timed out after {timeout:g} s")
            try:
                with client.stream(
                    method,
                    current,
                    headers=send_headers,
                    content=content,
                    timeout=httpx.Timeout(remaining),
                ) as response:
                    if response.is_redirect and follow_redirects and method == "GET":
                        location = response.headers.get("Location", "")
                        current = urljoin(current, location)
                        continue
                    body = _read_capped(response, deadline)
                    return Response(
                        status_code=response.status_code,
                        body=body,
                        content_type=response.headers.get("Content-Type", ""),
                        url=current,
                    )
            except httpx.TimeoutException as exc:
                raise OutboundError(f"timed out after {timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise OutboundError(f"the request failed: {exc}") from exc
    raise OutboundError(f"more than {MAX_REDIRECTS} redirects")
